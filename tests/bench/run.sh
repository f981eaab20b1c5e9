#!/usr/bin/env bash
# tests/bench/run.sh - yiqikan against what people run today, in numbers.
#
#   YQ_STATE=DIR YQ_HTTP_PORT=PORT YQ_DB_SOCKET=SOCK YQ_CONF=FILE YQ_BUILD=DIR \
#       tests/bench/run.sh [--tiny] [options] [scenario...]
#
# With OUR stack already up (nginx on 127.0.0.1:$YQ_HTTP_PORT serving /api/,
# MariaDB reachable as root on $YQ_DB_SOCKET, the release build in $YQ_BUILD),
# our ws daemon on WS_PORT (from $YQ_STATE/env or YQ_WS_PORT, pid in
# $YQ_STATE/run/ws1.pid) and yq-wsload built in $YQ_BUILD/tests/bench/),
# this installs the baselines' missing Debian packages (as root), starts the
# baselines in $YQ_STATE/bench/ on free ports (uvicorn + FastAPI, php-fpm, and
# a second nginx with the `return 200` ceiling in front of both; a Socket.IO
# room server installed with npm and the lws broadcast ceiling compiled with
# cc for the WebSocket scenarios), runs the scenarios against each side back
# to back (wrk for REST, yq-wsload and the Socket.IO client for WebSocket),
# stops the baselines and writes bench/results/<UTC stamp>.json and .md.
# See tests/bench/README.md.
#
# Scenarios: 1 GET /users/me, 2 GET /notifications/?limit=20, 3 room
# join+leave, 4 login, 5 WebSocket fan-out, 6 idle connections, 7 invite
# notification latency, 8 play_control sync skew, 9 browser sync (five
# Chromium pages; needs the web client), 10 join storm.  Default: all (9
# only when the stack serves the web client).
#
# Options:
#   --tiny            1 s runs, 4 connections, no warm-up, smallest data (rooms
#                     of 20, 200 idle connections for 3 s, 20 invitations): a
#                     check that the harness works, not a measurement
#   --threads N       wrk threads (2)
#   --connections N   wrk connections (64)
#   --duration S      seconds per measured run (10)
#   --warmup S        seconds of warm-up before each measured run (2)
#   --members N       room size of scenarios 5 and 8 (1000; at most 1000)
#   --idle-conns N    scenario 6's connections (50000)
#   --idle-seconds S  how long scenario 6 holds them (300, the issue's figure;
#                     fewer makes its "met?" a no)
#   --samples N       scenario 7's invitations (1000)
#   --results DIR     where to write the results (bench/results in the
#                     checkout; with --tiny, $YQ_STATE/bench/results)
#   --keep            leave the baselines running afterwards
#   --ours-only       no baselines: our figures alone (./devstack bench --galera
#                     compares our stack with itself on two databases)
#   --browser-self-check  scenario 9 on a static page the harness drives
#                     itself (no web client): checks the harness and the
#                     browser; its figures say nothing of yiqikan
#
# Exit status: 0 every scenario ran and every run is valid (missed targets are
# reported, not errors); 1 something could not run (the reason is printed);
# 2 a run had more than 1% failed requests (non-2xx or socket errors), or a
# WebSocket run failed connections, dropped any or got errors, and is marked
# invalid.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PY=/usr/bin/python3

log() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }

# ---- arguments ----
SELF_CHECK=0 TINY=0 KEEP=0 OURS_ONLY=0 THREADS='' CONNECTIONS='' DURATION='' WARMUP='' RESULTS=${BENCH_RESULTS:-}
MEMBERS='' IDLE_CONNS='' IDLE_SECONDS='' SAMPLES=
SCENARIOS=()
while (($#)); do
    case $1 in
        --tiny) TINY=1 ;;
        --keep) KEEP=1 ;;
        --ours-only) OURS_ONLY=1 ;;
        --browser-self-check) SELF_CHECK=1 ;;
        --threads) THREADS=${2:?}; shift ;;
        --connections) CONNECTIONS=${2:?}; shift ;;
        --duration) DURATION=${2:?}; shift ;;
        --warmup) WARMUP=${2:?}; shift ;;
        --results) RESULTS=${2:?}; shift ;;
        --members) MEMBERS=${2:?}; shift ;;
        --idle-conns) IDLE_CONNS=${2:?}; shift ;;
        --idle-seconds) IDLE_SECONDS=${2:?}; shift ;;
        --samples) SAMPLES=${2:?}; shift ;;
        -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        [1-9] | 10) SCENARIOS+=("$1") ;;
        *) die "unknown argument $1 (scenarios are 1-10; try --help)" ;;
    esac
    shift
done
for v in THREADS CONNECTIONS DURATION WARMUP MEMBERS IDLE_CONNS IDLE_SECONDS SAMPLES; do
    [[ -z ${!v} || ${!v} =~ ^[0-9]+$ ]] || { o=${v,,}; die "--${o//_/-} wants a number"; }
done
if ((TINY)); then
    THREADS=${THREADS:-2} CONNECTIONS=${CONNECTIONS:-4} DURATION=${DURATION:-1} WARMUP=${WARMUP:-0}
    NOTIFICATIONS=21
    MEMBERS=${MEMBERS:-20} IDLE_CONNS=${IDLE_CONNS:-200} IDLE_SECONDS=${IDLE_SECONDS:-3} SAMPLES=${SAMPLES:-20}
    WS_TIMING=(--ws-quiet-ms 100 --ws-drain-ms 300 --idle-heartbeat 1)
else
    THREADS=${THREADS:-2} CONNECTIONS=${CONNECTIONS:-64} DURATION=${DURATION:-10} WARMUP=${WARMUP:-2}
    NOTIFICATIONS=200
    MEMBERS=${MEMBERS:-1000} IDLE_CONNS=${IDLE_CONNS:-50000} IDLE_SECONDS=${IDLE_SECONDS:-300} SAMPLES=${SAMPLES:-1000}
    WS_TIMING=()
fi
((THREADS >= 1 && CONNECTIONS >= THREADS && DURATION >= 1)) || die "need 1 <= threads <= connections and duration >= 1"
((MEMBERS >= 2 && MEMBERS <= 1000)) || die "--members must be 2 to 1000 (a room's max_members)"
((IDLE_CONNS >= 1 && IDLE_SECONDS >= 1 && SAMPLES >= 1)) || die "--idle-conns, --idle-seconds and --samples must be at least 1"
DEFAULT_SCENARIOS=0
((${#SCENARIOS[@]})) || { SCENARIOS=(1 2 3 4 5 6 7 8 10); DEFAULT_SCENARIOS=1; }

for v in YQ_STATE YQ_HTTP_PORT YQ_DB_SOCKET YQ_CONF YQ_BUILD; do
    [[ -n ${!v:-} ]] || die "$v is not set (run.sh benchmarks a stack that is already up; see --help)"
done
CTL=$YQ_BUILD/yiqikanctl
[[ -x $CTL ]] || die "$CTL is missing: build the release tree first"
[[ -f $YQ_CONF ]] || die "$YQ_CONF is missing"
BENCH=$YQ_STATE/bench
if [[ -z $RESULTS ]]; then
    if ((TINY)); then RESULTS=$BENCH/results; else RESULTS=$ROOT/bench/results; fi
fi

# Which baselines the chosen scenarios compare with.
NEED_FASTAPI=0 NEED_PHP=0 NEED_NGINX=0 NEED_WS=0 NEED_SOCKETIO=0 NEED_LWS=0 NEED_PYWS=0 NEED_BROWSER=0
for s in "${SCENARIOS[@]}"; do
    case $s in
        1) NEED_FASTAPI=1 NEED_PHP=1 NEED_NGINX=1 ;;
        2 | 3 | 4) NEED_FASTAPI=1 NEED_NGINX=1 ;;
        5) NEED_WS=1 NEED_SOCKETIO=1 NEED_LWS=1 ;;
        6) NEED_WS=1 ;;
        7) NEED_WS=1 NEED_PYWS=1 ;;
        8 | 10) NEED_WS=1 NEED_LWS=1 ;;
        9) NEED_BROWSER=1 ;;
    esac
done
((OURS_ONLY)) && NEED_FASTAPI=0 NEED_PHP=0 NEED_NGINX=0 NEED_SOCKETIO=0 NEED_LWS=0

# ---- Debian packages ----
# side -> reason it cannot run ("" = fine)
declare -A UNAVAILABLE=([ours]="" [fastapi]="" [php]="" [nginx]="" [socketio]="" [lws]="" [pyws]="" [browser]="")

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

ensure_packages() {
    local line side pkg missing=() core_missing=() failed=0
    declare -A side_missing=()
    while IFS= read -r line; do
        line=${line%%#*}
        [[ -z ${line// /} ]] && continue
        if [[ $line == *:* ]]; then
            side=${line%%:*} pkg=${line#*:}
        else
            side='' pkg=$line
        fi
        pkg=${pkg// /}
        installed "$pkg" && continue
        case $side in
            fastapi) ((NEED_FASTAPI)) || continue ;;
            php) ((NEED_PHP)) || continue ;;
            socketio) ((NEED_SOCKETIO)) || continue ;;
            lws) ((NEED_LWS)) || continue ;;
            pyws) ((NEED_PYWS)) || continue ;;
            browser) ((NEED_BROWSER)) || continue ;;
        esac
        missing+=("$pkg")
        if [[ -n $side ]]; then side_missing[$side]+=" $pkg"; else core_missing+=("$pkg"); fi
    done < "$HERE/debian-packages.txt"
    ((${#missing[@]} == 0)) && return 0
    if [[ $(id -u) -eq 0 ]]; then
        log "installing: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
            >"$BENCH/logs/apt.log" 2>&1; then
            failed=1
        fi
    else
        failed=1
    fi
    ((failed)) || return 0
    # say precisely what is still missing
    core_missing=()
    for pkg in "${missing[@]}"; do installed "$pkg" || core_missing+=("$pkg"); done
    local how="run as root or apt-get install them"
    [[ $(id -u) -eq 0 ]] && how="apt-get install failed, see $BENCH/logs/apt.log"
    for side in "${!side_missing[@]}"; do
        local still=()
        for pkg in ${side_missing[$side]}; do installed "$pkg" || still+=("$pkg"); done
        ((${#still[@]})) && UNAVAILABLE[$side]="missing Debian packages: ${still[*]} ($how)"
    done
    for pkg in wrk curl python3 nginx-light mariadb-client; do
        installed "$pkg" || die "missing Debian packages for the harness: $pkg ($how)"
    done
}

# ---- helpers ----
free_port() {
    $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

pid_alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

# stop what a pid file names; with "group", its whole process group (uvicorn's
# workers are in the group of the master we started with setsid)
stop_pidfile() {
    local f=$1 name=$2 group=${3:-} pid i
    pid_alive "$f" || { rm -f "$f"; return 0; }
    pid=$(cat "$f")
    if [[ -n $group ]]; then kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    else kill -TERM "$pid" 2>/dev/null || true; fi
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "$name did not stop, killing"
        if [[ -n $group ]]; then kill -KILL -- "-$pid" 2>/dev/null || true; else kill -KILL "$pid" 2>/dev/null || true; fi
    fi
    rm -f "$f"
}

stop_baselines() {
    stop_pidfile "$BENCH/run/socketio.pid" "Socket.IO server"
    stop_pidfile "$BENCH/run/lws-broadcast.pid" lws-broadcast
    stop_pidfile "$BENCH/nginx/nginx.pid" "bench nginx"
    stop_pidfile "$BENCH/php/php-fpm.pid" php-fpm
    stop_pidfile "$BENCH/fastapi/uvicorn.pid" uvicorn group
}

http_code() { curl -s -o /dev/null -m 5 -w '%{http_code}' "$@" || true; }

wait_port() { # PORT SECONDS: something accepts TCP connections on 127.0.0.1:PORT
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

wait_code() { # URL CODE SECONDS
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        [[ $(http_code "$1") == "$2" ]] && return 0
        sleep 0.1
    done
    return 1
}

subst() { # template out KEY=VALUE...
    local tpl=$1 out=$2 kv args=()
    shift 2
    for kv in "$@"; do args+=(-e "s|@${kv%%=*}@|${kv#*=}|g"); done
    sed "${args[@]}" "$tpl" > "$out"
}

# ---- start ----
mkdir -p "$BENCH"/{logs,data,run,fastapi,php,nginx/logs,nginx/tmp}
ensure_packages

# the stack under test must answer
code=$(http_code "http://127.0.0.1:$YQ_HTTP_PORT/api/token/check")
[[ $code == 401 ]] || die "our API does not answer on http://127.0.0.1:$YQ_HTTP_PORT/api/ (GET /api/token/check gave ${code:-nothing}, want 401): is the stack up?"

# the statistics of scenario 9 (node:test on synthetic pages) are checked
# with every --tiny run, whether or not the web client is there to measure
if ((TINY)) && command -v node >/dev/null; then
    node --test "$HERE/browser/" >"$BENCH/logs/browser-unit.log" 2>&1 \
        || die "the browser benchmark's unit checks failed: $(grep -m 3 '^not ok' "$BENCH/logs/browser-unit.log" | tr '\n' ' ')"
    log "browser benchmark statistics: $(grep -m 1 '^# pass' "$BENCH/logs/browser-unit.log")"
fi

# scenario 9 needs the web client at /; by default it runs only when the
# stack serves it (asked for by number, its absence is a could-not-run)
web_client() {
    curl -s -o /dev/null -m 5 -w '%{http_code} %{content_type}' "http://127.0.0.1:$YQ_HTTP_PORT/login" 2>/dev/null \
        | grep -q '^200 text/html'
}
if ((DEFAULT_SCENARIOS)); then
    if web_client; then
        SCENARIOS=(1 2 3 4 5 6 7 8 9 10) NEED_BROWSER=1
    else
        log "scenario 9 (browser sync) left out: the stack does not serve the web client at /login"
    fi
fi
mariadb --socket="$YQ_DB_SOCKET" -uroot -e 'SELECT 1' >/dev/null 2>&1 \
    || die "MariaDB does not answer as root on $YQ_DB_SOCKET"

# our effective configuration (secrets are masked by yiqikanctl)
declare -A CONF=()
while IFS= read -r line; do
    [[ $line == *=* ]] || continue
    k=${line%%=*} v=${line#*=}
    CONF[${k% }]=${v# }
done < <("$CTL" -c "$YQ_CONF" config 2>/dev/null)
[[ -n ${CONF[db.name]:-} ]] || die "yiqikanctl -c $YQ_CONF config printed nothing"
DB_NAME=${CONF[db.name]}
API_WORKERS=${CONF[api.workers]:-2}
HASH_PARAMS="m=${CONF[auth.argon2_memlimit_kib]:-19456} KiB, t=${CONF[auth.argon2_opslimit]:-2}, p=1"
for k in login_ip login_user register_ip register_user; do
    r=${CONF[ratelimit.$k]:-}
    [[ -z $r || $r == 0/* ]] || log "warning: ratelimit.$k = $r: login runs will likely be rate limited (429s make them invalid)"
done
NGINX_WORKERS=$(awk '$1 == "worker_processes" {gsub(/;/, "", $2); print $2; exit}' "$YQ_STATE/nginx/nginx.conf" 2>/dev/null || true)
NGINX_CONNS=$(grep -o 'worker_connections *[0-9]*' "$YQ_STATE/nginx/nginx.conf" 2>/dev/null | awk '{print $2; exit}' || true)
NGINX_WORKERS=${NGINX_WORKERS:-1} NGINX_CONNS=${NGINX_CONNS:-4096}
# nginx reaches the baselines the way ours reaches its pool: a unix socket
# when our upstream is one, else TCP on 127.0.0.1
OURS_UPSTREAM=$(awk '$1 == "upstream" && $2 == "yiqikan_api" {f = 1} f && $1 == "server" {sub(/;$/, "", $2); print $2; exit}' \
    "$YQ_STATE/nginx/yiqikan.conf" 2>/dev/null || true)
if [[ $OURS_UPSTREAM == unix:* ]]; then TRANSPORT=unix; else TRANSPORT=tcp; fi
NPROC=$(nproc)
PHP_CHILDREN=$((API_WORKERS * 2))

stop_baselines # leftovers of an interrupted run in the same state dir
if ((!KEEP)); then trap 'stop_baselines' EXIT; fi

# The baselines' own database and user on the same server; they connect the
# way ours does (TCP to db.host:db.port, or db.socket when that is set).
BENCH_DB=yiqikan_bench
DB_USER=yqbench
DB_PASS=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
JWT_SECRET=$(head -c 48 /dev/urandom | base64 | tr -d '/+=')
if [[ -n ${CONF[db.socket]:-} ]]; then
    DB_URL="mysql+pymysql://$DB_USER:$DB_PASS@localhost/$BENCH_DB?unix_socket=${CONF[db.socket]}&charset=utf8mb4"
    PDO_DSN="mysql:unix_socket=${CONF[db.socket]};dbname=$BENCH_DB;charset=utf8mb4"
else
    DB_URL="mysql+pymysql://$DB_USER:$DB_PASS@${CONF[db.host]}:${CONF[db.port]}/$BENCH_DB?charset=utf8mb4"
    PDO_DSN="mysql:host=${CONF[db.host]};port=${CONF[db.port]};dbname=$BENCH_DB;charset=utf8mb4"
fi
if ((NEED_FASTAPI)); then
    mariadb --socket="$YQ_DB_SOCKET" -uroot <<EOF || die "could not create the baselines' database"
DROP DATABASE IF EXISTS $BENCH_DB;
CREATE DATABASE $BENCH_DB CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '$DB_USER'@'127.0.0.1';
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost';
ALTER USER '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
ALTER USER '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASS';
GRANT ALL ON $BENCH_DB.* TO '$DB_USER'@'127.0.0.1';
GRANT ALL ON $BENCH_DB.* TO '$DB_USER'@'localhost';
EOF
fi

NGX_PORT=$(free_port)
mkdir -p "$BENCH/run"
if [[ $TRANSPORT == unix ]]; then
    UV_SOCK=$BENCH/run/uvicorn.sock PHP_SOCK=$BENCH/run/php-fpm.sock
    rm -f "$UV_SOCK" "$PHP_SOCK"
    UV_LISTEN=(--uds "$UV_SOCK") UV_UPSTREAM=unix:$UV_SOCK
    PHP_LISTEN=$PHP_SOCK PHP_UPSTREAM=unix:$PHP_SOCK
else
    UV_PORT=$(free_port) PHP_PORT=$(free_port)
    UV_LISTEN=(--host 127.0.0.1 --port "$UV_PORT") UV_UPSTREAM=127.0.0.1:$UV_PORT
    PHP_LISTEN=127.0.0.1:$PHP_PORT PHP_UPSTREAM=127.0.0.1:$PHP_PORT
fi

start_fastapi() {
    local d=$BENCH/fastapi
    [[ -z ${UNAVAILABLE[fastapi]} ]] || return 0
    export BENCH_DB_URL=$DB_URL BENCH_JWT_SECRET=$JWT_SECRET PYTHONPYCACHEPREFIX=$d/pycache
    if ! (cd "$HERE/baseline/fastapi" && $PY app.py create-schema) >"$d/schema.log" 2>&1; then
        UNAVAILABLE[fastapi]="creating its schema failed: $(tail -n 1 "$d/schema.log")"
        return 0
    fi
    # uvicorn docs: one process per core with --workers; its access log is
    # off because nginx in front already writes one (as for ours)
    setsid $PY -m uvicorn app:app --app-dir "$HERE/baseline/fastapi" "${UV_LISTEN[@]}" \
        --workers "$NPROC" --no-access-log --log-level warning </dev/null >"$d/uvicorn.log" 2>&1 &
    echo $! > "$d/uvicorn.pid"
    unset BENCH_DB_URL BENCH_JWT_SECRET PYTHONPYCACHEPREFIX
}

start_php() {
    local d=$BENCH/php fpm
    [[ -z ${UNAVAILABLE[php]} ]] || return 0
    fpm=$(compgen -G '/usr/sbin/php-fpm*' | sort -V | tail -n 1 || true)
    [[ -n $fpm ]] || { UNAVAILABLE[php]="no php-fpm binary in /usr/sbin"; return 0; }
    subst "$HERE/baseline/php/php-fpm.conf.in" "$d/php-fpm.conf" DIR="$d" LISTEN="$PHP_LISTEN" \
        CHILDREN="$PHP_CHILDREN" PDO_DSN="$PDO_DSN" DB_USER="$DB_USER" DB_PASSWORD="$DB_PASS" \
        JWT_SECRET="$JWT_SECRET"
    chmod 600 "$d/php-fpm.conf"
    # -R: this sandbox runs everything as root; -F: we keep the pid
    setsid "$fpm" -R -F -y "$d/php-fpm.conf" </dev/null >"$d/stdout.log" 2>&1 &
    echo $! > "$d/php-fpm.pid"
}

start_nginx() {
    local d=$BENCH/nginx
    rm -f "$d/logs/access.log" # the ceiling alone writes ~150 MB of it per run
    subst "$HERE/baseline/nginx.conf.in" "$d/nginx.conf" DIR="$d" PORT="$NGX_PORT" \
        UVICORN="$UV_UPSTREAM" PHPFPM="$PHP_UPSTREAM" PHP_SCRIPT="$HERE/baseline/php/me.php" \
        WORKER_PROCESSES="$NGINX_WORKERS" WORKER_CONNECTIONS="$NGINX_CONNS"
    if ! nginx -p "$d" -c "$d/nginx.conf" -t -q 2>"$d/logs/start.log" || ! nginx -p "$d" -c "$d/nginx.conf" 2>>"$d/logs/start.log"; then
        UNAVAILABLE[nginx]="the bench nginx did not start: $(tail -n 1 "$d/logs/start.log")"
    fi
}

if ((NEED_NGINX)); then
    ((NEED_FASTAPI)) && start_fastapi
    ((NEED_PHP)) && start_php
    start_nginx
    if [[ -n ${UNAVAILABLE[nginx]} ]]; then
        for s in fastapi php; do [[ -n ${UNAVAILABLE[$s]} ]] || UNAVAILABLE[$s]=${UNAVAILABLE[nginx]}; done
    else
        wait_code "http://127.0.0.1:$NGX_PORT/ceiling" 200 10 || UNAVAILABLE[nginx]="the bench nginx does not answer /ceiling"
    fi
    if ((NEED_FASTAPI)) && [[ -z ${UNAVAILABLE[fastapi]} ]]; then
        # uvicorn answers 401 on /users/me without a token once a worker is up
        if ! wait_code "http://127.0.0.1:$NGX_PORT/fastapi/users/me" 401 60; then
            UNAVAILABLE[fastapi]="uvicorn did not come up: $(tail -n 3 "$BENCH/fastapi/uvicorn.log" | tr '\n' ' ')"
        fi
    fi
    if ((NEED_PHP)) && [[ -z ${UNAVAILABLE[php]} ]]; then
        if ! wait_code "http://127.0.0.1:$NGX_PORT/php/users/me" 401 20; then
            UNAVAILABLE[php]="php-fpm did not come up: $(tail -n 3 "$BENCH/php/php-fpm.log" "$BENCH/php/stdout.log" 2>/dev/null | tr '\n' ' ')"
        fi
    fi
fi
# ---- the WebSocket side: our daemon on its own port, yq-wsload, and the
# two baselines (a Socket.IO room server, the lws broadcast ceiling) ----
WS_UNAVAILABLE='' WS_URL='' WS_PID_FILE=$YQ_STATE/run/ws1.pid WSLOAD=$YQ_BUILD/tests/bench/yq-wsload
LWS_PORT=0 SIO_PORT=0

start_lws() {
    local bin=$BENCH/lws-broadcast flags
    [[ -z ${UNAVAILABLE[lws]} ]] || return 0
    if ! flags=$(pkg-config --cflags --libs libwebsockets 2>"$BENCH/logs/lws-broadcast-cc.log"); then
        UNAVAILABLE[lws]="pkg-config knows no libwebsockets (libwebsockets-dev)"
        return 0
    fi
    # shellcheck disable=SC2086 # pkg-config's flags are words
    if ! cc -std=gnu11 -O2 -Wall -o "$bin" "$HERE/baseline/lws-broadcast.c" $flags >>"$BENCH/logs/lws-broadcast-cc.log" 2>&1; then
        UNAVAILABLE[lws]="compiling lws-broadcast.c failed: $(tail -n 1 "$BENCH/logs/lws-broadcast-cc.log")"
        return 0
    fi
    LWS_PORT=$(free_port)
    setsid "$bin" "$LWS_PORT" "$BENCH/run/lws-broadcast.pid" </dev/null >"$BENCH/logs/lws-broadcast.log" 2>&1 &
    if ! wait_port "$LWS_PORT" 10 || ! pid_alive "$BENCH/run/lws-broadcast.pid"; then
        UNAVAILABLE[lws]="lws-broadcast did not come up: $(tail -n 2 "$BENCH/logs/lws-broadcast.log" | tr '\n' ' ')"
    fi
}

start_socketio() {
    local d=$BENCH/socketio
    [[ -z ${UNAVAILABLE[socketio]} ]] || return 0
    command -v node >/dev/null || { UNAVAILABLE[socketio]="node is not installed (Debian: nodejs)"; return 0; }
    command -v npm >/dev/null || { UNAVAILABLE[socketio]="npm is not installed (Debian: npm)"; return 0; }
    mkdir -p "$d"
    cp "$HERE"/baseline/socketio/{package.json,server.js,load.js} "$d/"
    # from the npm registry at run time (node_modules is never committed);
    # npm's cache makes a second install quick
    if ! (cd "$d" && npm install --no-audit --no-fund --prefer-offline --loglevel=error) >"$BENCH/logs/npm.log" 2>&1; then
        UNAVAILABLE[socketio]="npm install failed: $(grep -m 1 -i 'err' "$BENCH/logs/npm.log" || tail -n 1 "$BENCH/logs/npm.log")"
        return 0
    fi
    SIO_PORT=$(free_port)
    setsid node "$d/server.js" "$SIO_PORT" "$BENCH/run/socketio.pid" </dev/null >"$BENCH/logs/socketio.log" 2>&1 &
    if ! wait_code "http://127.0.0.1:$SIO_PORT/socket.io/?EIO=4&transport=polling" 200 20; then
        UNAVAILABLE[socketio]="the Socket.IO server did not come up: $(tail -n 3 "$BENCH/logs/socketio.log" | tr '\n' ' ')"
    fi
}

if ((NEED_WS)); then
    # every connection is a descriptor: the load generators inherit this
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    # shellcheck disable=SC1091 # devstack's settings of the stack under test
    WS_PORT=${YQ_WS_PORT:-$(if [[ -f $YQ_STATE/env ]]; then . "$YQ_STATE/env"; echo "${WS_PORT:-}"; fi)}
    if [[ ! -x $YQ_BUILD/yiqikan-ws ]]; then
        WS_UNAVAILABLE="$YQ_BUILD/yiqikan-ws is missing: build the release tree first"
    elif [[ ! -x $WSLOAD ]]; then
        WS_UNAVAILABLE="$WSLOAD is missing: build the release tree first (make builds yq-wsload)"
    elif [[ -z $WS_PORT ]]; then
        WS_UNAVAILABLE="no WS_PORT in $YQ_STATE/env and YQ_WS_PORT is not set"
    elif ! pid_alive "$WS_PID_FILE"; then
        WS_UNAVAILABLE="the ws daemon is not running (no live pid in $WS_PID_FILE)"
    elif ! wait_port "$WS_PORT" 5; then
        WS_UNAVAILABLE="nothing listens on the ws daemon's port 127.0.0.1:$WS_PORT"
    else
        WS_URL=ws://127.0.0.1:$WS_PORT
    fi
    if [[ -n $WS_UNAVAILABLE ]]; then
        log "WebSocket scenarios unavailable: $WS_UNAVAILABLE"
    else
        r=${CONF[ws.rate]:-}
        [[ ${r%%/*} -ge 100000 ]] 2>/dev/null \
            || log "warning: ws.rate = ${r:-default}: fan-out runs will likely be rate limited (set [ws] rate = 1000000/1)"
        if ((NEED_LWS)); then start_lws; fi
        if ((NEED_SOCKETIO)); then start_socketio; fi
        if ((NEED_PYWS)) && ! $PY -c 'import websockets' 2>/dev/null; then
            log "python3-websockets is missing: scenario 7 cannot run"
        fi
    fi
fi
# the daemon's metrics listener ([ws] metrics_listen; ./devstack bench sets
# YIQIKAN_WS_METRICS_LISTEN and passes YQ_WS_METRICS): windows open on empty
# send queues.  A daemon without it is measured as before, and the results
# say so.
WS_METRICS='' WS_METRICS_WHY=''
if ((NEED_WS)) && [[ -z $WS_UNAVAILABLE ]]; then
    if [[ -z ${YQ_WS_METRICS:-} ]]; then
        WS_METRICS_WHY="YQ_WS_METRICS is not set (the daemon's [ws] metrics_listen)"
    elif curl -sf -m 2 "http://$YQ_WS_METRICS/metrics" | grep -q '^yiqikan_ws_send_queue_messages'; then
        WS_METRICS=$YQ_WS_METRICS
    else
        WS_METRICS_WHY="nothing answers GET http://$YQ_WS_METRICS/metrics with yiqikan_ws_send_queue_messages (a daemon without the metrics listener)"
    fi
    [[ -n $WS_METRICS ]] || log "no ws metrics: $WS_METRICS_WHY; windows open after the quiet time alone"
fi
# scenario 9: Debian's Chromium and ffmpeg, playwright-core from tests/e2e's
# package (installed there with npm ci when missing)
if ((NEED_BROWSER)); then
    if [[ -n ${UNAVAILABLE[browser]} ]]; then
        :
    elif ! command -v node >/dev/null || ! command -v ffmpeg >/dev/null || [[ ! -x ${YQ_CHROMIUM:-/usr/bin/chromium} ]]; then
        UNAVAILABLE[browser]="node, ffmpeg or ${YQ_CHROMIUM:-/usr/bin/chromium} is missing (Debian: nodejs chromium ffmpeg)"
    elif [[ ! -d $ROOT/tests/e2e/node_modules/playwright-core ]] \
        && ! (cd "$ROOT/tests/e2e" && npm ci --no-audit --no-fund --prefer-offline --loglevel=error) >"$BENCH/logs/npm-e2e.log" 2>&1; then
        UNAVAILABLE[browser]="npm ci in tests/e2e failed: $(tail -n 1 "$BENCH/logs/npm-e2e.log")"
    fi
fi
((NEED_SOCKETIO)) || UNAVAILABLE[socketio]="not needed by the chosen scenarios"
((NEED_LWS)) || UNAVAILABLE[lws]="not needed by the chosen scenarios"
[[ -z $WS_UNAVAILABLE ]] || for s in socketio lws; do
    [[ -n ${UNAVAILABLE[$s]} ]] || UNAVAILABLE[$s]="the WebSocket scenarios cannot run: $WS_UNAVAILABLE"
done
((NEED_FASTAPI)) || UNAVAILABLE[fastapi]="not needed by the chosen scenarios"
((NEED_PHP)) || UNAVAILABLE[php]="not needed by the chosen scenarios"
((NEED_NGINX)) || UNAVAILABLE[nginx]="not needed by the chosen scenarios"
for s in fastapi php nginx socketio lws; do
    [[ -z ${UNAVAILABLE[$s]} || ${UNAVAILABLE[$s]} == "not needed"* ]] || log "$s baseline unavailable: ${UNAVAILABLE[$s]}"
done

SIDES=$($PY -c 'import json,sys; a=sys.argv[1:]; print(json.dumps({a[i]: a[i+1] or None for i in range(0, len(a), 2)}))' \
    ours "${UNAVAILABLE[ours]}" fastapi "${UNAVAILABLE[fastapi]}" php "${UNAVAILABLE[php]}" nginx "${UNAVAILABLE[nginx]}" \
    socketio "${UNAVAILABLE[socketio]}" lws "${UNAVAILABLE[lws]}")
SETTINGS=$(printf '{"api_workers": %d, "nginx_workers": "%s", "uvicorn_workers": %d, "php_children": %d, "upstream_transport": "%s", "db_transport": "%s"}' \
    "$API_WORKERS" "$NGINX_WORKERS" "$NPROC" "$PHP_CHILDREN" "$TRANSPORT" "$([[ -n ${CONF[db.socket]:-} ]] && echo unix || echo tcp)")
WS=
[[ -x $YQ_BUILD/yiqikan-ws ]] && WS=$YQ_BUILD/yiqikan-ws

log "ours http://127.0.0.1:$YQ_HTTP_PORT/api; baselines http://127.0.0.1:$NGX_PORT (uvicorn $UV_UPSTREAM, php-fpm $PHP_UPSTREAM); logs in $BENCH/logs"
WSLOAD_ARG=
[[ ! -x $WSLOAD ]] || WSLOAD_ARG=$WSLOAD
TINY_ARG=()
((TINY)) && TINY_ARG=(--tiny)
rc=0
$PY "$HERE/harness.py" --root "$ROOT" --state "$BENCH" \
    --ours-url "http://127.0.0.1:$YQ_HTTP_PORT" --bench-url "http://127.0.0.1:$NGX_PORT" \
    --db-socket "$YQ_DB_SOCKET" --ours-db "$DB_NAME" --bench-db "$BENCH_DB" \
    --sides "$SIDES" --settings "$SETTINGS" --hash-params "$HASH_PARAMS" --ws-daemon "$WS" \
    --threads "$THREADS" --connections "$CONNECTIONS" --duration "$DURATION" --warmup "$WARMUP" \
    --notifications "$NOTIFICATIONS" "${TINY_ARG[@]}" --results "$RESULTS" \
    --ws-url "$WS_URL" --ws-pid-file "$WS_PID_FILE" --ws-unavailable "$WS_UNAVAILABLE" \
    --wsload "$WSLOAD_ARG" \
    --lws-url "ws://127.0.0.1:$LWS_PORT" --lws-pid-file "$BENCH/run/lws-broadcast.pid" \
    --socketio-url "http://127.0.0.1:$SIO_PORT" --socketio-pid-file "$BENCH/run/socketio.pid" \
    --socketio-dir "$BENCH/socketio" --members "$MEMBERS" --idle-conns "$IDLE_CONNS" \
    --idle-seconds "$IDLE_SECONDS" --samples "$SAMPLES" "${WS_TIMING[@]}" \
    --ws-metrics "$WS_METRICS" --ws-metrics-unavailable "$WS_METRICS_WHY" \
    --presence-grace-ms "${CONF[ws.presence_grace_ms]:-5000}" \
    --media-dir "$YQ_STATE/www/media" --browser-unavailable "${UNAVAILABLE[browser]}" \
    $( ((SELF_CHECK)) && echo --browser-self-check) $( ((OURS_ONLY)) && echo --ours-only) \
    "${SCENARIOS[@]}" || rc=$?
exit "$rc"
