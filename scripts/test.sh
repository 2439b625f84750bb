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

# The web dashboard's browser tests (test/web/) drive Debian's Chromium: installed only when they run.
if (($# == 0)) || [[ " $* " == *test/web/* ]]; then stack_ensure_system_packages chromium; fi
# The metrics test lints a real scrape with promtool, from Debian's prometheus package (only promtool is used).
if (($# == 0)) || [[ " $* " == *test/metrics* ]]; then stack_ensure_system_packages promtool; fi

# fsync off: test data is thrown away anyway.
stack_fresh "$DIR" "$NATS_PORT" "$PG_PORT" "$REDIS_PORT" fast
export CHRONOS_TEST=1
# Tests that kill and restart a service find its data here (test/support/services.ts).
export CHRONOS_TEST_STACK_DIR="$DIR"

# Some tests spawn real processes from dist/, so build first.
stack_log "building (npm run build)"
npm run build --silent
# ts-jest only transpiles: type-check the tests (and benchmarks) here so a type error fails the run.
stack_log "type-checking (tsc --noEmit)"
npx tsc -p tsconfig.json --noEmit
# The walls between the folders of src/ (.dependency-cruiser.cjs).
stack_log "checking import rules (npm run lint:imports)"
npm run --silent lint:imports

rc=0
NODE_OPTIONS="--experimental-vm-modules ${NODE_OPTIONS:-}" npx jest --runInBand "$@" </dev/null || rc=$?
exit "$rc"
