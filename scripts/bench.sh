#!/usr/bin/env bash
# `npm run bench`: Chronos vs BullMQ (throughput and scheduling lateness) against a fresh,
# throw-away service stack under <repo>/.chronos/bench on its own ports, so it never touches the
# `npm run up` or `npm test` stacks. PostgreSQL runs with its durable defaults (fsync on) and NATS
# with the JetStream file store, as in production: the comparison is honest, not tuned.
# Results: printed as a table and written to bench/results/latest.json.
# Quick runs: BENCH_THROUGHPUT_JOBS=2000 BENCH_LATENESS_JOBS=500 npm run bench
# Only what read-your-writes adds to a write (bench/results/write-latency.json): BENCH_ONLY=write-latency npm run bench
# A change against the code before it, in the same run (submit, bulk): BENCH_BASELINE=<commit> npm run bench
# kill -9 of every process under load (bench/faults.ts, bench/results/faults.json): npm run bench -- faults
# Schedules, history and failover at scale (bench/scale.ts, bench/results/scale.json): npm run bench -- scale
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/stack.sh"
cd "$STACK_ROOT"

DIR="$STACK_ROOT/.chronos/bench"
BUILD="$STACK_ROOT/.chronos/bench-build"
NATS_PORT="${CHRONOS_BENCH_NATS_PORT:-34222}"
PG_PORT="${CHRONOS_BENCH_PG_PORT:-35433}"
REDIS_PORT="${CHRONOS_BENCH_REDIS_PORT:-36380}"

# Durable PostgreSQL settings (no "fast"), so the comparison is honest.
stack_fresh "$DIR" "$NATS_PORT" "$PG_PORT" "$REDIS_PORT"
# A local measurement in one process: a random JWT secret of its own is fine.
export NODE_ENV=development

stack_log "building src and bench (tsconfig.bench.json -> $BUILD)"
rm -rf "$BUILD"
npx tsc -p tsconfig.bench.json

if [[ -n ${BENCH_BASELINE:-} ]]; then
  # The code of an earlier commit, built beside this one: submit and bulk measure it too, in the same run.
  BASELINE_SRC="$STACK_ROOT/.chronos/bench-baseline"
  export BENCH_BASELINE_COMMIT="$(git rev-parse --short "$BENCH_BASELINE")"
  stack_log "building the baseline $BENCH_BASELINE_COMMIT -> $BASELINE_SRC"
  rm -rf "$BASELINE_SRC" && mkdir -p "$BASELINE_SRC"
  git archive "$BENCH_BASELINE" src bench test/support tsconfig.json tsconfig.bench.json | tar -x -C "$BASELINE_SRC"
  npx tsc -p "$BASELINE_SRC/tsconfig.bench.json"
  export BENCH_BASELINE_BUILD="$BASELINE_SRC/.chronos/bench-build"
fi

stack_log "applying migrations"
node "$BUILD/src/migrate.js"

rc=0
if [[ ${1:-} == faults ]]; then
  # Chronos runs as child processes there, from dist/ like `npm start`.
  stack_log "building dist (tsconfig.build.json)"
  npx tsc -p tsconfig.build.json
  export CHRONOS_BENCH_STACK_DIR="$DIR"
  stack_log "running the fault benchmark"
  node "$BUILD/bench/faults.js" </dev/null || rc=$?
  exit "$rc"
fi
if [[ ${1:-} == scale ]]; then
  # Chronos runs as child processes (bench/chronos-processes.ts), from the bench build.
  stack_log "running the scale benchmark"
  node "$BUILD/bench/scale.js" </dev/null || rc=$?
  exit "$rc"
fi
stack_log "running the benchmark"
# As `npm start` runs Chronos (a larger young generation); BullMQ runs in the same process, with the same setting.
node --max-semi-space-size=64 "$BUILD/bench/run.js" </dev/null || rc=$?
exit "$rc"
