#!/usr/bin/env bash
# `npm run bench`: Chronos vs BullMQ (throughput and scheduling lateness) against a fresh,
# throw-away service stack under <repo>/.chronos/bench on its own ports, so it never touches the
# `npm run up` or `npm test` stacks. PostgreSQL runs with its durable defaults (fsync on) and NATS
# with the JetStream file store, as in production: the comparison is honest, not tuned.
# Results: printed as a table and written to bench/results/latest.json.
# Quick runs: BENCH_THROUGHPUT_JOBS=2000 BENCH_LATENESS_JOBS=500 npm run bench
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/stack.sh"
cd "$STACK_ROOT"

DIR="$STACK_ROOT/.chronos/bench"
BUILD="$STACK_ROOT/.chronos/bench-build"
NATS_PORT="${CHRONOS_BENCH_NATS_PORT:-34222}"
PG_PORT="${CHRONOS_BENCH_PG_PORT:-35433}"
REDIS_PORT="${CHRONOS_BENCH_REDIS_PORT:-36380}"

stack_ensure_system_packages
stack_ensure_node_deps

# Every run starts clean: stop leftovers from an interrupted run, then delete its data.
stack_wipe "$DIR"
mkdir -p "$DIR"

# Always stop the bench services, whatever happens; data/logs stay in $DIR until the next run.
trap 'stack_stop_all "$DIR"' EXIT

stack_start_nats "$DIR" "$NATS_PORT"
stack_start_postgres "$DIR" "$PG_PORT"
stack_start_redis "$DIR" "$REDIS_PORT"

# Deliberately override whatever the caller's shell has: the benchmark wipes Chronos' data.
export NATS_URL="nats://127.0.0.1:$NATS_PORT"
export DATABASE_URL="postgres://chronos:chronos@127.0.0.1:$PG_PORT/chronos"
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
# A local measurement: the development JWT secret is fine.
export NODE_ENV=development

stack_log "building src and bench (tsconfig.bench.json -> $BUILD)"
rm -rf "$BUILD"
npx tsc -p tsconfig.bench.json

stack_log "applying migrations"
node "$BUILD/src/migrate.js"

stack_log "running the benchmark"
rc=0
node "$BUILD/bench/run.js" </dev/null || rc=$?
exit "$rc"
