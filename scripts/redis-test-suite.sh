#!/usr/bin/env bash
# Run units of Redis 7.0's own Tcl test suite against Cinnabar (or real Redis).
#
# The suite comes from Debian's `redis` source package (apt-get source redis,
# Redis 7.0.15 on bookworm), cached in $REDIS_SUITE_DIR (default
# target/redis-suite) and reused on later runs.
#
# Usage: scripts/redis-test-suite.sh [options] [unit ...]
#   Units default to the lines of scripts/redis-suite/units.txt.
#
#   (spawn mode, default)  the suite starts the server itself: our binary
#                          ($CINNABAR_BIN, default target/release/cinnabar)
#                          is copied in as src/redis-server.
#   --real                 spawn Debian's real redis-server instead (a copy
#                          kept aside in the suite tree), for comparison.
#   --bin PATH             spawn this binary (same as CINNABAR_BIN=PATH).
#   --host H --port P      external mode: run against a server already
#                          listening there (the suite FLUSHALLs it!).
#   --floor FILE           exit non-zero if total passed < the integer in FILE
#                          (otherwise exit 0 even when tests fail).
#   --out DIR              per-unit results (default target/redis-suite-results).
#   --unit-timeout SECS    hard limit per unit (default 600).
#   --budget SECS          total time budget; units not started when it is
#                          used up are reported as not run (default: none).
#   --units-file FILE      unit list (default scripts/redis-suite/units.txt).
#   --skipfile FILE        tests to skip (default scripts/redis-suite/skip.txt).
#   -v, --verbose          also print the reference tests not passed.
#   --trace                also log every command the suite's client sends
#                          (test name, command, first args) to <out>/<unit>.cmds.
#   --tls                  the suite's TLS mode: certificates made once by the
#                          suite's utils/gen-test-certs.sh (openssl), servers on
#                          tls-port only, tls-replication yes, clients over TLS.
#   -- ARGS                extra arguments passed to ./runtest (e.g. --only NAME).
#
# Per unit it writes <out>/<unit_with_underscores>.log (full runtest output),
# .ok (names of passed tests), .err (names of failed tests), .missing (names
# from scripts/redis-suite/passed/<unit>.txt that did not pass) and, for a unit
# with failures, .servers/ (tail of each spawned server's stdout/stderr).
# The last line printed is "N passed, M failed": N = tests that passed ([ok]),
# M = reference tests not passed + failed tests that are not in the reference.
# Without --floor the exit status is 0 only when M is 0. Exit 2 = setup error.
set -uo pipefail

# The whole script is one function, parsed before it runs, so that editing this
# file while a run is in progress cannot derail that run.
main() {

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CFG="$ROOT/scripts/redis-suite"

abspath() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$PWD/$1" ;; esac; }
die() { echo "redis-test-suite: $*" >&2; exit 2; }

SUITE_DIR=$(abspath "${REDIS_SUITE_DIR:-$ROOT/target/redis-suite}")
OUT_DIR=$(abspath "${REDIS_SUITE_OUT:-$ROOT/target/redis-suite-results}")
BIN=$(abspath "${CINNABAR_BIN:-$ROOT/target/release/cinnabar}")
REAL_BIN=${REDIS_REAL_BIN:-/usr/bin/redis-server}
UNIT_TIMEOUT=${REDIS_SUITE_UNIT_TIMEOUT:-600}
BUDGET=${REDIS_SUITE_BUDGET:-0}
UNITS_FILE="$CFG/units.txt"
SKIPFILE="$CFG/skip.txt"
REFDIR="$CFG/passed"
FLOOR_FILE=""
MODE=spawn
HOST="" PORT=""
VERBOSE=0
TRACE=0
TLS=0
EXTRA=()
UNITS=()

while [ $# -gt 0 ]; do
    case "$1" in
        --real) MODE=real ;;
        --bin) BIN=$(abspath "$2"); shift ;;
        --host) HOST=$2; shift ;;
        --port) PORT=$2; shift ;;
        --floor) FLOOR_FILE=$(abspath "$2"); shift ;;
        --out) OUT_DIR=$(abspath "$2"); shift ;;
        --unit-timeout) UNIT_TIMEOUT=$2; shift ;;
        --budget) BUDGET=$2; shift ;;
        --units-file) UNITS_FILE=$(abspath "$2"); shift ;;
        --skipfile) SKIPFILE=$(abspath "$2"); shift ;;
        -v|--verbose) VERBOSE=1 ;;
        --trace) TRACE=1 ;;
        --tls) TLS=1 ;;
        -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        --) shift; EXTRA=("$@"); break ;;
        -*) die "unknown option $1 (see --help)" ;;
        *) UNITS+=("$1") ;;
    esac
    shift
done
if [ -n "$HOST" ] || [ -n "$PORT" ]; then
    [ "$MODE" = real ] && die "--real and --host/--port are exclusive"
    MODE=external
    HOST=${HOST:-127.0.0.1}
    PORT=${PORT:-6379}
fi
if [ ${#UNITS[@]} -eq 0 ]; then
    [ -f "$UNITS_FILE" ] || die "no units given and $UNITS_FILE not found"
    while IFS= read -r line; do
        line=${line%%#*}; line=$(echo "$line" | tr -d '[:space:]')
        [ -n "$line" ] && UNITS+=("$line")
    done < "$UNITS_FILE"
fi
[ ${#UNITS[@]} -gt 0 ] || die "no units to run"
[ -f "$SKIPFILE" ] || die "skip file $SKIPFILE not found"
FLOOR=""
if [ -n "$FLOOR_FILE" ]; then
    [ -f "$FLOOR_FILE" ] || die "floor file $FLOOR_FILE not found"
    FLOOR=$(tr -dc '0-9' < "$FLOOR_FILE")
    [ -n "$FLOOR" ] || die "floor file $FLOOR_FILE holds no integer"
fi
command -v tclsh >/dev/null || die "tclsh not found (apt-get install tcl)"
command -v timeout >/dev/null || die "timeout(1) not found (coreutils)"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi; }

# Add deb-src to the apt sources when missing (Debian bookworm layout first).
enable_deb_src() {
    local f=/etc/apt/sources.list.d/debian.sources
    if [ -f "$f" ] && grep -q '^Types: deb$' "$f"; then
        echo "redis-test-suite: enabling deb-src in $f" >&2
        as_root sed -i 's/^Types: deb$/Types: deb deb-src/' "$f"
    elif [ -f /etc/apt/sources.list ] && grep -q '^deb ' /etc/apt/sources.list \
        && ! grep -q '^deb-src ' /etc/apt/sources.list; then
        echo "redis-test-suite: enabling deb-src in /etc/apt/sources.list" >&2
        grep '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' \
            | as_root tee -a /etc/apt/sources.list >/dev/null
    fi
}

find_suite() {
    local d
    for d in "$SUITE_DIR"/redis-*/; do
        [ -x "$d/runtest" ] && [ -f "$d/tests/test_helper.tcl" ] && { echo "${d%/}"; return 0; }
    done
    return 1
}

# Download and unpack Debian's redis source package once; reuse it afterwards.
ensure_suite() {
    mkdir -p "$SUITE_DIR" || die "cannot create $SUITE_DIR"
    SRC=$(find_suite) && return 0
    command -v flock >/dev/null && { exec 9>"$SUITE_DIR/.lock"; flock 9; }
    if ! SRC=$(find_suite); then
        command -v apt-get >/dev/null || die "apt-get not found: cannot fetch the redis source package"
        command -v dpkg-source >/dev/null || die "dpkg-source not found (apt-get install dpkg-dev)"
        local dl="$SUITE_DIR/.download.$$"
        rm -rf "$dl"; mkdir -p "$dl"
        echo "redis-test-suite: fetching Debian's redis source package into $SUITE_DIR" >&2
        if ! (cd "$dl" && apt-get source -q redis) >"$dl.log" 2>&1; then
            enable_deb_src
            as_root apt-get update -q >>"$dl.log" 2>&1
            rm -rf "$dl"; mkdir -p "$dl"
            (cd "$dl" && apt-get source -q redis) >>"$dl.log" 2>&1 \
                || { cat "$dl.log" >&2; die "apt-get source redis failed"; }
        fi
        local d
        for d in "$dl"/redis-*/; do
            [ -x "$d/runtest" ] && mv "${d%/}" "$SUITE_DIR/" && break
        done
        rm -rf "$dl" "$dl.log"
        SRC=$(find_suite) || die "no runnable suite found after apt-get source redis"
    fi
    exec 9>&-
    return 0
}

ensure_suite
# Keep a copy of the real server aside in the suite tree (source packages ship
# no binary), so --real keeps working even if the package is removed later.
if [ ! -x "$SRC/src/redis-server.real" ] && [ -x "$REAL_BIN" ]; then
    cp -L "$REAL_BIN" "$SRC/src/redis-server.real.tmp.$$" && mv "$SRC/src/redis-server.real.tmp.$$" "$SRC/src/redis-server.real"
fi

case "$MODE" in
    spawn) SERVER_BIN=$BIN
           [ -x "$SERVER_BIN" ] || die "server binary $SERVER_BIN not found (cargo build --release, or set CINNABAR_BIN)" ;;
    real)  SERVER_BIN="$SRC/src/redis-server.real"
           [ -x "$SERVER_BIN" ] || die "no real redis-server (apt-get install redis-server, or set REDIS_REAL_BIN)" ;;
    external) SERVER_BIN="" ;;
esac

# A private working copy of the test tree per invocation: runtest deletes
# tests/tmp/* and the binary under src/ differs between modes, so concurrent
# runs (ours vs --real) must not share one tree.
RUN=$(mktemp -d "$SUITE_DIR/run.XXXXXX") || die "mktemp failed"
cleanup_procs() {
    # End what this run left behind: processes whose binary or working dir is
    # inside $RUN (spawned servers chdir into tests/tmp/server.*; Tcl clients
    # run in $RUN). Matched by pid only.
    local p exe cwd
    for p in /proc/[0-9]*; do
        exe=$(readlink "$p/exe" 2>/dev/null) || exe=""
        cwd=$(readlink "$p/cwd" 2>/dev/null) || cwd=""
        case "$exe|$cwd" in
            "$RUN"/*|*"|$RUN"|*"|$RUN"/*) kill -9 "${p#/proc/}" 2>/dev/null ;;
        esac
    done
}
cleanup() { cleanup_procs; rm -rf "$RUN"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
cp "$SRC/runtest" "$RUN/" && cp -r "$SRC/tests" "$RUN/tests" && mkdir -p "$RUN/src" || die "cannot populate $RUN"
rm -rf "$RUN/tests/tmp"; mkdir -p "$RUN/tests/tmp"
if [ "$TLS" = 1 ]; then
    # Made once in the cached tree (RSA keys take a while), copied per run.
    if [ ! -f "$SRC/tests/tls/ca.crt" ]; then
        (cd "$SRC" && ./utils/gen-test-certs.sh >/dev/null 2>&1) || die "cannot generate TLS certificates (openssl?)"
    fi
    cp -r "$SRC/tests/tls" "$RUN/tests/tls" || die "cannot copy TLS certificates"
    EXTRA=(--tls ${EXTRA[@]+"${EXTRA[@]}"})
fi
if [ -n "$SERVER_BIN" ]; then
    cp -L "$SERVER_BIN" "$RUN/src/redis-server" || die "cannot copy $SERVER_BIN"
fi
if [ "$TRACE" = 1 ]; then
    # Wrap the suite's Redis client (in this private copy only) to log commands.
    cat >> "$RUN/tests/support/redis.tcl" <<'TCL'

# --- added by scripts/redis-test-suite.sh --trace ---
rename ::redis::__dispatch__raw__ ::redis::__dispatch__raw__untraced
proc ::redis::__dispatch__raw__ {id method argv} {
    if {[info exists ::env(REDIS_SUITE_CMDLOG)] &&
        ([info command ::redis::__method__$method] eq {} || $method eq "write")} {
        set t ""
        catch {set t $::cur_test}
        if {$method eq "write"} {set items [list "(raw)"]} else {set items [concat [list $method] [lrange $argv 0 11]]}
        set out {}
        foreach a $items {
            if {[string length $a] > 40} {set a "[string range $a 0 39]..."}
            lappend out [string map {"\r" "\\r" "\n" "\\n" "\t" " "} $a]
        }
        catch {
            set f [open $::env(REDIS_SUITE_CMDLOG) a]
            fconfigure $f -translation binary
            puts $f "$t\t[join $out { }]"
            close $f
        }
    }
    return [::redis::__dispatch__raw__untraced $id $method $argv]
}
TCL
fi
# Helper tools some tests call (argv[0] selects the mode of Redis' binaries).
for t in redis-cli redis-benchmark redis-check-aof redis-check-rdb; do
    command -v "$t" >/dev/null && ln -s "$(command -v "$t")" "$RUN/src/$t"
done

# Port slot: the suite's test server listens on baseport-32.. and spawned
# servers on baseport..; its free-port probe binds the wildcard address and
# misses ports another run holds on 127.0.0.1. So each invocation takes a slot
# of 1000 ports (slot 0 = the suite's default base port 21111) that no other
# invocation holds (lock, kept for the lifetime of this script) and where
# nothing listens on 127.0.0.1 near the base port.
port_listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
slot_ports_free() {
    local base=$1 p
    for ((p = base - 32; p < base + 16; p++)); do
        port_listening "$p" && return 1
    done
    return 0
}
SLOT_ARGS=()
for slot in 0 1 2 3 4 5 6 7; do
    base=$((21111 + slot * 1000))
    if command -v flock >/dev/null; then
        exec 8>"$SUITE_DIR/.slot.$slot"
        flock -n 8 || { exec 8>&-; continue; }
    fi
    if slot_ports_free "$base"; then
        SLOT_ARGS=(--baseport "$base" --portcount 1000)
        break
    fi
    exec 8>&-
done
[ ${#SLOT_ARGS[@]} -gt 0 ] || echo "redis-test-suite: warning: no free port slot found, using the suite's defaults" >&2

mkdir -p "$OUT_DIR" || die "cannot create $OUT_DIR"
RUNTEST_ARGS=(--tags "-needs:repl -needs:debug -needs:save" --singledb --ignore-encoding
              --ignore-digest --clients 1 --durable --timeout 60 --no-latency --skipfile "$SKIPFILE"
              --dont-clean)
if [ "$MODE" = external ]; then
    RUNTEST_ARGS=(--host "$HOST" --port "$PORT" "${RUNTEST_ARGS[@]}")
fi

case "$MODE" in
    external) echo "Redis 7.0 test suite ($(basename "$SRC")) against external server $HOST:$PORT" ;;
    *) echo "Redis 7.0 test suite ($(basename "$SRC")), spawn mode, server binary: $SERVER_BIN" ;;
esac
echo "results: $OUT_DIR"

export LC_ALL=C
TOTAL_OK=0 TOTAL_FAIL=0 TOTAL_REF=0 TOTAL_REFOK=0
START_ALL=$(date +%s)
SUMMARY=()
for unit in "${UNITS[@]}"; do
    name=${unit//\//_}
    log="$OUT_DIR/$name.log"
    ref="$REFDIR/$name.txt"
    rm -f "$OUT_DIR/$name".{log,ok,err,missing}
    refn=0
    [ -f "$ref" ] && refn=$(sort -u "$ref" | grep -c .)
    TOTAL_REF=$((TOTAL_REF + refn))

    if [ ! -f "$SRC/tests/$unit.tcl" ]; then
        echo "== $unit: no such unit in the suite"
        TOTAL_FAIL=$((TOTAL_FAIL + (refn > 0 ? refn : 1)))
        SUMMARY+=("$(printf '%-28s %4s ok %4s err   ref %4s/%-4s %s' "$unit" 0 0 0 "$refn" "NO SUCH UNIT")")
        continue
    fi

    limit=$UNIT_TIMEOUT
    if [ "$BUDGET" -gt 0 ] 2>/dev/null; then
        left=$((BUDGET - ($(date +%s) - START_ALL)))
        if [ "$left" -lt 30 ]; then
            echo "== $unit: not run (time budget of ${BUDGET}s used up)"
            [ -f "$ref" ] && sort -u "$ref" > "$OUT_DIR/$name.missing"
            TOTAL_FAIL=$((TOTAL_FAIL + (refn > 0 ? refn : 1)))
            SUMMARY+=("$(printf '%-28s %4s ok %4s err   ref %4s/%-4s %s' "$unit" 0 0 0 "$refn" "NOT RUN (budget)")")
            continue
        fi
        [ "$left" -lt "$limit" ] && limit=$left
    fi

    t0=$(date +%s)
    rm -f "$OUT_DIR/$name.cmds"
    trace_env=()
    [ "$TRACE" = 1 ] && trace_env=(REDIS_SUITE_CMDLOG="$OUT_DIR/$name.cmds")
    (cd "$RUN" && exec env TERM=dumb ${trace_env[@]+"${trace_env[@]}"} timeout -k 15 "$limit" ./runtest --single "$unit" \
        "${RUNTEST_ARGS[@]}" ${SLOT_ARGS[@]+"${SLOT_ARGS[@]}"} ${EXTRA[@]+"${EXTRA[@]}"}) \
        > "$log" 2>&1 < /dev/null 8>&- 9>&-
    rc=$?
    secs=$(( $(date +%s) - t0 ))
    cleanup_procs

    grep -a '^\[ok\]: ' "$log" | sed -E 's/^\[ok\]: //; s/ \([0-9]+ ms\)$//' | sort -u > "$OUT_DIR/$name.ok"
    grep -a '^\[err\]: ' "$log" | sed -E 's/^\[err\]: //; s/ in tests\/[^ ]*\.tcl$//' > "$OUT_DIR/$name.err"
    nok=$(grep -c . "$OUT_DIR/$name.ok")
    nerr=$(grep -c . "$OUT_DIR/$name.err")
    nexc=$(grep -ac '^\[exception\]' "$log")

    status=""
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        status="KILLED after ${limit}s (unit timeout)"
    elif grep -aq '^\[TIMEOUT\]' "$log"; then
        status="TIMEOUT (no progress for 60s)"
    elif [ "$nexc" -gt 0 ]; then
        status="EXCEPTION"
    elif ! grep -aq "done\]: $unit " "$log"; then
        status="ABORTED (rc=$rc)"
    fi

    # Keep the spawned servers' logs of a unit that did not go cleanly
    # (runtest --dont-clean leaves them in tests/tmp/server.*).
    rm -rf "$OUT_DIR/$name.servers"
    if [ -n "$status" ] || [ "$nerr" -gt 0 ]; then
        for d in "$RUN"/tests/tmp/server.*; do
            [ -d "$d" ] || continue
            mkdir -p "$OUT_DIR/$name.servers/${d##*/}"
            for f in stdout stderr; do
                [ -f "$d/$f" ] && tail -n 300 "$d/$f" > "$OUT_DIR/$name.servers/${d##*/}/$f"
            done
        done
        if [ -n "$status" ] && [ "$MODE" != external ] && [ -d "$OUT_DIR/$name.servers" ] \
            && ! grep -rqs ' PID: ' "$OUT_DIR/$name.servers"; then
            status="$status; server never logged ' PID: <pid>' (see scripts/redis-suite/HARNESS-NOTES.md)"
        fi
    fi
    rm -rf "$RUN"/tests/tmp/* 2>/dev/null

    if [ -f "$ref" ]; then
        sort -u "$ref" | comm -23 - "$OUT_DIR/$name.ok" > "$OUT_DIR/$name.missing"
        refok=$(sort -u "$ref" | comm -12 - "$OUT_DIR/$name.ok" | grep -c .)
        extra_err=$(sort -u "$OUT_DIR/$name.err" | comm -23 - <(sort -u "$ref") | grep -c .)
        fail=$(( refn - refok + extra_err ))
    else
        : > "$OUT_DIR/$name.missing"
        refok=0
        fail=$(( nerr + nexc ))
        [ -n "$status" ] && [ "$fail" -eq 0 ] && fail=1
    fi
    TOTAL_OK=$((TOTAL_OK + nok))
    TOTAL_FAIL=$((TOTAL_FAIL + fail))
    TOTAL_REFOK=$((TOTAL_REFOK + refok))

    echo "== $unit: $nok passed, $nerr failed$([ "$nexc" -gt 0 ] && echo ", $nexc exception"), reference $refok/$refn passed (${secs}s)${status:+ -- $status}"
    if [ "$nerr" -gt 0 ]; then sed 's/^/   [err] /' "$OUT_DIR/$name.err"; fi
    if [ "$nexc" -gt 0 ]; then grep -a -A2 '^\[exception\]' "$log" | head -n 3 | sed 's/^/   /'; fi
    if [ "$VERBOSE" = 1 ] && [ -s "$OUT_DIR/$name.missing" ]; then sed 's/^/   [missing] /' "$OUT_DIR/$name.missing"; fi
    SUMMARY+=("$(printf '%-28s %4s ok %4s err   ref %4s/%-4s %5ss %s' "$unit" "$nok" "$nerr" "$refok" "$refn" "$secs" "$status")")
done

echo
echo "---- summary ($(( $(date +%s) - START_ALL ))s, logs and .missing lists in $OUT_DIR)"
printf '%s\n' "${SUMMARY[@]}"
echo "reference tests passed: $TOTAL_REFOK/$TOTAL_REF"
rcode=0
if [ -n "$FLOOR" ]; then
    if [ "$TOTAL_OK" -lt "$FLOOR" ]; then
        echo "FLOOR NOT MET: $TOTAL_OK passed < floor $FLOOR ($FLOOR_FILE)"
        rcode=1
    else
        echo "floor met: $TOTAL_OK passed >= floor $FLOOR"
    fi
elif [ "$TOTAL_FAIL" -gt 0 ]; then
    rcode=1
fi
echo "$TOTAL_OK passed, $TOTAL_FAIL failed"
exit $rcode
}

main "$@"
