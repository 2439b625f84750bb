#!/usr/bin/env bash
# `npm run web:client`: regenerates web/src/api/schema.d.ts from the OpenAPI document Chronos serves, on a
# throw-away stack of its own (the test ports, under .chronos/web-client), so it needs no running Chronos.
# Run it after changing a controller or DTO and commit the result: the test suite fails while they differ.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/stack.sh"
cd "$STACK_ROOT"
stack_fresh "$STACK_ROOT/.chronos/web-client" "${CHRONOS_TEST_NATS_PORT:-14222}" "${CHRONOS_TEST_PG_PORT:-15433}" "${CHRONOS_TEST_REDIS_PORT:-16380}" fast
stack_log "building the server (tsc)"
npx tsc -p tsconfig.build.json
node scripts/web-client.mjs "$@"
