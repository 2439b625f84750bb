#!/usr/bin/env bash
# `npm run up`: start the local service stack (NATS JetStream, PostgreSQL 15, Redis)
# under <repo>/.chronos, build and migrate, then run Chronos in the foreground and supervise
# it: when Chronos exits unasked (a crash, kill -9) it is started again after a backoff
# (1 s, doubling up to 30 s, back to 1 s after a run of a minute), and a service of the
# stack that died is started again on its port and data; each restart is logged with why.
# Ctrl-C, SIGTERM or `npm run down` stops Chronos and then the services this invocation
# started. CHRONOS_DATA_DIR (default <repo>/.chronos) puts the whole stack elsewhere;
# CHRONOS_UP_NO_BUILD=1 skips the build when dist/ is known to be current (tests).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/stack.sh"
cd "$STACK_ROOT"
# Outbound calls to private addresses are refused; locally, Chronos may call itself (the README's example).
export CHRONOS_TARGET_ALLOWLIST="${CHRONOS_TARGET_ALLOWLIST:-127.0.0.1:3000}"

DIR="${CHRONOS_DATA_DIR:-$STACK_ROOT/.chronos}"
export PORT="${PORT:-3000}"
NATS_PORT="${CHRONOS_NATS_PORT:-4222}"
PG_PORT="${CHRONOS_PG_PORT:-5433}"
REDIS_PORT="${CHRONOS_REDIS_PORT:-6380}"
mkdir -p "$DIR"
# Before anything starts: a folder of an older version is recognised by its data (stack_export_secrets).
stack_export_secrets "$DIR"

# A second `npm run up` while the first is still running is not an error.
pid=$(stack_read_pid "$DIR/up.pid")
if stack_pid_is "$pid" bash; then
  stack_log "npm run up is already running (pid $pid): http://localhost:$PORT/docs — stop it with Ctrl-C in its terminal or \`npm run down\`"
  exit 0
fi
# A Chronos whose supervisor was killed runs unsupervised: stop it (it drains) and supervise a new one.
pid=$(stack_read_pid "$DIR/chronos.pid")
if stack_pid_is "$pid" node; then
  stack_log "Chronos (pid $pid) runs without its supervisor (npm run up was killed): stopping it to start it supervised"
  stack_stop_pid "$pid" Chronos 20
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
echo $$ >"$DIR/up.pid"
# On exit (normal, error or Ctrl-C) stop Chronos, then only the services THIS
# invocation started (or started again). Services reused from an earlier invocation that
# is still running (or left behind by one that was killed) belong to that invocation / to
# the user, so we leave them alone; `npm run down` stops everything under .chronos regardless.
cleanup() {
  trap - EXIT INT TERM
  if [[ -n $CHRONOS_PID ]] && stack_alive "$CHRONOS_PID"; then
    stack_stop_pid "$CHRONOS_PID" Chronos 20
  fi
  [[ $(stack_read_pid "$DIR/chronos.pid") == "$CHRONOS_PID" ]] && rm -f "$DIR/chronos.pid"
  stack_stop_started "$DIR"
  [[ $(stack_read_pid "$DIR/up.pid") == "$$" ]] && rm -f "$DIR/up.pid"
}
# Ctrl-C: Chronos (same process group) gets SIGINT from the terminal too; we also send
# it SIGTERM (covers `kill <up.sh pid>` and `npm run down`) and let the loop below see it exit.
on_signal() {
  STOPPING=1
  if [[ -n $CHRONOS_PID ]] && stack_alive "$CHRONOS_PID"; then
    kill -TERM "$CHRONOS_PID" 2>/dev/null || true
  else
    exit 130 # starting up, or waiting to start Chronos again: the EXIT trap cleans up
  fi
}
trap cleanup EXIT
trap on_signal INT TERM

[[ -n ${NATS_URL:-} ]] || { stack_start_nats "$DIR" "$NATS_PORT"; export NATS_URL="nats://127.0.0.1:$NATS_PORT"; }
[[ -n ${DATABASE_URL:-} ]] || { stack_start_postgres "$DIR" "$PG_PORT"; export DATABASE_URL="postgres://chronos:chronos@127.0.0.1:$PG_PORT/chronos"; }
[[ -n ${REDIS_URL:-} ]] || { stack_start_redis "$DIR" "$REDIS_PORT" persist; export REDIS_URL="redis://127.0.0.1:$REDIS_PORT"; }

# A service of ours that is gone (killed, crashed) is started again on its port and data;
# Chronos's clients reconnect to it. Runs in a subshell: a start that fails (e.g. its port
# taken meanwhile) is logged and tried again at the next check, it does not end the supervisor.
revive_services() {
  local s
  for s in "${need[@]}"; do
    case $s in
      nats) stack_pid_is "$(stack_read_pid "$DIR/nats.pid")" nats-server && continue ;;
      redis) stack_pid_is "$(stack_read_pid "$DIR/redis.pid")" redis-server && continue ;;
      postgres) [[ -n $(stack_pg_pid "$(stack_pg_base "$DIR")/data") ]] && continue ;;
    esac
    stack_log "$s is not running: starting it again"
    if (case $s in
      nats) stack_start_nats "$DIR" "$NATS_PORT" ;;
      redis) stack_start_redis "$DIR" "$REDIS_PORT" persist ;;
      postgres) stack_start_postgres "$DIR" "$PG_PORT" ;;
    esac); then
      STACK_STARTED+=("$s")
    else
      stack_log "could not start $s again; trying again shortly"
    fi
  done
}

if [[ ${CHRONOS_UP_NO_BUILD:-} != 1 ]]; then
  stack_log "building (npm run build)"
  npm run build --silent
fi

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

# Supervise: run Chronos until asked to stop; restart it with backoff whenever it exits unasked.
BACKOFF_MAX=30
backoff=1
while :; do
  node --max-semi-space-size=64 dist/main.js </dev/null &
  CHRONOS_PID=$!
  echo "$CHRONOS_PID" >"$DIR/chronos.pid"
  started_at=$SECONDS
  # `sleep & wait` rather than `sleep`: a trapped signal ends the wait at once.
  while stack_alive "$CHRONOS_PID"; do
    [[ -n $STOPPING ]] || revive_services
    sleep 1 &
    wait $! || true
  done
  wait "$CHRONOS_PID" && rc=0 || rc=$?
  [[ -n $STOPPING ]] && exit 0 # stopped on request: not a failure
  ran=$((SECONDS - started_at))
  ((ran < 60)) || backoff=1
  if ((rc > 128)); then why="was killed by SIG$(kill -l $((rc - 128)) 2>/dev/null || echo $((rc - 128)))"; else why="exited with code $rc"; fi
  stack_log "Chronos (pid $CHRONOS_PID) $why after ${ran}s; starting it again in ${backoff}s"
  sleep "$backoff" &
  wait $! || true
  backoff=$((backoff * 2 < BACKOFF_MAX ? backoff * 2 : BACKOFF_MAX))
  revive_services
done
