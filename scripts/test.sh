#!/usr/bin/env bash
# `npm test`: run the Jest suite against a fresh, throw-away service stack under
# <repo>/.chronos/test on its own ports, so it never touches the `npm run up` stack.
# Any NATS_URL/DATABASE_URL/REDIS_URL from the caller's shell is deliberately
# overridden: tests wipe data and must not run against a developer's database.
# Extra arguments go to jest (e.g. `npm test -- test/foo.spec.ts`).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/stack.sh"
cd "$STACK_ROOT"

DIR="$STACK_ROOT/.chronos/test"
NATS_PORT="${CHRONOS_TEST_NATS_PORT:-14222}"
PG_PORT="${CHRONOS_TEST_PG_PORT:-15433}"
REDIS_PORT="${CHRONOS_TEST_REDIS_PORT:-16380}"

stack_ensure_system_packages
stack_ensure_node_deps

# Every run starts clean: stop leftovers from an interrupted run, then delete its data.
stack_wipe "$DIR"
mkdir -p "$DIR"

# Always stop the test services, whatever happens; the data/logs stay in $DIR for
# post-mortem until the next run wipes them.
trap 'stack_stop_all "$DIR"' EXIT

stack_start_nats "$DIR" "$NATS_PORT"
stack_start_postgres "$DIR" "$PG_PORT" fast
stack_start_redis "$DIR" "$REDIS_PORT"

export NATS_URL="nats://127.0.0.1:$NATS_PORT"
export DATABASE_URL="postgres://chronos:chronos@127.0.0.1:$PG_PORT/chronos"
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
export CHRONOS_TEST=1

# Some tests spawn real processes from dist/, so build first.
stack_log "building (npm run build)"
npm run build --silent
# ts-jest only transpiles: type-check the tests (and benchmarks) here so a type error fails the run.
stack_log "type-checking (tsc --noEmit)"
npx tsc -p tsconfig.json --noEmit

rc=0
NODE_OPTIONS="--experimental-vm-modules ${NODE_OPTIONS:-}" npx jest --runInBand "$@" </dev/null || rc=$?
exit "$rc"
