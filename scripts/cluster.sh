#!/usr/bin/env bash
# `npm run cluster`: Chronos as a cluster on loopback, in the background, under <data dir>/cluster
# (CHRONOS_DATA_DIR, default <repo>/.chronos): three clustered nats-servers (JetStream), PostgreSQL, Redis,
# and each role in processes of its own: api-1 and api-2 (two ports), worker-1 and -2, scheduler-1 and -2
# (one active by lease, one standing by), projector-1 and -2 (each read model's consumer active on one, by
# lease). Then one status line per process. Running it again starts only what is not running (a process
# that was stopped or killed); `npm run cluster -- status` only prints the status; `npm run down` stops it all.
#
# Ports (each a first of consecutive ones): PORT [3000] for the eight Chronos processes in the order above,
# CHRONOS_CLUSTER_NATS_PORT [4222] clients, CHRONOS_CLUSTER_ROUTE_PORT [6222] routes and
# CHRONOS_CLUSTER_MONITOR_PORT [8222] monitoring of the three NATS servers; CHRONOS_PG_PORT [5433],
# CHRONOS_REDIS_PORT [6380]. CHRONOS_UP_NO_BUILD=1 skips the build.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/stack.sh"
cd "$STACK_ROOT"

DIR="${CHRONOS_DATA_DIR:-$STACK_ROOT/.chronos}/cluster"
HTTP_PORT="${PORT:-3000}"
NATS_PORT="${CHRONOS_CLUSTER_NATS_PORT:-4222}"
ROUTE_PORT="${CHRONOS_CLUSTER_ROUTE_PORT:-6222}"
MONITOR_PORT="${CHRONOS_CLUSTER_MONITOR_PORT:-8222}"
PG_PORT="${CHRONOS_PG_PORT:-5433}"
REDIS_PORT="${CHRONOS_REDIS_PORT:-6380}"
mkdir -p "$DIR/logs"

nats_urls() {
  local i urls=""
  for i in 0 1 2; do urls+="${urls:+,}nats://127.0.0.1:$((NATS_PORT + i))"; done
  echo "$urls"
}

# The Chronos process `name`'s HTTP port: PORT, PORT+1, … in the order of STACK_CLUSTER_PROCESSES.
process_port() {
  local i
  for i in "${!STACK_CLUSTER_PROCESSES[@]}"; do
    [[ ${STACK_CLUSTER_PROCESSES[i]%%:*} == "$1" ]] && { echo $((HTTP_PORT + i)); return 0; }
  done
}

metric() { curl -fsS --max-time 2 -H "authorization: Bearer $METRICS_TOKEN" "http://127.0.0.1:$1/metrics" 2>/dev/null | grep -E "^$2" | head -n1 | awk '{print $2}'; }

status() {
  local i name pid port state entry roles leader
  printf '\n  %-12s %-8s %-28s %s\n' PROCESS PID ADDRESS STATE >&2
  for i in 0 1 2; do
    name=${STACK_CLUSTER_NATS[i]}
    pid=$(stack_read_pid "$DIR/$name.pid")
    if stack_pid_is "$pid" nats-server; then
      leader=$(curl -fsS --max-time 2 "http://127.0.0.1:$((MONITOR_PORT + i))/jsz" 2>/dev/null | sed -nE 's/.*"leader": *"([^"]*)".*/\1/p' | head -n1)
      state="up, JetStream meta leader: ${leader:-none}"
    else pid=-; state=down; fi
    printf '  %-12s %-8s %-28s %s\n' "$name" "$pid" "nats://127.0.0.1:$((NATS_PORT + i))" "$state" >&2
  done
  pid=$(stack_pg_pid "$(stack_pg_base "$DIR")/data")
  printf '  %-12s %-8s %-28s %s\n' postgres "${pid:--}" "127.0.0.1:$PG_PORT" "$([[ -n $pid ]] && echo up || echo down)" >&2
  pid=$(stack_read_pid "$DIR/redis.pid")
  stack_pid_is "$pid" redis-server || pid=""
  printf '  %-12s %-8s %-28s %s\n' redis "${pid:--}" "127.0.0.1:$REDIS_PORT" "$([[ -n $pid ]] && echo up || echo down)" >&2
  for entry in "${STACK_CLUSTER_PROCESSES[@]}"; do
    name=${entry%%:*}
    roles=${entry#*:}
    port=$(process_port "$name")
    pid=$(stack_read_pid "$DIR/$name.pid")
    if ! stack_pid_is "$pid" node; then
      state=down
      pid=-
    elif curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/health/ready" 2>/dev/null; then
      state=ready
      if [[ $roles == scheduler ]]; then
        [[ $(metric "$port" 'chronos_scheduler_active\{') == 1 ]] && state="ready, the active scheduler" || state="ready, standing by"
      fi
    else
      state=starting
    fi
    printf '  %-12s %-8s %-28s %s\n' "$name" "$pid" "http://127.0.0.1:$port" "$roles: $state" >&2
  done
  printf '\n  API: http://localhost:%s/docs and http://localhost:%s/docs; logs in %s/logs; stop with `npm run down`\n\n' "$HTTP_PORT" "$((HTTP_PORT + 1))" "$DIR" >&2
}

stack_export_secrets "$DIR"
stack_secret "$DIR/metrics-token"
METRICS_TOKEN=$(<"$DIR/metrics-token")
export METRICS_TOKEN
if [[ ${1:-} == status ]]; then
  status
  exit 0
fi

stack_ensure_system_packages nats postgres redis
stack_ensure_node_deps
routes=("$ROUTE_PORT" "$((ROUTE_PORT + 1))" "$((ROUTE_PORT + 2))")
for i in 0 1 2; do
  stack_start_nats_node "$DIR" "${STACK_CLUSTER_NATS[i]}" $((NATS_PORT + i)) "${routes[i]}" $((MONITOR_PORT + i)) "${routes[@]:0:i}" "${routes[@]:i+1}"
done
stack_wait_jetstream_cluster "$MONITOR_PORT" 60
stack_start_postgres "$DIR" "$PG_PORT"
stack_start_redis "$DIR" "$REDIS_PORT" persist

export NATS_URL DATABASE_URL REDIS_URL
NATS_URL=$(nats_urls)
DATABASE_URL="postgres://chronos:chronos@127.0.0.1:$PG_PORT/chronos"
REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
# Three copies of every stream; on a server older than 2.9.21 the event log and the leases keep one (README,
# Running a cluster), which Chronos says once at start-up.
export NATS_REPLICAS="${NATS_REPLICAS:-3}"
export CHRONOS_TARGET_ALLOWLIST="${CHRONOS_TARGET_ALLOWLIST:-127.0.0.1:$HTTP_PORT}"

if [[ ${CHRONOS_UP_NO_BUILD:-} != 1 ]]; then
  stack_log "building (npm run build)"
  npm run build --silent
fi
node dist/migrate.js

ready() { curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$(process_port "$1")/health/ready" 2>/dev/null; }

for entry in "${STACK_CLUSTER_PROCESSES[@]}"; do
  name=${entry%%:*}
  pid=$(stack_read_pid "$DIR/$name.pid")
  if stack_pid_is "$pid" node; then continue; fi
  port=$(process_port "$name")
  stack_port_open "$port" && stack_die "port $port for $name is in use by another process: free it or set PORT"
  # Its own session: a Ctrl-C in this terminal does not reach it.
  CHRONOS_ROLES=${entry#*:} CHRONOS_INSTANCE_ID=$name PORT=$port \
    setsid node --max-semi-space-size=64 dist/main.js </dev/null >>"$DIR/logs/$name.log" 2>&1 &
  echo $! >"$DIR/$name.pid"
  stack_log "started $name (pid $!, ${entry#*:}) on port $port"
  # The first creates or updates the streams (a round of consensus each); the others start once it has.
  if [[ $name == api-1 ]]; then
    for ((t = 0; t < 240; t++)); do ready api-1 && break; sleep 0.5; done
  fi
done

# Until every process answers ready (or a minute has passed), then the status.
for ((t = 0; t < 120; t++)); do
  ready=1
  for entry in "${STACK_CLUSTER_PROCESSES[@]}"; do
    ready "${entry%%:*}" || { ready=""; break; }
  done
  [[ -n $ready ]] && break
  sleep 0.5
done
status
