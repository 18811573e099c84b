#!/usr/bin/env bash
# Server CPU per operation with the observability endpoint on and scraped
# every second, against the plain server, on the workloads of compare.sh.
#
#   benches/metrics_overhead.sh              # ROUNDS=3 SECS=5
#
# Both cases run Cinnabar with one worker thread (`--threads 1`, like for
# like with the load generator on the other CPU). The "scraped" case adds
# `--http-port` and `metrics-keys '*'` (every key a candidate: the scrape
# walks the keyspace up to its scan budget under one shard lock at a time)
# and a curl loop fetching /metrics once a second for the whole run. Server
# CPU is the server process's user+system time over the run
# (/proc/PID/stat), divided by the operations of the measured seconds, as in
# compare.sh; the scrapes' own work is in that figure. Cases alternate
# plain, scraped, plain, scraped …, each on a fresh server stopped by pid.
# Writes benches/results/metrics_overhead.jsonl and the section between the
# markers in benches/RESULTS.md.
set -euo pipefail

ROUNDS=${ROUNDS:-3}
SECS=${SECS:-5}
PORT=${PORT:-17379}
HPORT=${HPORT:-17390}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
OUT=benches/results
mkdir -p "$OUT"
RAW=$OUT/metrics_overhead.jsonl
: > "$RAW"

# shellcheck source=benches/lib.sh
source benches/lib.sh
SCRAPER_PID=""
# lib.sh's, plus the scraper loop.
cleanup() {
    if [[ -n "$SCRAPER_PID" ]]; then kill "$SCRAPER_PID" 2>/dev/null || true; wait "$SCRAPER_PID" 2>/dev/null || true; SCRAPER_PID=""; fi
    if [[ -n "$SERVER_PID" ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; fi
}

echo "== building (release)" >&2
cargo build --release >&2
LOADGEN=$(loadgen_path)
CINNABAR=$TARGET/release/cinnabar
[[ -x "$LOADGEN" && -x "$CINNABAR" ]] || { echo "loadgen or cinnabar not built" >&2; exit 1; }


# run_case plain|scraped name round loadgen-args...
run_case() {
    local mode=$1 name=$2 round=$3
    shift 3
    cleanup
    local extra=()
    [[ $mode == scraped ]] && extra=(--http-port "$HPORT" --metrics-keys '*')
    "$CINNABAR" --port "$PORT" --bind 127.0.0.1 --save "" --threads 1 "${extra[@]}" > "$OUT/metrics_overhead_server.log" 2>&1 &
    SERVER_PID=$!
    local up=0
    for _ in $(seq 50); do ping_ok "$PORT" 2>/dev/null && { up=1; break; }; sleep 0.1; done
    [[ $up == 1 ]] || { echo "server did not answer PING" >&2; exit 1; }
    local scrapes_file=$OUT/metrics_overhead_scrapes.txt
    : > "$scrapes_file"
    if [[ $mode == scraped ]]; then
        # Once a second, for as long as the case runs (stopped below by pid).
        ( while true; do
              curl -s -o /dev/null -w '%{http_code} %{size_download} %{time_total}\n' \
                  "http://127.0.0.1:$HPORT/metrics" >> "$scrapes_file" || echo "000 0 0" >> "$scrapes_file"
              sleep 1
          done ) &
        SCRAPER_PID=$!
    fi
    local cpu0 cpu1 line rc=0
    cpu0=$(server_cpu_ticks)
    line=$(timeout 120 "$LOADGEN" "$@" --port "$PORT" 2> "$OUT/metrics_overhead_loadgen.err") || rc=$?
    cpu1=$(server_cpu_ticks)
    if [[ -n "$SCRAPER_PID" ]]; then kill "$SCRAPER_PID" 2>/dev/null || true; wait "$SCRAPER_PID" 2>/dev/null || true; SCRAPER_PID=""; fi
    local ok bad bytes secs
    ok=$(grep -c '^200 ' "$scrapes_file" || true)
    bad=$(grep -vc '^200 ' "$scrapes_file" || true)
    bytes=$(awk '$1 == 200 {b = $2} END {print b + 0}' "$scrapes_file")
    secs=$(awk '$1 == 200 {s += $3; n++} END {printf "%.4f", n ? s / n : 0}' "$scrapes_file")
    [[ -n "$line" ]] || line="{\"error\":\"no output (rc $rc)\"}"
    local meta="\"mode\":\"$mode\",\"name\":\"$name\",\"round\":$round,\"rc\":$rc,\"server_cpu_s\":$(awk -v a="$cpu0" -v b="$cpu1" -v hz="$CLK_TCK" 'BEGIN{printf "%.3f", (b-a)/hz}'),\"scrapes_ok\":$ok,\"scrapes_failed\":$bad,\"scrape_bytes\":$bytes,\"scrape_secs_mean\":$secs,"
    echo "${line/#\{/\{$meta}" >> "$RAW"
    printf '%-8s %-14s r%s rc=%s scrapes=%s/%s %s\n' "$mode" "$name" "$round" "$rc" "$ok" "$bad" "$(echo "$line" | grep -o '"ops_per_sec":[0-9.]*' | head -1)" >&2
    cleanup
}

P="--seconds $SECS"
WORKLOADS=(
    "set_d1|pipeline --cmd set --conns 50 --depth 1 $P"
    "set_d32|pipeline --cmd set --conns 50 --depth 32 $P"
    "get_d32|pipeline --cmd get --conns 50 --depth 32 $P"
    "lpush_d32|pipeline --cmd lpush --conns 50 --depth 32 $P"
    "pubsub_1to100|pubsub --subs 100 --channels 1 --pubs 1 $P"
    "queue_4x4|queue --producers 4 --consumers 4 $P"
)
for round in $(seq "$ROUNDS"); do
    for w in "${WORKLOADS[@]}"; do
        name=${w%%|*}
        read -r -a args <<< "${w#*|}"
        run_case plain "$name" "$round" "${args[@]}"
        run_case scraped "$name" "$round" "${args[@]}"
    done
done

export RAW SECS ROUNDS GIT_REV=$(git rev-parse --short HEAD)
python3 - <<'PY'
import json, os, re, statistics as st
E = os.environ
rows = [json.loads(l) for l in open(E["RAW"]) if l.strip()]
secs = float(E["SECS"])
def cpu(r):
    return r["server_cpu_s"] * 1e6 / (r["ops_per_sec"] * secs) if r.get("ops_per_sec") else None
names = []
for r in rows:
    if r["name"] not in names: names.append(r["name"])
out = ["<!-- metrics-overhead:start -->",
       "## Observability: the hot path with the endpoint scraped every second\n",
       f"Generated by `benches/metrics_overhead.sh` (ROUNDS={E['ROUNDS']}, SECS={E['SECS']}), commit `{E['GIT_REV']}`. "
       "Cinnabar with one worker (`--threads 1`) in both cases; *scraped* adds `--http-port` and `metrics-keys '*'` "
       "(the worst case: every key a candidate for the per-key metrics) and fetches `/metrics` once a second for the "
       "whole run. Server CPU is the process's user+system time over the run divided by the operations measured, "
       "median over rounds (min–max in brackets); the scrapes' own work is included.\n",
       "| workload | ops/s plain | ops/s scraped | server CPU µs/op plain | server CPU µs/op scraped | ratio scraped/plain | scrapes ok / failed | /metrics bytes | scrape time ms (mean) |",
       "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
for n in names:
    p = [r for r in rows if r["name"] == n and r["mode"] == "plain"]
    s = [r for r in rows if r["name"] == n and r["mode"] == "scraped"]
    cp = [c for c in map(cpu, p) if c]; cs = [c for c in map(cpu, s) if c]
    op = st.median([r.get("ops_per_sec", 0) for r in p]); os_ = st.median([r.get("ops_per_sec", 0) for r in s])
    mp, ms = st.median(cp), st.median(cs)
    ok = sum(r["scrapes_ok"] for r in s); bad = sum(r["scrapes_failed"] for r in s)
    by = max(r["scrape_bytes"] for r in s); tm = st.mean(r["scrape_secs_mean"] for r in s) * 1000
    out.append(f"| {n} | {op:,.0f} | {os_:,.0f} | {mp:.2f} ({min(cp):.2f}–{max(cp):.2f}) | {ms:.2f} ({min(cs):.2f}–{max(cs):.2f}) | "
               f"**{ms/mp:.2f}** | {ok} / {bad} | {by:,} | {tm:.1f} |")
out.append("<!-- metrics-overhead:end -->")
section = "\n".join(out)
print(section)
path = "benches/RESULTS.md"
text = open(path).read()
pat = re.compile(r"<!-- metrics-overhead:start -->.*?<!-- metrics-overhead:end -->", re.S)
text = pat.sub(section, text) if pat.search(text) else text.rstrip("\n") + "\n\n" + section + "\n"
open(path, "w").write(text)
PY
