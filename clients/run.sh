#!/usr/bin/env bash
# End-to-end tests of real client and job-queue libraries (BullMQ, node-redis,
# ioredis, redis-py, Celery, RQ) against Cinnabar, or against real Redis for
# comparison. See clients/README.md.
#
# Usage: clients/run.sh [options]
#   (default)          start target/release/cinnabar on a free loopback port
#                      (--port P --bind 127.0.0.1 --save '' --appendonly no),
#                      unless CINNABAR_PORT is set: then use 127.0.0.1:$CINNABAR_PORT.
#   --bin PATH         start this binary instead of target/release/cinnabar.
#   --real             start /usr/bin/redis-server instead ($REDIS_REAL_BIN).
#   --only SUITE       run only this suite (repeatable): node-bullmq,
#                      node-scripts, py-lock, py-rq, py-celery, py-tls-acl,
#                      node-tls-acl, node-dashboard.
#   --no-install       skip `npm ci` / `pip install` (use what is installed).
#   --out DIR          logs: one <suite>.log each, and server.log
#                      (default target/clients-results).
#   --suite-timeout S  hard limit per suite in seconds (default 300).
#
# Installs (only when the lockfiles changed since the last install):
#   clients/node/node_modules   npm ci (package-lock.json)
#   clients/python/.venv        python3 -m venv + pip install -r requirements.txt
#
# Prints a per-suite summary and, last, "clients: N passed, M failed" (tests;
# a suite that crashed or timed out without reporting counts as one failure).
# Exit status: 0 all suites passed, 1 some failed, 2 setup error.
set -uo pipefail

# One function, parsed whole before it runs, so editing this file during a
# run cannot derail it.
main() {

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CLIENTS="$ROOT/clients"
NODE_DIR="$CLIENTS/node"
PY_DIR="$CLIENTS/python"
VENV="$PY_DIR/.venv"

die() { echo "clients/run.sh: $*" >&2; exit 2; }
abspath() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$PWD/$1" ;; esac; }

BIN="$ROOT/target/release/cinnabar"
REAL_BIN=${REDIS_REAL_BIN:-/usr/bin/redis-server}
MODE=""            # "", bin or real
INSTALL=1
OUT="$ROOT/target/clients-results"
SUITE_TIMEOUT=300
ONLY=()

while [ $# -gt 0 ]; do
    case "$1" in
        --bin) [ $# -ge 2 ] || die "--bin needs a path"; BIN=$(abspath "$2"); MODE=bin; shift 2 ;;
        --real) MODE=real; shift ;;
        --only) [ $# -ge 2 ] || die "--only needs a suite name"; ONLY+=("$2"); shift 2 ;;
        --no-install) INSTALL=0; shift ;;
        --out) [ $# -ge 2 ] || die "--out needs a directory"; OUT=$(abspath "$2"); shift 2 ;;
        --suite-timeout) [ $# -ge 2 ] || die "--suite-timeout needs seconds"; SUITE_TIMEOUT=$2; shift 2 ;;
        -h|--help) sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done
# No server option and a port given: use the server already there.
if [ -z "$MODE" ] && [ -z "${CINNABAR_PORT:-}" ]; then MODE=bin; fi
mkdir -p "$OUT" || die "cannot create $OUT"

step() { echo; echo "==== $* ($(date -u +%H:%M:%S))"; }

# ---- dependencies ---------------------------------------------------------
# A stamp file beside each install records the hash of the lockfile it was
# made from, so a re-run does not reinstall.
stamp_of() { sha256sum "$1" | cut -d' ' -f1; }

install_node() {
    command -v node >/dev/null || die "node is not installed (apt-get install nodejs npm)"
    command -v npm >/dev/null || die "npm is not installed (apt-get install npm)"
    local want; want=$(stamp_of "$NODE_DIR/package-lock.json")
    if [ "$(cat "$NODE_DIR/node_modules/.cinnabar-stamp" 2>/dev/null)" = "$want" ]; then
        echo "node_modules up to date"; return 0
    fi
    (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed"
    echo "$want" > "$NODE_DIR/node_modules/.cinnabar-stamp"
}

install_python() {
    command -v python3 >/dev/null || die "python3 is not installed"
    local want; want=$(stamp_of "$PY_DIR/requirements.txt")
    if [ "$(cat "$VENV/.cinnabar-stamp" 2>/dev/null)" = "$want" ]; then
        echo "python venv up to date"; return 0
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        python3 -m venv "$VENV" || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
    fi
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$PY_DIR/requirements.txt" \
        || die "pip install -r clients/python/requirements.txt failed"
    echo "$want" > "$VENV/.cinnabar-stamp"
}

# ---- suites ---------------------------------------------------------------
# name|directory|command (run with `timeout`, output to $OUT/<name>.log)
ALL_SUITES=(
    "node-bullmq|$NODE_DIR|node --test --test-reporter=spec bullmq.test.mjs"
    "node-scripts|$NODE_DIR|node --test --test-reporter=spec scripts.test.mjs"
    "py-lock|$PY_DIR|$VENV/bin/pytest test_redis_lock.py"
    "py-rq|$PY_DIR|$VENV/bin/pytest test_rq.py"
    "py-celery|$PY_DIR|$VENV/bin/pytest test_celery.py"
    "py-tls-acl|$PY_DIR|$VENV/bin/pytest test_tls_acl.py"
    "node-tls-acl|$NODE_DIR|node --test --test-reporter=spec tls_acl.test.mjs"
    # The built-in dashboard in headless chromium (Debian's /usr/bin/chromium).
    "node-dashboard|$NODE_DIR|node --test --test-reporter=spec dashboard.test.mjs"
)
SUITES=()
for s in "${ALL_SUITES[@]}"; do
    name=${s%%|*}
    if [ ${#ONLY[@]} -eq 0 ] || printf '%s\n' "${ONLY[@]}" | grep -qx "$name"; then SUITES+=("$s"); fi
done
[ ${#SUITES[@]} -gt 0 ] || die "no suite matches --only ${ONLY[*]}"
need_node=0; need_py=0
for s in "${SUITES[@]}"; do case "$s" in node-*) need_node=1 ;; py-*) need_py=1 ;; esac; done

if [ "$INSTALL" = 1 ]; then
    step "dependencies"
    [ "$need_node" = 1 ] && install_node
    [ "$need_py" = 1 ] && install_python
fi

# ---- server ---------------------------------------------------------------
SERVER_PID=""
SERVER_DIR=""
stop_server() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null
        local i
        for i in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$SERVER_PID" 2>/dev/null && kill -KILL "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
    fi
    SERVER_PID=""
    [ -n "$SERVER_DIR" ] && rm -rf "$SERVER_DIR"
    SERVER_DIR=""
}
trap stop_server EXIT
trap 'exit 130' INT TERM

# PING over a plain TCP socket (no redis-cli needed): true on +PONG.
ping_server() {
    (
        exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
        printf 'PING\r\n' >&3
        IFS= read -r -t 2 reply <&3 || exit 1
        [[ $reply == "+PONG"* ]]
    ) 2>/dev/null
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

if [ -n "$MODE" ]; then
    if [ "$MODE" = real ]; then SERVER_BIN=$REAL_BIN; else SERVER_BIN=$BIN; fi
    [ -x "$SERVER_BIN" ] || die "server binary not found: $SERVER_BIN"
    SERVER_DIR=$(mktemp -d "${TMPDIR:-/tmp}/cinnabar-clients.XXXXXX")
    PORT=$(free_port) || die "no free port"
    TLS_PORT=$(free_port) || die "no free port"
    HTTP_PORT=$(free_port) || die "no free port"
    # A CA and X.509 v3 server / client certificates for the TLS suites.
    TLS_DIR="$SERVER_DIR/tls"
    mkdir -p "$TLS_DIR"
    (
        cd "$TLS_DIR" &&
        openssl genrsa -out ca.key 2048 &&
        openssl req -x509 -new -nodes -sha256 -key ca.key -days 2 -subj "/CN=clients CA" -out ca.crt &&
        printf 'basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n' > ext.cnf &&
        for n in server client; do
            openssl genrsa -out "$n.key" 2048 &&
            openssl req -new -sha256 -subj "/CN=$n" -key "$n.key" |
                openssl x509 -req -sha256 -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
                    -extfile ext.cnf -out "$n.crt" || exit 1
        done
    ) >/dev/null 2>&1 || die "openssl could not make the TLS certificates"
    # Cinnabar's own observability listener (the dashboard suite); redis-server has none.
    HTTP_ARGS=()
    if [ "$MODE" = bin ]; then HTTP_ARGS=(--http-port "$HTTP_PORT" --http-bind 127.0.0.1); fi
    step "starting $SERVER_BIN on 127.0.0.1:$PORT (log: $OUT/server.log)"
    (cd "$SERVER_DIR" && exec "$SERVER_BIN" --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$SERVER_DIR" --tls-port "$TLS_PORT" --tls-cert-file "$TLS_DIR/server.crt" \
        --tls-key-file "$TLS_DIR/server.key" --tls-ca-cert-file "$TLS_DIR/ca.crt" \
        "${HTTP_ARGS[@]}") > "$OUT/server.log" 2>&1 &
    SERVER_PID=$!
    up=0
    for _ in $(seq 100); do   # up to ~10 s
        kill -0 "$SERVER_PID" 2>/dev/null || break
        if ping_server "$PORT"; then up=1; break; fi
        sleep 0.1
    done
    if [ "$up" != 1 ]; then
        tail -20 "$OUT/server.log" >&2
        die "server did not answer PING on port $PORT"
    fi
    export CINNABAR_PORT=$PORT CINNABAR_TLS_PORT=$TLS_PORT CINNABAR_TLS_DIR=$TLS_DIR
    if [ "$MODE" = bin ]; then export CINNABAR_HTTP_PORT=$HTTP_PORT; fi
else
    step "using the server at 127.0.0.1:$CINNABAR_PORT"
    ping_server "$CINNABAR_PORT" || die "no server answers PING at 127.0.0.1:$CINNABAR_PORT"
fi

# ---- run ------------------------------------------------------------------
export PYTHONDONTWRITEBYTECODE=1   # no __pycache__ in the source tree
export NO_COLOR=1
RESULTS=()
TOTAL_PASS=0
TOTAL_FAIL=0
ANY_FAIL=0
for s in "${SUITES[@]}"; do
    IFS='|' read -r name dir cmd <<<"$s"
    step "$name: $cmd"
    log="$OUT/$name.log"
    start=$(date +%s.%N)
    # shellcheck disable=SC2086  # cmd is a word list by design
    (cd "$dir" && exec timeout -k 10 "$SUITE_TIMEOUT" $cmd) 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    # Test counts from the runner's own summary (node:test spec / pytest).
    if [[ $name == node-* ]]; then
        pass=$(sed -n 's/^ℹ pass \([0-9]*\)$/\1/p' "$log" | tail -1)
        fail=$(sed -n 's/^ℹ fail \([0-9]*\)$/\1/p' "$log" | tail -1)
        cancelled=$(sed -n 's/^ℹ cancelled \([0-9]*\)$/\1/p' "$log" | tail -1)
        fail=$(( ${fail:-0} + ${cancelled:-0} ))
    else
        summary=$(grep -E '^=+ .*(passed|failed|error).* in [0-9.]+s' "$log" | tail -1)
        pass=$(grep -oE '[0-9]+ passed' <<<"$summary" | grep -oE '[0-9]+')
        fail=$(( $(grep -oE '[0-9]+ failed' <<<"$summary" | grep -oE '[0-9]+' || echo 0) \
               + $(grep -oE '[0-9]+ errors?' <<<"$summary" | grep -oE '[0-9]+' || echo 0) ))
    fi
    pass=${pass:-0}; fail=${fail:-0}
    if [ "$rc" = 0 ]; then
        verdict=PASS
    else
        ANY_FAIL=1
        if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then verdict="FAIL (timed out after ${SUITE_TIMEOUT}s)"
        else verdict="FAIL (exit $rc)"; fi
        [ "$fail" = 0 ] && fail=1   # crashed or timed out without reporting a failure
    fi
    TOTAL_PASS=$((TOTAL_PASS + pass))
    TOTAL_FAIL=$((TOTAL_FAIL + fail))
    RESULTS+=("$(printf '%-14s %-32s %4s passed %4s failed %7ss' "$name" "$verdict" "$pass" "$fail" "$secs")")
done

if [ -n "$MODE" ] && ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "the server exited during the run; see $OUT/server.log" >&2
    ANY_FAIL=1
fi
stop_server

step "summary (server: ${MODE:-external} ${MODE:+$SERVER_BIN}; logs in $OUT)"
printf '%s\n' "${RESULTS[@]}"
echo "clients: $TOTAL_PASS passed, $TOTAL_FAIL failed"
[ "$ANY_FAIL" = 0 ]
exit $?

}

main "$@"
