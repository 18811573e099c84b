#!/usr/bin/env bash
# Server CPU per operation of several server binaries side by side, on the
# pipelined workloads of compare.sh: the A/B tool behind benches/PROFILE.md.
#
#   benches/cpu_ab.sh                                  # this build vs redis-server
#   BINS="base=/tmp/cinnabar-base new=target/release/cinnabar" benches/cpu_ab.sh
#   ROWS="get_d32 set_d32" ROUNDS=5 SECS=3 THREADS=1 benches/cpu_ab.sh
#   KEYSPACE=1000000 ROWS=get_d32 benches/cpu_ab.sh      # keys past the caches
#
# Every case starts a fresh server (stopped by pid), runs one loadgen
# workload, and takes the server's user and system time over the loadgen's
# measured window (`--server-pid`: prefill and set-up excluded); cases
# alternate binaries within a round. Prints, per row, each binary's µs of
# server CPU per operation (every round, then the median), its user-mode
# part, and its ratio to redis-server's median, with the ratios of the
# median throughput and p99 latency. Cinnabar runs with
# `--threads $THREADS` (default 1: like for like with Redis's one thread).
set -euo pipefail

ROUNDS=${ROUNDS:-3}
SECS=${SECS:-3}
THREADS=${THREADS:-1}
PORT=${PORT:-17391}
REDIS=${REDIS:-/usr/bin/redis-server}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BINS=${BINS:-"cinnabar=$TARGET/release/cinnabar"}
ROWS=${ROWS:-"ping_d32 set_d32 get_d32 lpush_d32 rpop_d32 xadd_d32 ping_d1 set_d1 get_d1"}

# shellcheck source=benches/lib.sh
source benches/lib.sh
LOADGEN=${LOADGEN:-$(loadgen_path)}
[[ -x "$LOADGEN" ]] || { echo "loadgen not built" >&2; exit 1; }

row_args() {
    local cmd=${1%_d*} depth=${1##*_d}
    local extra=()
    [[ $cmd == rpop ]] && extra=(--prefill 4000000)
    [[ -n ${KEYSPACE:-} ]] && extra+=(--keyspace "$KEYSPACE")
    echo "pipeline --cmd $cmd --conns 50 --depth $depth --seconds $SECS ${extra[*]}"
}

# run label bin row -> prints "µs-of-server-CPU-per-op,ops/s,p99-µs,user-µs-per-op"
run() {
    local label=$1 bin=$2 row=$3
    cleanup
    if [[ $label == redis ]]; then
        "$bin" --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no > /dev/null 2>&1 &
    else
        "$bin" --port "$PORT" --bind 127.0.0.1 --save "" --threads "$THREADS" > /dev/null 2>&1 &
    fi
    SERVER_PID=$!
    wait_up
    local c0 c1 u0 u1 line ops
    c0=$(server_cpu_ticks)
    u0=$(server_user_ticks)
    # shellcheck disable=SC2046
    line=$("$LOADGEN" $(row_args "$row") --port "$PORT" --server-pid "$SERVER_PID" 2>/dev/null)
    c1=$(server_cpu_ticks)
    u1=$(server_user_ticks)
    cleanup
    ops=$(echo "$line" | grep -o '"ops":[0-9]*' | head -1 | cut -d: -f2)
    rate=$(echo "$line" | grep -o '"ops_per_sec":[0-9.]*' | head -1 | cut -d: -f2)
    p99=$(echo "$line" | grep -o '"p99_us":[0-9]*' | head -1 | cut -d: -f2)
    [[ -n "$ops" && "$ops" != 0 ]] || { echo nan,0,0,nan; return; }
    local wu wk
    wu=$(echo "$line" | grep -o '"server_user_us_per_op":[0-9.]*' | cut -d: -f2)
    wk=$(echo "$line" | grep -o '"server_sys_us_per_op":[0-9.]*' | cut -d: -f2)
    if [[ -n "$wu" && -n "$wk" ]]; then
        awk -v u="$wu" -v k="$wk" -v r="$rate" -v p="$p99" 'BEGIN{printf "%.3f,%d,%d,%.3f", u + k, r, p, u}'
        return
    fi
    awk -v a="$c0" -v b="$c1" -v hz="$CLK_TCK" -v n="$ops" -v r="$rate" -v p="$p99" -v ua="$u0" -v ub="$u1" \
        'BEGIN{printf "%.3f,%d,%d,%.3f", (b-a)/hz*1e6/n, r, p, (ub-ua)/hz*1e6/n}'
}

field() { tr ' ' '\n' | grep -v '^$' | cut -d, -f"$1" | tr '\n' ' '; }

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END{print (NR%2)? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

ALL="$BINS redis=$REDIS"
printf '%-10s' row
for b in $ALL; do printf ' | %-28s' "${b%%=*} µs/op (med)"; done
printf ' | ratios to redis\n'
for row in $ROWS; do
    declare -A got=()
    for _ in $(seq "$ROUNDS"); do
        for b in $ALL; do
            got[${b%%=*}]+="$(run "${b%%=*}" "${b#*=}" "$row") "
        done
    done
    rmed=$(echo "${got[redis]}" | field 1 | median)
    rrate=$(echo "${got[redis]}" | field 2 | median)
    rp99=$(echo "${got[redis]}" | field 3 | median)
    printf '%-10s' "$row"
    ratios=""
    for b in $ALL; do
        l=${b%%=*}
        cpus=$(echo "${got[$l]}" | field 1)
        m=$(echo "$cpus" | median)
        rate=$(echo "${got[$l]}" | field 2 | median)
        p99=$(echo "${got[$l]}" | field 3 | median)
        user=$(echo "${got[$l]}" | field 4 | median)
        printf ' | %-20s %7s' "${cpus% }" "$m"
        [[ $l == redis ]] && ratios+="redis user µs/op $user; "
        [[ $l == redis ]] || ratios+="$l cpu $(awk -v a="$m" -v b="$rmed" 'BEGIN{printf "%.2f", a/b}') user µs/op $user ops/s $(awk -v a="$rate" -v b="$rrate" 'BEGIN{printf "%.2f", a/b}') p99 $(awk -v a="$p99" -v b="$rp99" 'BEGIN{printf "%.2f", a/b}'); "
    done
    printf ' | %s\n' "$ratios"
    unset got
done
