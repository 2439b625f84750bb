# shellcheck shell=bash
# Shared helpers for the local Chronos service stack (NATS JetStream, PostgreSQL 15,
# Redis). Sourced by up.sh, down.sh and test.sh; it defines functions only and never
# changes shell options, so the caller's `set -euo pipefail` applies.
#
# Every service keeps its state (data, pidfile, log) under a "stack dir" passed as the
# first argument, e.g. <repo>/.chronos or <repo>/.chronos/test. Nothing uses systemd:
# the Debian packages only provide the binaries.

STACK_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_BIN=/usr/lib/postgresql/15/bin
# Names of the services this shell started itself (as opposed to reused); filled by
# the stack_start_* functions so callers can stop exactly those on exit.
STACK_STARTED=()

stack_log() { printf '[chronos] %s\n' "$*" >&2; }
stack_die() { printf '[chronos] ERROR: %s\n' "$*" >&2; exit 1; }

# --- small process / port helpers ---------------------------------------------------

# True if something accepts TCP connections on 127.0.0.1:$1. Uses bash's /dev/tcp so
# no nc/curl is needed; `timeout` guards against a hung connect.
stack_port_open() {
  timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# stack_wait_port PORT SECONDS NAME — poll until the port answers.
stack_wait_port() {
  local port=$1 secs=$2 name=$3 i
  for ((i = 0; i < secs * 5; i++)); do
    stack_port_open "$port" && return 0
    sleep 0.2
  done
  stack_log "$name did not open port $port within ${secs}s"
  return 1
}

# Print the pid stored in a pidfile (first line), or nothing.
stack_read_pid() {
  [[ -r $1 ]] || return 0
  local pid
  pid=$(head -n1 "$1" 2>/dev/null | tr -dc '0-9')
  [[ -n $pid ]] && echo "$pid"
  return 0
}

# True if PID is running. A killed daemon can linger as a zombie until its parent or
# init reaps it: that counts as dead.
stack_alive() {
  local stat
  [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null || return 1
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != Z ]]
}

# stack_pid_is PID COMM — true if PID is alive AND its command name is COMM (node: or its executable). Checking
# the name protects against a stale pidfile whose pid was reused by another program.
stack_pid_is() {
  stack_alive "${1:-}" || return 1
  [[ "$(cat "/proc/$1/comm" 2>/dev/null)" == "$2" ]] && return 0
  # Node 24 names its main thread "MainThread", which is what comm shows: know node by its executable.
  [[ $2 == node && "$(readlink "/proc/$1/exe" 2>/dev/null)" == */node ]]
}

# stack_stop_pid PID NAME [TIMEOUT] — SIGTERM, wait for a graceful exit (NATS flushes
# JetStream, Redis writes its AOF), then SIGKILL as a last resort.
stack_stop_pid() {
  local pid=$1 name=$2 secs=${3:-15} i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < secs * 10; i++)); do
    stack_alive "$pid" || { stack_log "stopped $name (pid $pid)"; return 0; }
    sleep 0.1
  done
  stack_log "$name (pid $pid) ignored SIGTERM for ${secs}s, killing it"
  kill -KILL "$pid" 2>/dev/null || true
}

# One-line, actionable message for a port held by a process that is not ours.
stack_port_taken() {
  local name=$1 port=$2 urlvar=$3 key=$4
  stack_die "port $port needed by $name is in use by another process: free it, or set $urlvar to use that server, or pick another port with CHRONOS_${key}_PORT (tests: CHRONOS_TEST_${key}_PORT)"
}

# --- secrets of a data folder ----------------------------------------------------------

# stack_secret FILE — make sure FILE holds a random secret (64 URL-safe characters), created on first use
# with mode 0600 and kept; prints nothing.
stack_secret() {
  local file=$1 tmp
  if [[ ! -s $file ]]; then
    tmp=$(mktemp "$file.XXXXXX") # mode 0600 from the start
    head -c 48 /dev/urandom | base64 -w0 | tr '+/' '-_' >"$tmp"
    mv -f "$tmp" "$file"
  fi
  chmod 600 "$file"
}

# Before CHRONOS_SECRETS_KEY was generated here, the job keys of a data folder were wrapped under a key
# derived from JWT_SECRET, which was this development default when unset. Only ever used to re-wrap those.
STACK_LEGACY_JWT_SECRET=chronos-development-secret-not-for-production-use

# stack_export_secrets DIR — export JWT_SECRET and CHRONOS_SECRETS_KEY from files in DIR, each generated
# once per data folder (mode 0600, never printed); a value the caller set wins. A folder used by a version
# that derived the secrets key from JWT_SECRET also exports CHRONOS_SECRETS_LEGACY_JWT_SECRET, so Chronos
# re-wraps its job keys under the new key (README, Security: upgrading).
stack_export_secrets() {
  local dir=$1
  if [[ -z ${CHRONOS_SECRETS_KEY:-} ]]; then
    if [[ ! -s $dir/secrets-key && -d $dir/nats ]]; then
      (umask 077 && printf '%s' "${JWT_SECRET:-$STACK_LEGACY_JWT_SECRET}" >"$dir/legacy-jwt-secret")
    fi
    stack_secret "$dir/secrets-key"
    CHRONOS_SECRETS_KEY=$(<"$dir/secrets-key")
    export CHRONOS_SECRETS_KEY
    if [[ -s $dir/legacy-jwt-secret ]]; then
      CHRONOS_SECRETS_LEGACY_JWT_SECRET=$(<"$dir/legacy-jwt-secret")
      export CHRONOS_SECRETS_LEGACY_JWT_SECRET
    fi
  fi
  if [[ -z ${JWT_SECRET:-} ]]; then
    stack_secret "$dir/jwt-secret"
    JWT_SECRET=$(<"$dir/jwt-secret")
    export JWT_SECRET
  fi
}

# --- installing what is missing -----------------------------------------------------

# Node.js: the system's when it is one package.json's "engines" allows (^22.13 || >=24.11, TypeORM's
# floor), else Node 24 LTS from the npm registry's node-linux-<arch> package, unpacked once into
# <repo>/.chronos/node.
STACK_NODE_WANTED='^22.13 || >=24.11'
STACK_NODE_MAJOR=24
STACK_NODE_DIR="$STACK_ROOT/.chronos/node"

# stack_ensure_node — make `node` on PATH one of $STACK_NODE_WANTED for everything the calling script runs
# (npm ci, the build, jest, Chronos): the system's if it is, else .chronos/node/bin first on PATH,
# installed on first use. npm stays the system's; it runs on whichever node comes first on PATH.
stack_ensure_node() {
  local found arch tmp
  found=$(node -p 'process.versions.node' 2>/dev/null) || found=none
  [[ $found =~ ^([0-9]+)\.([0-9]+)\. ]] &&
    ((BASH_REMATCH[1] == 22 && BASH_REMATCH[2] >= 13 || BASH_REMATCH[1] == 24 && BASH_REMATCH[2] >= 11 || BASH_REMATCH[1] > 24)) && return 0
  if [[ ! -x $STACK_NODE_DIR/bin/node ]]; then
    case $(uname -sm) in
      'Linux x86_64') arch=x64 ;;
      'Linux aarch64') arch=arm64 ;;
      *) stack_die "Node.js $STACK_NODE_WANTED is needed (found: $found); install it for $(uname -sm)" ;;
    esac
    command -v npm >/dev/null || stack_die "Node.js $STACK_NODE_WANTED is needed (found: $found), or npm to fetch it"
    stack_log "Node.js $found is not $STACK_NODE_WANTED: installing Node $STACK_NODE_MAJOR (npm package node-linux-$arch@$STACK_NODE_MAJOR) into $STACK_NODE_DIR"
    mkdir -p "$STACK_ROOT/.chronos"
    tmp=$(mktemp -d "$STACK_NODE_DIR.XXXXXX")
    # npm pack checks the tarball against the registry's integrity. Unpacked beside and moved into place in
    # one step: an interrupted install leaves no half a Node behind, and of two at once one wins.
    (cd "$tmp" && npm pack --loglevel=warn "node-linux-$arch@$STACK_NODE_MAJOR" >/dev/null &&
      tar -xzf node-linux-*.tgz && package/bin/node --version >/dev/null) || { rm -rf "$tmp"; stack_die "could not install Node $STACK_NODE_MAJOR"; }
    rm -rf "$STACK_NODE_DIR"
    mv -T "$tmp/package" "$STACK_NODE_DIR" 2>/dev/null || [[ -x $STACK_NODE_DIR/bin/node ]] || { rm -rf "$tmp"; stack_die "could not install Node $STACK_NODE_MAJOR into $STACK_NODE_DIR"; }
    rm -rf "$tmp"
  fi
  export PATH="$STACK_NODE_DIR/bin:$PATH"
  # Native add-ons that npm builds compile against this Node's headers, not the system's.
  export npm_config_nodedir="$STACK_NODE_DIR"
  stack_log "using Node $(node --version) from $STACK_NODE_DIR"
}

# Node (stack_ensure_node), then the npm dependencies: `npm ci` when node_modules is missing or older than
# the lockfile. The lockfile lists every platform's optional packages, so it installs anywhere; a lockfile
# out of sync with package.json fails here, for a human to fix and commit.
stack_ensure_node_deps() {
  stack_ensure_node
  (
    cd "$STACK_ROOT"
    # npm rewrites node_modules/.package-lock.json at the end of every install, so it tells when
    # node_modules was last synced (the folder's own mtime does not).
    local marker=node_modules/.package-lock.json
    if [[ ! -f $marker || package-lock.json -nt $marker ]]; then
      stack_log "installing npm dependencies (npm ci)"
      npm ci --no-audit --no-fund
      touch "$marker" # up to date with the lockfile
    fi
  )
}

stack_nats_bin() { command -v nats-server || { [[ -x /usr/sbin/nats-server ]] && echo /usr/sbin/nats-server; }; }
stack_redis_bin() { command -v redis-server || { [[ -x /usr/bin/redis-server ]] && echo /usr/bin/redis-server; }; }

# stack_ensure_system_packages [nats] [redis] [postgres] [chromium] [promtool] — apt-get install only the
# Debian packages whose binaries are missing (default: the three services).
stack_ensure_system_packages() {
  local want=("$@") pkgs=() s
  ((${#want[@]})) || want=(nats redis postgres)
  for s in "${want[@]}"; do
    case $s in
      nats) stack_nats_bin >/dev/null || pkgs+=(nats-server) ;;
      redis) stack_redis_bin >/dev/null || pkgs+=(redis-server) ;;
      postgres) [[ -x $PG_BIN/postgres ]] || pkgs+=(postgresql) ;;
      chromium) [[ -x /usr/bin/chromium ]] || pkgs+=(chromium) ;; # the web dashboard's browser tests only
      promtool) command -v promtool >/dev/null || pkgs+=(prometheus) ;; # the metrics test's linter only
    esac
  done
  ((${#pkgs[@]})) || return 0
  local sudo=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null || stack_die "missing Debian packages: ${pkgs[*]} (not root and no sudo; install them manually)"
    sudo=(sudo)
  fi
  stack_log "installing Debian packages: ${pkgs[*]}"
  "${sudo[@]}" apt-get update
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${pkgs[@]}" </dev/null
}

# --- NATS (JetStream) ----------------------------------------------------------------

# stack_start_nats DIR PORT
stack_start_nats() {
  local dir=$1 port=$2 pid bin
  mkdir -p "$dir/nats"
  pid=$(stack_read_pid "$dir/nats.pid")
  if stack_pid_is "$pid" nats-server; then
    if stack_wait_port "$port" 5 NATS; then
      stack_log "reusing NATS (pid $pid) on port $port"
      return 0
    fi
    stack_log "NATS (pid $pid) does not answer on port $port; restarting it"
    stack_stop_pid "$pid" NATS
  fi
  rm -f "$dir/nats.pid" # stale (e.g. after kill -9)
  stack_port_open "$port" && stack_port_taken NATS "$port" NATS_URL NATS
  bin=$(stack_nats_bin) || stack_die "nats-server not found"
  # nats-server cannot daemonize itself on Linux: background it in its own session
  # (setsid) so a Ctrl-C in the terminal does not reach it; the caller decides when
  # to stop it.
  setsid "$bin" -a 127.0.0.1 -p "$port" -js -sd "$dir/nats" \
    --pid "$dir/nats.pid" -l "$dir/nats.log" </dev/null >>"$dir/nats.log" 2>&1 &
  STACK_STARTED+=(nats) # recorded before waiting so a failed start is still cleaned up
  stack_wait_port "$port" 20 NATS || { tail -n 20 "$dir/nats.log" >&2; return 1; }
  stack_log "started NATS (pid $(stack_read_pid "$dir/nats.pid")) on port $port"
}

stack_stop_nats() {
  local pid
  pid=$(stack_read_pid "$1/nats.pid")
  if stack_pid_is "$pid" nats-server; then stack_stop_pid "$pid" NATS; fi
  rm -f "$1/nats.pid"
}

# --- Redis ---------------------------------------------------------------------------

# stack_start_redis DIR PORT [persist] — "persist" turns on the append-only file
# (dev stack); tests run without any persistence.
stack_start_redis() {
  local dir=$1 port=$2 aof=no pid bin
  [[ ${3:-} == persist ]] && aof=yes
  mkdir -p "$dir/redis"
  pid=$(stack_read_pid "$dir/redis.pid")
  if stack_pid_is "$pid" redis-server; then
    if stack_wait_port "$port" 5 Redis; then
      stack_log "reusing Redis (pid $pid) on port $port"
      return 0
    fi
    stack_log "Redis (pid $pid) does not answer on port $port; restarting it"
    stack_stop_pid "$pid" Redis
  fi
  rm -f "$dir/redis.pid"
  stack_port_open "$port" && stack_port_taken Redis "$port" REDIS_URL REDIS
  bin=$(stack_redis_bin) || stack_die "redis-server not found"
  "$bin" --bind 127.0.0.1 --port "$port" --dir "$dir/redis" --daemonize yes \
    --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --save "" --appendonly "$aof" </dev/null
  STACK_STARTED+=(redis)
  stack_wait_port "$port" 20 Redis || { tail -n 20 "$dir/redis.log" >&2; return 1; }
  stack_log "started Redis (pid $(stack_read_pid "$dir/redis.pid")) on port $port"
}

stack_stop_redis() {
  local pid
  pid=$(stack_read_pid "$1/redis.pid")
  if stack_pid_is "$pid" redis-server; then stack_stop_pid "$pid" Redis; fi
  rm -f "$1/redis.pid"
}

# --- PostgreSQL 15 -------------------------------------------------------------------

# Run a PostgreSQL server binary. initdb/pg_ctl refuse to run as root, so as root they
# run as the `postgres` user (from / so an unreadable cwd does not bother them).
stack_as_pg() {
  if ((EUID == 0)); then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

# stack_pg_base DIR — print the folder that holds the PostgreSQL data dir ("data"),
# socket and log. Normally DIR/pg; but when the postgres user cannot reach DIR (repo
# cloned under a mode-700 folder owned by root) it is /tmp/chronos-pg-<hash of DIR>.
# The choice is recorded in DIR/pg.location so down/restart find the same place.
stack_pg_base() {
  local dir=$1 base hash
  if [[ -s $dir/pg.location ]]; then
    cat "$dir/pg.location"
    return 0
  fi
  base="$dir/pg"
  mkdir -p "$base"
  ((EUID == 0)) && chown postgres:postgres "$base" && chmod 700 "$base"
  # The unix socket path (<base>/.s.PGSQL.<port>) must stay under ~107 bytes.
  if ! stack_as_pg test -w "$base" -a -x "$base" || ((${#base} > 80)); then
    rmdir "$base" 2>/dev/null || true
    hash=$(printf '%s' "$dir" | sha1sum | cut -c1-12)
    base="/tmp/chronos-pg-$hash"
  fi
  echo "$base" >"$dir/pg.location"
  echo "$base"
}

# pid of the running postmaster for a data dir, if any (alive and really `postgres`).
stack_pg_pid() {
  local pid
  pid=$(stack_read_pid "$1/postmaster.pid")
  stack_pid_is "$pid" postgres && echo "$pid"
  return 0
}

# After the postmaster was killed (kill -9): let its orphaned backends die (they notice
# the postmaster is gone within moments; they must not keep writing into the data dir
# while a new server starts), then remove the lock files that would block a start.
stack_pg_clean_stale() {
  local base=$1 data p pids i f
  data=$(readlink -f "$base/data") # /proc/<pid>/cwd is the resolved path
  for ((i = 0; i < 100; i++)); do
    pids=()
    for p in /proc/[0-9]*; do
      [[ $(readlink "$p/cwd" 2>/dev/null) == "$data" ]] && stack_pid_is "${p#/proc/}" postgres && pids+=("${p#/proc/}")
    done
    ((${#pids[@]})) || break
    ((i == 99)) && { kill -KILL "${pids[@]}" 2>/dev/null || true; }
    sleep 0.1
  done
  stack_log "cleaning up after a PostgreSQL that did not stop cleanly ($data)"
  rm -f "$data/postmaster.pid"
  # Socket lock files hold the dead postmaster's pid; postgres would refuse to start
  # if that pid still looks alive (e.g. an unreaped zombie).
  for f in "$base"/.s.PGSQL.*.lock; do
    [[ -e $f ]] || continue
    stack_alive "$(stack_read_pid "$f")" || rm -f "$f" "${f%.lock}"
  done
}

stack_psql() {
  local port=$1
  shift
  "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres "$@"
}

# stack_start_postgres DIR PORT [fast] — "fast" (tests) disables fsync & co.
stack_start_postgres() {
  local dir=$1 port=$2 fast=${3:-} base data pid opts
  mkdir -p "$dir"
  base=$(stack_pg_base "$dir")
  data="$base/data"
  # Make the log easy to find even when the data lives in /tmp.
  ln -sfn "$base/postgres.log" "$dir/pg.log"

  pid=$(stack_pg_pid "$data")
  if [[ -n $pid ]]; then
    if stack_wait_port "$port" 5 PostgreSQL; then
      stack_log "reusing PostgreSQL (pid $pid) on port $port"
      stack_pg_ensure_db "$port"
      return 0
    fi
    stack_log "PostgreSQL (pid $pid) does not answer on port $port; restarting it"
    stack_as_pg "$PG_BIN/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null || true
  fi
  [[ -f $data/postmaster.pid ]] && stack_pg_clean_stale "$base"
  stack_port_open "$port" && stack_port_taken PostgreSQL "$port" DATABASE_URL PG

  mkdir -p "$base"
  ((EUID == 0)) && chown postgres:postgres "$base" && chmod 700 "$base"
  if [[ ! -f $data/PG_VERSION ]]; then
    # Missing or half-initialised (interrupted initdb): start over.
    rm -rf "$data"
    stack_log "initialising PostgreSQL data dir $data"
    stack_as_pg "$PG_BIN/initdb" -D "$data" -A trust -U postgres --encoding=UTF8 --no-locale \
      ${fast:+--no-sync} >"$base/initdb.log" 2>&1 || { cat "$base/initdb.log" >&2; return 1; }
  fi
  if [[ $fast == fast ]]; then
    # synchronous_commit stays on: without it a kill -9 of the postmaster (test/faults.test.ts) loses commits
    # already acknowledged (the projector's, whose events JetStream then never delivers again). fsync=off
    # only risks data when the machine itself goes down.
    opts="-c fsync=off -c full_page_writes=off"
  else
    opts="-c fsync=on"
  fi
  # Socket lives in $base (writable by postgres); clients use TCP on 127.0.0.1 anyway.
  # pg_ctl puts the postmaster in its own session, so Ctrl-C does not reach it.
  STACK_STARTED+=(postgres)
  if ! stack_as_pg "$PG_BIN/pg_ctl" -D "$data" -l "$base/postgres.log" -w -t 60 \
    -o "-k $base -h 127.0.0.1 -p $port $opts" start >/dev/null; then
    tail -n 20 "$base/postgres.log" >&2
    return 1
  fi
  stack_log "started PostgreSQL (pid $(stack_pg_pid "$data")) on port $port, data in $data"
  stack_pg_ensure_db "$port"
}

# Create role chronos/chronos and database chronos if they do not exist yet.
stack_pg_ensure_db() {
  local port=$1
  if [[ -z $(stack_psql "$port" -tAc "SELECT 1 FROM pg_roles WHERE rolname = 'chronos'") ]]; then
    stack_psql "$port" -c "CREATE ROLE chronos LOGIN CREATEDB PASSWORD 'chronos'"
  fi
  if [[ -z $(stack_psql "$port" -tAc "SELECT 1 FROM pg_database WHERE datname = 'chronos'") ]]; then
    stack_psql "$port" -c "CREATE DATABASE chronos OWNER chronos"
  fi
}

stack_stop_postgres() {
  local dir=$1 base data
  base="$dir/pg"
  [[ -s $dir/pg.location ]] && base=$(cat "$dir/pg.location")
  data="$base/data"
  [[ -f $data/postmaster.pid ]] || return 0
  if [[ -n $(stack_pg_pid "$data") ]]; then
    stack_as_pg "$PG_BIN/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null &&
      stack_log "stopped PostgreSQL ($data)"
  else
    stack_pg_clean_stale "$base"
  fi
}

# --- Chronos itself & whole stacks ---------------------------------------------------

stack_stop_chronos() {
  local pid
  pid=$(stack_read_pid "$1/chronos.pid")
  if stack_pid_is "$pid" node; then stack_stop_pid "$pid" Chronos 20; fi
  rm -f "$1/chronos.pid"
}

# Stop everything found under DIR (tolerates missing/stale pidfiles).
stack_stop_all() {
  local dir=$1
  [[ -d $dir ]] || return 0
  stack_stop_chronos "$dir" || true
  stack_stop_redis "$dir" || true
  stack_stop_nats "$dir" || true
  stack_stop_postgres "$dir" || true
}

# Stop only the services recorded in STACK_STARTED (those this shell started).
stack_stop_started() {
  local dir=$1 s i
  for ((i = ${#STACK_STARTED[@]} - 1; i >= 0; i--)); do
    s=${STACK_STARTED[i]}
    case $s in
      nats) stack_stop_nats "$dir" || true ;;
      redis) stack_stop_redis "$dir" || true ;;
      postgres) stack_stop_postgres "$dir" || true ;;
    esac
  done
  STACK_STARTED=()
}

# Stop everything under DIR and delete it, including a PostgreSQL data dir in /tmp.
stack_wipe() {
  local dir=$1 base
  [[ -d $dir ]] || return 0
  stack_stop_all "$dir"
  if [[ -s $dir/pg.location ]]; then
    base=$(cat "$dir/pg.location")
    # Only ever delete our own /tmp folders.
    [[ $base == /tmp/chronos-pg-* ]] && rm -rf "$base"
  fi
  rm -rf "$dir"
}

# stack_fresh DIR NATS_PORT PG_PORT REDIS_PORT [fast] — a throw-away stack for one run (tests, benchmark):
# installs what is missing, wipes DIR, starts the three services, stops them when the calling shell exits
# (their data and logs stay in DIR until the next run), and exports NATS_URL, DATABASE_URL and REDIS_URL,
# overriding the caller's (such a run wipes Chronos's data).
stack_fresh() {
  local dir=$1 nats_port=$2 pg_port=$3 redis_port=$4 pg_mode=${5:-}
  stack_ensure_system_packages
  stack_ensure_node_deps
  stack_wipe "$dir"
  mkdir -p "$dir"
  # shellcheck disable=SC2064 # expand $dir now: the trap outlives this function's locals
  trap "stack_stop_all '$dir'" EXIT
  stack_start_nats "$dir" "$nats_port"
  stack_start_postgres "$dir" "$pg_port" $pg_mode
  stack_start_redis "$dir" "$redis_port"
  export NATS_URL="nats://127.0.0.1:$nats_port"
  export DATABASE_URL="postgres://chronos:chronos@127.0.0.1:$pg_port/chronos"
  export REDIS_URL="redis://127.0.0.1:$redis_port"
}

# --- A NATS cluster (npm run cluster, the cluster test and benchmark) ---------------------

# stack_start_nats_node DIR NAME CLIENT_PORT ROUTE_PORT MONITOR_PORT ROUTE_PORT... — one JetStream server of
# the cluster "chronos" on loopback, named NAME, its data in DIR/NAME, its routes to the other ROUTE_PORTs.
# Its configuration is written to DIR/NAME.conf; pidfile DIR/NAME.pid, log DIR/NAME.log. Reused when running.
stack_start_nats_node() {
  local dir=$1 name=$2 port=$3 route=$4 monitor=$5 pid bin routes="" p
  shift 5
  for p in "$@"; do routes+="${routes:+, }nats-route://127.0.0.1:$p"; done
  mkdir -p "$dir/$name"
  pid=$(stack_read_pid "$dir/$name.pid")
  if stack_pid_is "$pid" nats-server; then
    if stack_wait_port "$port" 5 "NATS $name"; then
      stack_log "reusing NATS $name (pid $pid) on port $port"
      return 0
    fi
    stack_stop_pid "$pid" "NATS $name"
  fi
  rm -f "$dir/$name.pid"
  stack_port_open "$port" && stack_die "port $port needed by NATS $name is in use by another process"
  bin=$(stack_nats_bin) || stack_die "nats-server not found"
  # sync_interval: always (≥ 2.10) is the production setting (README, Running a cluster); 2.9 does not know it.
  cat >"$dir/$name.conf" <<CONF
server_name: $name
listen: 127.0.0.1:$port
http: 127.0.0.1:$monitor
jetstream { store_dir: "$dir/$name" }
cluster {
  name: chronos
  listen: 127.0.0.1:$route
  routes: [ $routes ]
}
CONF
  setsid "$bin" -c "$dir/$name.conf" --pid "$dir/$name.pid" -l "$dir/$name.log" </dev/null >>"$dir/$name.log" 2>&1 &
  stack_wait_port "$port" 20 "NATS $name" || { tail -n 20 "$dir/$name.log" >&2; return 1; }
  stack_log "started NATS $name (pid $(stack_read_pid "$dir/$name.pid")) on port $port (routes $route, monitor $monitor)"
}

stack_stop_nats_node() {
  local pid
  pid=$(stack_read_pid "$1/$2.pid")
  if stack_pid_is "$pid" nats-server; then stack_stop_pid "$pid" "NATS $2"; fi
  rm -f "$1/$2.pid"
}

# stack_wait_jetstream_cluster MONITOR_PORT SECONDS — until the server's JetStream sees a meta leader (the
# cluster has formed: streams with replicas can be created).
stack_wait_jetstream_cluster() {
  local monitor=$1 secs=$2 i
  for ((i = 0; i < secs * 5; i++)); do
    curl -fsS --max-time 2 "http://127.0.0.1:$monitor/jsz" 2>/dev/null | grep -q '"leader": *"[^"]' && return 0
    sleep 0.2
  done
  stack_log "the NATS cluster has no JetStream leader after ${secs}s"
  return 1
}

# The Chronos processes of `npm run cluster`: name, then roles.
STACK_CLUSTER_PROCESSES=(api-1:api api-2:api worker-1:worker worker-2:worker scheduler-1:scheduler scheduler-2:scheduler projector-1:projector projector-2:projector)
STACK_CLUSTER_NATS=(nats-1 nats-2 nats-3)

# stack_stop_cluster DIR — stop what `npm run cluster` started under DIR: the Chronos processes (they drain),
# then the NATS servers, Redis and PostgreSQL. Data is kept.
stack_stop_cluster() {
  local dir=$1 entry pid
  [[ -d $dir ]] || return 0
  for entry in "${STACK_CLUSTER_PROCESSES[@]}"; do
    pid=$(stack_read_pid "$dir/${entry%%:*}.pid")
    if stack_pid_is "$pid" node; then kill -TERM "$pid" 2>/dev/null || true; fi
  done
  for entry in "${STACK_CLUSTER_PROCESSES[@]}"; do
    pid=$(stack_read_pid "$dir/${entry%%:*}.pid")
    if stack_pid_is "$pid" node; then stack_stop_pid "$pid" "${entry%%:*}" 20; fi
    rm -f "$dir/${entry%%:*}.pid"
  done
  for entry in "${STACK_CLUSTER_NATS[@]}"; do stack_stop_nats_node "$dir" "$entry" || true; done
  stack_stop_redis "$dir" || true
  stack_stop_postgres "$dir" || true
}
