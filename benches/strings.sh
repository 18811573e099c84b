#!/usr/bin/env bash
# Mutable strings, side by side with redis-server: server time per call
# (INFO commandstats usec_per_call) of SETBIT at random offsets of a 1 MiB
# bitmap and of APPEND of 100 bytes to one growing string (100,000 calls:
# 10 MB at the end), Cinnabar (--threads 1) and redis-server in one run.
#
#   cargo build --release && benches/strings.sh [CALLS]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
CALLS=${1:-100000}
CIN_PORT=${CIN_PORT:-7391}
REDIS_PORT=${REDIS_PORT:-7392}
DIR=$(mktemp -d)
trap 'kill $CIN_PID $REDIS_PID 2>/dev/null || true; rm -rf "$DIR"' EXIT

target/release/cinnabar --port "$CIN_PORT" --threads 1 --save "" --dir "$DIR" >"$DIR/cin.log" 2>&1 &
CIN_PID=$!
redis-server --port "$REDIS_PORT" --save "" --appendonly no --dir "$DIR" >"$DIR/redis.log" 2>&1 &
REDIS_PID=$!
for p in "$CIN_PORT" "$REDIS_PORT"; do
    until redis-cli -p "$p" ping >/dev/null 2>&1; do :; done
done

usec_per_call() { # port command
    redis-cli -p "$1" info commandstats | tr -d '\r' |
        sed -n "s/^cmdstat_$2:.*usec_per_call=\([0-9.]*\).*/\1/p"
}

# The calls, RESP-encoded once for both servers (redis-cli --pipe sends them).
python3 - "$CALLS" "$DIR" <<'PY'
import random, sys
calls, out = int(sys.argv[1]), sys.argv[2]
def cmd(*args):
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)
rng = random.Random(7)
with open(f"{out}/setbit.resp", "wb") as f:
    f.write(b"".join(cmd(b"SETBIT", b"bm", b"%d" % rng.randrange(8 << 20), b"1") for _ in range(calls)))
with open(f"{out}/append.resp", "wb") as f:
    f.write(cmd(b"APPEND", b"s", b"x" * 100) * calls)
PY

printf "%-34s %12s %12s %8s\n" workload "cinnabar µs" "redis µs" "C/R"
for workload in setbit append; do
    declare -A us
    for side in cin redis; do
        port=$CIN_PORT; [ "$side" = redis ] && port=$REDIS_PORT
        redis-cli -p "$port" flushall >/dev/null
        if [ "$workload" = setbit ]; then
            redis-cli -p "$port" setbit bm 8388607 0 >/dev/null  # 1 MiB
            redis-cli -p "$port" config resetstat >/dev/null
            redis-cli -p "$port" --pipe <"$DIR/setbit.resp" >/dev/null
        else
            redis-cli -p "$port" config resetstat >/dev/null
            redis-cli -p "$port" --pipe <"$DIR/append.resp" >/dev/null
        fi
        us[$side]=$(usec_per_call "$port" "$workload")
    done
    label="SETBIT, 1 MiB bitmap"; [ "$workload" = append ] && label="APPEND 100 B (to $((CALLS / 10000)) MB)"
    printf "%-34s %12s %12s %8.2f\n" "$label" "${us[cin]}" "${us[redis]}" \
        "$(echo "${us[cin]} / ${us[redis]}" | bc -l)"
done
