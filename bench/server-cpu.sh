#!/usr/bin/env bash
# CPU time that nats-server, PostgreSQL and Redis spend while a command runs (docs/benchmarks.md, "the whole
# machine's CPU per job"): bash bench/server-cpu.sh NATS_PORT REDIS_PORT -- node .chronos/bench-build/bench/stages.js …
# PostgreSQL is every process of the `postgres` user, its exited backends included (the postmaster's children
# totals), so run it against a stack of its own with no other PostgreSQL busy.
set -euo pipefail
nats_port=$1 redis_port=$2
shift 2
[[ ${1:-} == -- ]] && shift
tick=$(getconf CLK_TCK)

# user+system ticks of the processes (fields 14-15), plus their waited-for children's (16-17) when asked.
ticks() {
  local with_children=$1 total=0 pid fields
  shift
  for pid in "$@"; do
    fields=$(cut -d' ' -f14-17 "/proc/$pid/stat" 2>/dev/null) || continue
    set -- $fields
    total=$((total + $1 + $2))
    [[ $with_children == yes ]] && total=$((total + $3 + $4))
  done
  echo "$total"
}
snapshot() {
  echo "$(ticks no $(pgrep -f "nats-server.*$nats_port" || true))" \
    "$(ticks yes $(pgrep -u postgres -x postgres || true))" \
    "$(ticks no $(pgrep -f "redis-server.*$redis_port" || true))"
}

read -r nats0 pg0 redis0 < <(snapshot)
"$@"
read -r nats1 pg1 redis1 < <(snapshot)
ms() { echo $(( ($1 - $2) * 1000 / tick )); }
echo "{\"natsServerCpuMs\":$(ms "$nats1" "$nats0"),\"postgresCpuMs\":$(ms "$pg1" "$pg0"),\"redisCpuMs\":$(ms "$redis1" "$redis0")}"
