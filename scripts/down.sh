#!/usr/bin/env bash
# `npm run down`: stop everything started under <repo>/.chronos (by `npm run up`; or
# CHRONOS_DATA_DIR), its cluster/ (by `npm run cluster`) and <repo>/.chronos/test (a test run that was killed): the supervisor
# of `npm run up` first (else it would start again what is stopped here; it stops Chronos
# and its services itself), then whatever is left: Chronos, Redis, NATS, PostgreSQL.
# Data is kept. Tolerates missing or stale pidfiles and always exits 0.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/stack.sh"

for dir in "$STACK_ROOT/.chronos/cluster" ${CHRONOS_DATA_DIR:+"$CHRONOS_DATA_DIR/cluster"}; do stack_stop_cluster "$dir"; done
for dir in "$STACK_ROOT/.chronos/test" "$STACK_ROOT/.chronos" ${CHRONOS_DATA_DIR:+"$CHRONOS_DATA_DIR"}; do
  pid=$(stack_read_pid "$dir/up.pid")
  # Chronos drains for up to 20 s on SIGTERM, then the supervisor stops its services.
  if stack_pid_is "$pid" bash; then stack_stop_pid "$pid" "npm run up" 60; fi
  stack_stop_all "$dir" || true
done
stack_log "stack stopped"
exit 0
