#!/usr/bin/env bash
# The core workloads and PUBLISH fan-out as a restricted ACL user and over
# TLS, Cinnabar next to redis-server (Debian's, built with TLS), one run.
#
#   benches/security.sh            # N=200000 requests per row, writes benches/results/security.md
#
# Each server is started once with a plain port and a TLS port (client
# certificates required, from a CA made here with openssl) and an ACL user
# `bench` limited to the benchmark's keys and channel. Rows: the default
# user over plain TCP, the `bench` user over plain TCP, the default user
# over TLS. Load comes from redis-benchmark (50 connections; pipeline 32 and
# 1); PUBLISH rows have 10 subscribers (redis-cli, same transport and user)
# on the channel. Server CPU per request is the server's utime+stime
# (/proc/PID/stat) over the row divided by the requests. Servers and
# subscribers are stopped by pid.
set -euo pipefail

N=${N:-200000}
CINNABAR=${CINNABAR:-target/release/cinnabar}
REDIS=${REDIS:-/usr/bin/redis-server}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
OUT=benches/results/security.md
TMP=$(mktemp -d)
PIDS=()
cleanup() {
    for p in ${PIDS[@]+"${PIDS[@]}"}; do kill "$p" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT

# A CA, a server certificate and a client certificate.
openssl genrsa -out "$TMP/ca.key" 2048 2>/dev/null
openssl req -x509 -new -nodes -sha256 -key "$TMP/ca.key" -days 2 \
    -subj "/CN=bench CA" -out "$TMP/ca.crt" 2>/dev/null
# X.509 v3 leaves (rustls refuses v1 certificates), as utils/gen-test-certs.sh makes.
printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$TMP/ext.cnf"
for name in server client; do
    openssl genrsa -out "$TMP/$name.key" 2048 2>/dev/null
    openssl req -new -sha256 -subj "/CN=$name" -key "$TMP/$name.key" 2>/dev/null |
        openssl x509 -req -sha256 -CA "$TMP/ca.crt" -CAkey "$TMP/ca.key" \
            -CAcreateserial -days 2 -extfile "$TMP/ext.cnf" -out "$TMP/$name.crt" 2>/dev/null
done
TLS_CLIENT=(--tls --cacert "$TMP/ca.crt" --cert "$TMP/client.crt" --key "$TMP/client.key")

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
TICK_US=$((1000000 / $(getconf CLK_TCK)))

row() { # name server_pid port-args... -- benchmark-args...
    local label=$1 pid=$2; shift 2
    local before after rps
    before=$(cpu_ticks "$pid")
    rps=$(redis-benchmark --csv "$@" 2>/dev/null | tail -n 1 | awk -F'","' '{print $2}' | tr -d '"')
    after=$(cpu_ticks "$pid")
    local us
    us=$(python3 -c "print(f'{($after-$before)*$TICK_US/$N:.2f}')")
    printf '%s\t%s\t%s\n' "$label" "$rps" "$us"
}

subscribers() { # transport args for redis-cli
    for _ in $(seq 10); do
        redis-cli "$@" SUBSCRIBE bench:ch >/dev/null 2>&1 &
        PIDS+=($!)
    done
    sleep 1
}

stop_subscribers() {
    for p in ${PIDS[@]+"${PIDS[@]}"}; do
        [ "$p" = "$SERVER" ] || kill "$p" 2>/dev/null || true
    done
    PIDS=("$SERVER")
}

measure() { # label binary
    local label=$1 bin=$2 port tport
    port=$(free_port); tport=$(free_port)
    "$bin" --port "$port" --tls-port "$tport" --bind 127.0.0.1 --save "" --appendonly no \
        --tls-cert-file "$TMP/server.crt" --tls-key-file "$TMP/server.key" \
        --tls-ca-cert-file "$TMP/ca.crt" >"$TMP/$label.log" 2>&1 &
    SERVER=$!
    PIDS=("$SERVER")
    for _ in $(seq 100); do redis-cli -p "$port" PING >/dev/null 2>&1 && break; sleep 0.05; done
    redis-cli -p "$port" ACL SETUSER bench on '>benchpw' resetchannels '~key:*' '~mylist' \
        '&bench:*' -@all +set +get +lpush +rpop +publish +subscribe +ping '+config|get' >/dev/null
    local plain=(-p "$port") acl=(-p "$port" --user bench -a benchpw) tls=(-p "$tport" "${TLS_CLIENT[@]}")
    for mode in plain acl tls; do
        local -n args=$mode
        for depth in 32 1; do
            for t in set get lpush rpop; do
                row "$label $mode $t P$depth" "$SERVER" "${args[@]}" -c 50 -n "$N" -P "$depth" -t "$t" -r 10000
            done
        done
        # PUBLISH fan-out: 10 subscribers on the same transport and user.
        local cli=("${args[@]}")
        [ "$mode" = acl ] && cli=(-p "$port" --user bench --pass benchpw)
        subscribers "${cli[@]}"
        row "$label $mode publish(10 subs) P32" "$SERVER" "${args[@]}" -c 50 -n "$N" -P 32 PUBLISH bench:ch hello
        stop_subscribers
    done
    kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
}

RESULTS="$TMP/results.tsv"
{
    measure cinnabar "$CINNABAR"
    measure redis "$REDIS"
} >"$RESULTS"

python3 - "$RESULTS" "$N" >"$OUT" <<'PY'
import sys, collections
rows = collections.OrderedDict()
for line in open(sys.argv[1]):
    label, rps, us = line.rstrip("\n").split("\t")
    server, mode, rest = label.split(" ", 2)
    rows.setdefault((mode, rest), {})[server] = (float(rps or 0), float(us))
print(f"{sys.argv[2]} requests per row, 50 connections (redis-benchmark), one run.\n")
print("| transport / user | workload | Cinnabar req/s | Redis req/s | ratio | Cinnabar CPU µs/req | Redis CPU µs/req | CPU ratio |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
names = {"plain": "TCP, default user", "acl": "TCP, restricted ACL user", "tls": "TLS, default user"}
for (mode, rest), v in rows.items():
    c, r = v.get("cinnabar", (0, 0)), v.get("redis", (0, 0))
    ratio = c[0] / r[0] if r[0] else 0
    cpu = c[1] / r[1] if r[1] else 0
    print(f"| {names[mode]} | {rest} | {c[0]:,.0f} | {r[0]:,.0f} | {ratio:.2f} | {c[1]:.2f} | {r[1]:.2f} | {cpu:.2f} |")
PY
cat "$OUT"
