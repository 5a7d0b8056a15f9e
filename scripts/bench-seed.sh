#!/usr/bin/env bash
# make bench-seed: rows/s of `seed --scale medium` beside `pgbench -i -s 10`
# (1,000,000 rows) on the same sandbox server, in the same invocation,
# alternated three times each; prints the medians and their ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=bin/hishamos-perf
runs=${RUNS:-3}
pgbench=$(ls /usr/lib/postgresql/*/bin/pgbench 2>/dev/null | sort -V | tail -1)
[ -n "$pgbench" ] || pgbench=$(command -v pgbench || true)
[ -n "$pgbench" ] || { echo "bench-seed: pgbench not found: run make setup" >&2; exit 3; }

work=$(mktemp -d /var/tmp/hishamos-perf-bench-seed.XXXXXX)
chmod 755 "$work"
export HISHAMOS_PERF_SANDBOX_DIR="$work/box"
cleanup() { "$bin" sandbox destroy -q >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

"$bin" sandbox up -q >/dev/null
url=$("$bin" sandbox url)

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

seed_rates=() pgb_rates=()
for i in $(seq "$runs"); do
  out=$("$bin" seed --scale medium --replace --format json -q)
  rate=$(printf '%s' "$out" | grep -o '"rows_per_second": *[0-9.e+]*' | head -1 | sed 's/.*: *//')
  seed_rates+=("$rate")
  t=$("$pgbench" -i -s 10 -q "$url" 2>&1 | grep -o 'done in [0-9.]* s' | awk '{print $3}')
  pgb_rates+=("$(awk -v t="$t" 'BEGIN {printf "%.0f", 1000000 / t}')")
  printf 'run %d: seed --scale medium %.0f rows/s, pgbench -i -s 10 %.0f rows/s\n' "$i" "$rate" "${pgb_rates[-1]}"
done
"$pgbench" -i -I d "$url" >/dev/null 2>&1 || true

s=$(printf '%s\n' "${seed_rates[@]}" | median)
p=$(printf '%s\n' "${pgb_rates[@]}" | median)
printf '\n%-28s %14s\n' "loader (median of $runs)" "rows/s"
printf '%-28s %14.0f\n' "hishamos-perf seed medium" "$s" "pgbench -i -s 10" "$p"
awk -v s="$s" -v p="$p" 'BEGIN {r = s / p; printf "%-28s %14.2f  (target >= 0.50: %s)\n", "ratio seed/pgbench", r, (r >= 0.5 ? "met" : "NOT met")}'
