#!/usr/bin/env bash
# Memory per set member, Cinnabar against redis-server, side by side in one run.
#
# Usage: scripts/set-memory.sh [cinnabar-binary]
# For each workload a fresh server of each kind is started on a loopback port,
# loaded with `redis-cli --pipe` (SADD of 100 members per command), and the
# `used_memory` delta (INFO memory) divided by the member count is printed,
# with the RSS growth per member and the OBJECT ENCODING of one key.
# Workloads (1,000,000 members each):
#   big-str16   1 set of 1,000,000 16-byte string members
#   ints-100    10,000 sets of 100 integer members
#   str16-10    100,000 sets of 10 16-byte string members
set -euo pipefail
BIN=${1:-${CARGO_TARGET_DIR:-target}/release/cinnabar}
PORT=${PORT:-16390}
TMP=$(mktemp -d)
trap 'kill $PID 2>/dev/null || true; rm -rf "$TMP"' EXIT

gen() {
  python3 - "$1" <<'PY'
import sys
w = sys.argv[1]
out = sys.stdout
def sadd(key, members):
    parts = [b"SADD", key] + members
    out.write("*%d\r\n" % len(parts))
    for p in parts:
        out.write("$%d\r\n%s\r\n" % (len(p), p.decode()))
if w == "big-str16":
    for c in range(10000):
        sadd(b"big", [b"m%015d" % (c * 100 + i) for i in range(100)])
elif w == "ints-100":
    for k in range(10000):
        sadd(b"s:%d" % k, [b"%d" % (k * 1000 + i * 7) for i in range(100)])
elif w == "str16-10":
    for k in range(100000):
        sadd(b"s:%d" % k, [b"m%015d" % (k * 10 + i) for i in range(10)])
PY
}

info() { redis-cli -p $PORT info memory | tr -d '\r' | awk -F: -v k="$1" '$1==k{print $2}'; }

run() { # kind workload
  local kind=$1 w=$2
  if [ "$kind" = redis ]; then
    redis-server --port $PORT --save '' --appendonly no --daemonize no >/dev/null 2>&1 &
  else
    "$BIN" --port $PORT --save '' >/dev/null 2>&1 &
  fi
  PID=$!
  for _ in $(seq 100); do redis-cli -p $PORT ping >/dev/null 2>&1 && break; sleep 0.1; done
  local m0 r0 m1 r1 key enc
  m0=$(info used_memory); r0=$(info used_memory_rss)
  redis-cli -p $PORT --pipe < "$TMP/$w.resp" >/dev/null
  m1=$(info used_memory); r1=$(info used_memory_rss)
  case $w in big-str16) key=big ;; *) key=s:1 ;; esac
  enc=$(redis-cli -p $PORT object encoding $key)
  printf '%-8s %-10s used_memory/member %6.1f  rss/member %6.1f  encoding %s\n' \
    "$kind" "$w" "$(echo "($m1-$m0)/1000000" | bc -l)" "$(echo "($r1-$r0)/1000000" | bc -l)" "$enc"
  kill $PID; wait $PID 2>/dev/null || true
}

for w in big-str16 ints-100 str16-10; do
  gen $w > "$TMP/$w.resp"
  run redis $w
  run cinnabar $w
done
