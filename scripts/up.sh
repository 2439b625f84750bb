#!/usr/bin/env bash
# `npm run up`: start the local service stack (NATS JetStream, PostgreSQL 15, Redis)
# under <repo>/.chronos, build and migrate, then run Chronos in the foreground.
# Ctrl-C stops Chronos and then the services this invocation started.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/stack.sh"
cd "$STACK_ROOT"
# Outbound calls to private addresses are refused; locally, Chronos may call itself (the README's example).
export CHRONOS_TARGET_ALLOWLIST="${CHRONOS_TARGET_ALLOWLIST:-127.0.0.1:3000}"

DIR="$STACK_ROOT/.chronos"
export PORT="${PORT:-3000}"
NATS_PORT="${CHRONOS_NATS_PORT:-4222}"
PG_PORT="${CHRONOS_PG_PORT:-5433}"
REDIS_PORT="${CHRONOS_REDIS_PORT:-6380}"
mkdir -p "$DIR"
# Before anything starts: a folder of an older version is recognised by its data (stack_export_secrets).
stack_export_secrets "$DIR"

# A second `npm run up` while the first is still running is not an error.
pid=$(stack_read_pid "$DIR/chronos.pid")
if stack_pid_is "$pid" node; then
  stack_log "Chronos is already running (pid $pid): http://localhost:$PORT/docs — stop it with Ctrl-C in its terminal or \`npm run down\`"
  exit 0
fi
if stack_port_open "$PORT"; then
  # Not started by us; if it serves the Swagger UI it is a Chronos started another way.
  if curl -fsS -o /dev/null --max-time 3 "http://127.0.0.1:$PORT/docs" 2>/dev/null; then
    stack_log "Chronos is already running on port $PORT (not started by npm run up): http://localhost:$PORT/docs"
    exit 0
  fi
  stack_die "port $PORT is in use by another process: free it or set PORT"
fi

# Only the services whose *_URL the user did not provide are ours to start.
need=()
[[ -n ${NATS_URL:-} ]] || need+=(nats)
[[ -n ${DATABASE_URL:-} ]] || need+=(postgres)
[[ -n ${REDIS_URL:-} ]] || need+=(redis)
((${#need[@]} == 0)) || stack_ensure_system_packages "${need[@]}"
stack_ensure_node_deps

CHRONOS_PID=""
STOPPING=""
# On exit (normal, error or Ctrl-C) stop Chronos, then only the services THIS
# invocation started. Services reused from an earlier invocation that is still running
# (or left behind by one that was killed) belong to that invocation / to the user, so
# we leave them alone; `npm run down` stops everything under .chronos regardless.
cleanup() {
  trap - EXIT INT TERM
  if [[ -n $CHRONOS_PID ]] && kill -0 "$CHRONOS_PID" 2>/dev/null; then
    stack_stop_pid "$CHRONOS_PID" Chronos 20
  fi
  [[ $(stack_read_pid "$DIR/chronos.pid") == "$CHRONOS_PID" ]] && rm -f "$DIR/chronos.pid"
  stack_stop_started "$DIR"
}
# Ctrl-C: Chronos (same process group) gets SIGINT from the terminal too; we also send
# it SIGTERM (covers `kill <up.sh pid>`) and let the wait loop below see it exit.
on_signal() {
  STOPPING=1
  if [[ -n $CHRONOS_PID ]]; then
    kill -TERM "$CHRONOS_PID" 2>/dev/null || true
  else
    exit 130 # still starting up: EXIT trap cleans up
  fi
}
trap cleanup EXIT
trap on_signal INT TERM

[[ -n ${NATS_URL:-} ]] || { stack_start_nats "$DIR" "$NATS_PORT"; export NATS_URL="nats://127.0.0.1:$NATS_PORT"; }
[[ -n ${DATABASE_URL:-} ]] || { stack_start_postgres "$DIR" "$PG_PORT"; export DATABASE_URL="postgres://chronos:chronos@127.0.0.1:$PG_PORT/chronos"; }
[[ -n ${REDIS_URL:-} ]] || { stack_start_redis "$DIR" "$REDIS_PORT" persist; export REDIS_URL="redis://127.0.0.1:$REDIS_PORT"; }

stack_log "building (npm run build)"
npm run build --silent

# The contract says dist/migrate.js; package.json's "migrate" script points at
# dist/infra/database/migrate.js — accept whichever the build produced.
migrate=dist/migrate.js
[[ -f $migrate ]] || migrate=dist/infra/database/migrate.js
[[ -f $migrate ]] || stack_die "no migration entry point (dist/migrate.js) after the build"
stack_log "running migrations ($migrate)"
node "$migrate"

# Hide passwords of user-supplied URLs in the banner.
mask() { sed -E 's#(://[^:/@]*):[^@/]*@#\1:***@#' <<<"$1"; }
cat >&2 <<BANNER

  Chronos  http://localhost:$PORT        API docs: http://localhost:$PORT/docs
           listening on ${HOST:-127.0.0.1} only (set HOST to change it: README, Security)
  NATS     $(mask "$NATS_URL")
  Postgres $(mask "$DATABASE_URL")
  Redis    $(mask "$REDIS_URL")
  Data, logs and secrets in $DIR — Ctrl-C to stop (or \`npm run down\` from another terminal)

BANNER

node --max-semi-space-size=64 dist/main.js </dev/null &
CHRONOS_PID=$!
echo "$CHRONOS_PID" >"$DIR/chronos.pid"

# `wait` returns early when a trapped signal arrives; keep waiting until Chronos has
# really exited so its clean shutdown finishes before the services go away.
rc=0
while kill -0 "$CHRONOS_PID" 2>/dev/null; do
  wait "$CHRONOS_PID" && rc=0 || rc=$?
done
[[ -n $STOPPING ]] && rc=0 # stopped on request: not a failure
exit "$rc"
