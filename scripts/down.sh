#!/usr/bin/env bash
# `npm run down`: stop everything started under <repo>/.chronos (by `npm run up`) and
# <repo>/.chronos/test (a test run that was killed): Chronos, Redis, NATS, PostgreSQL.
# Data is kept. Tolerates missing or stale pidfiles and always exits 0.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/stack.sh"

for dir in "$STACK_ROOT/.chronos/test" "$STACK_ROOT/.chronos"; do
  stack_stop_all "$dir" || true
done
stack_log "stack stopped"
exit 0
