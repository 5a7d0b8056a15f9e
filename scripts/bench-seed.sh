#!/usr/bin/env bash
# make bench-seed: rows/s of `seed --scale medium` beside `pgbench -i -s 10`
# (1,000,000 rows) on the same sandbox server, in the same invocation,
# alternated three times each (RUNS=n for more); prints the medians and their
# ratio.
#
# Rows are not the same work on both sides: a seed row has 13 to 15 columns,
# jsonb among them, and three indexes, two foreign keys and a full ANALYZE
# behind it; a pgbench_accounts row has four narrow columns and one key. So
# the table also shows MB/s, the bytes each loader leaves in its tables
# (heap and TOAST, pg_table_size; indexes not counted) over the same time:
# the yardstick for how fast the bytes go in, beside rows/s, not instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=bin/hishamos-perf
runs=${RUNS:-3}
pgbench=$(ls /usr/lib/postgresql/*/bin/pgbench 2>/dev/null | sort -V | tail -1)
[ -n "$pgbench" ] || pgbench=$(command -v pgbench || true)
[ -n "$pgbench" ] || { echo "bench-seed: pgbench not found: run make setup" >&2; exit 3; }
psql=$(dirname "$pgbench")/psql
[ -x "$psql" ] || psql=$(command -v psql || true)
[ -n "$psql" ] || { echo "bench-seed: psql not found: run make setup" >&2; exit 3; }

work=$(mktemp -d /var/tmp/hishamos-perf-bench-seed.XXXXXX)
chmod 755 "$work"
export HISHAMOS_PERF_SANDBOX_DIR="$work/box"
cleanup() { "$bin" sandbox destroy -q >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

"$bin" sandbox up -q >/dev/null
url=$("$bin" sandbox url)

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# table_bytes LIKE-PATTERN...: bytes of table data (heap and TOAST, no
# indexes) of the tables in the current schema named like any pattern.
table_bytes() {
  local list
  list=$(printf "'%s'," "$@")
  "$psql" "$url" -XAtqc "SELECT coalesce(sum(pg_table_size(oid)), 0) FROM pg_class
    WHERE relkind = 'r' AND relnamespace = current_schema()::regnamespace AND relname LIKE ANY (ARRAY[${list%,}])"
}
seed_tables=(auth_user projects_project commands_commandcategory agents_agent commands_commandtemplate
  agents_agentexecution workflows_workflow workflows_workflowexecution workflows_workflowstep)

seed_rates=() pgb_rates=() seed_mbs=() pgb_mbs=()
for i in $(seq "$runs"); do
  out=$("$bin" seed --scale medium --replace --format json -q)
  rate=$(printf '%s' "$out" | grep -o '"rows_per_second": *[0-9.e+]*' | head -1 | sed 's/.*: *//')
  ns=$(printf '%s' "$out" | grep -o '"duration_ns": *[0-9]*' | head -1 | sed 's/.*: *//')
  bytes=$(table_bytes "${seed_tables[@]}")
  seed_rates+=("$rate")
  seed_mbs+=("$(awk -v b="$bytes" -v ns="$ns" 'BEGIN {printf "%.1f", b / 1e6 / (ns / 1e9)}')")

  t=$("$pgbench" -i -s 10 -q "$url" 2>&1 | grep -o 'done in [0-9.]* s' | awk '{print $3}')
  bytes=$(table_bytes 'pgbench\_%')
  pgb_rates+=("$(awk -v t="$t" 'BEGIN {printf "%.0f", 1000000 / t}')")
  pgb_mbs+=("$(awk -v b="$bytes" -v t="$t" 'BEGIN {printf "%.1f", b / 1e6 / t}')")
  printf 'run %d: seed --scale medium %.0f rows/s %.1f MB/s, pgbench -i -s 10 %.0f rows/s %.1f MB/s, ratio %.2f\n' \
    "$i" "$rate" "${seed_mbs[-1]}" "${pgb_rates[-1]}" "${pgb_mbs[-1]}" "$(awk -v s="$rate" -v p="${pgb_rates[-1]}" 'BEGIN {print s / p}')"
done
"$pgbench" -i -I d "$url" >/dev/null 2>&1 || true

s=$(printf '%s\n' "${seed_rates[@]}" | median)
p=$(printf '%s\n' "${pgb_rates[@]}" | median)
sm=$(printf '%s\n' "${seed_mbs[@]}" | median)
pm=$(printf '%s\n' "${pgb_mbs[@]}" | median)
printf '\n%-28s %14s %12s\n' "loader (median of $runs)" "rows/s" "MB/s (data)"
printf '%-28s %14.0f %12.1f\n' "hishamos-perf seed medium" "$s" "$sm" "pgbench -i -s 10" "$p" "$pm"
awk -v s="$s" -v p="$p" -v sm="$sm" -v pm="$pm" 'BEGIN {
  r = s / p
  printf "%-28s %14.2f %12.2f  (target rows/s >= 0.50: %s)\n", "ratio seed/pgbench", r, sm / pm, (r >= 0.5 ? "met" : "NOT met")
}'
