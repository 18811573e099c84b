#!/usr/bin/env bash
# Worker scaling: Cinnabar at 1, 2, … worker threads on this machine, with
# the load generator's own CPU reported, and the fit the PROFILE.md model
# uses (per-operation CPU at 1 worker and its growth with more workers).
#
#   benches/scale.sh                        # CORES=$(nproc), ROUNDS=3, SECS=3
#   CORES=16 WORKERS="1 2 4 8 16" LOADGEN_THREADS=8 benches/scale.sh
#   ROWS="set_d32 get_d32" benches/scale.sh
#
# On a machine with more cores than the server needs, the server is pinned
# to the first W cores and the load generator to the rest (`taskset`), so
# the two never share a core: that is the real curve. When the machine has
# fewer than W + 1 cores (this 2-core development VM), both float over every
# core and share them; the load generator's CPU column shows how much it
# took, and the per-operation CPU at W workers is then an upper bound on
# what contention costs (it includes oversubscription).
#
# Output: one JSON line per run in benches/results/scale.jsonl, and a table
# on stdout: ops/s, server CPU seconds per second (cores busy), µs of server
# CPU per operation, loadgen CPU %, and sigma = cpu_per_op(W) / cpu_per_op(1)
# / 1 - 1 scaled per extra worker: the contention coefficient of the
# model X(N) = N / (c1 * (1 + sigma * (N - 1))) (Amdahl's serial fraction
# in the Universal Scalability Law's form, kappa = 0).
set -euo pipefail

CORES=${CORES:-$(nproc)}
ROUNDS=${ROUNDS:-3}
SECS=${SECS:-3}
PORT=${PORT:-17392}
ROWS=${ROWS:-"set_d32 get_d32 lpush_d32 ping_d32"}
LOADGEN_THREADS=${LOADGEN_THREADS:-1}
CONNS=${CONNS:-50}
if [[ -z "${WORKERS:-}" ]]; then
    WORKERS=""
    w=1
    while ((w <= CORES)); do WORKERS+="$w "; w=$((w * 2)); done
    ((CORES & (CORES - 1))) && WORKERS+="$CORES"
fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
OUT=benches/results
mkdir -p "$OUT"
RAW=$OUT/scale.jsonl
: > "$RAW"

cargo build --release >&2
# shellcheck source=benches/lib.sh
source benches/lib.sh
LOADGEN=$(loadgen_path)
CINNABAR=$TARGET/release/cinnabar
[[ -x "$LOADGEN" && -x "$CINNABAR" ]] || { echo "loadgen or cinnabar not built" >&2; exit 1; }

# run W row round -> one JSON line
run() {
    local w=$1 row=$2 round=$3
    local cmd=${row%_d*} depth=${row##*_d}
    local srv_pin=() lg_pin=() pinned=false
    if ((CORES >= w + 1)) && command -v taskset > /dev/null; then
        srv_pin=(taskset -c "0-$((w - 1))")
        lg_pin=(taskset -c "$w-$((CORES - 1))")
        pinned=true
    fi
    cleanup
    "${srv_pin[@]}" "$CINNABAR" --port "$PORT" --bind 127.0.0.1 --save "" --threads "$w" > /dev/null 2>&1 &
    SERVER_PID=$!
    wait_up
    local c0 c1 line
    c0=$(server_cpu_ticks)
    line=$("${lg_pin[@]}" "$LOADGEN" pipeline --cmd "$cmd" --conns "$CONNS" --depth "$depth" \
        --seconds "$SECS" --threads "$LOADGEN_THREADS" --port "$PORT" 2>/dev/null)
    c1=$(server_cpu_ticks)
    cleanup
    local cpu_s
    cpu_s=$(awk -v a="$c0" -v b="$c1" -v hz="$CLK_TCK" 'BEGIN{printf "%.3f", (b-a)/hz}')
    echo "{\"workers\":$w,\"row\":\"$row\",\"round\":$round,\"pinned\":$pinned,\"cores\":$CORES,\"server_cpu_s\":$cpu_s,${line#\{}"
}

for row in $ROWS; do
    for round in $(seq "$ROUNDS"); do
        for w in $WORKERS; do
            run "$w" "$row" "$round" | tee -a "$RAW" | cut -c1-160 >&2
        done
    done
done

python3 - "$RAW" <<'EOF'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
rows = sorted({r["row"] for r in runs}, key=lambda r: [r2["row"] for r2 in runs].index(r))
print("| workload | workers | pinned | ops/s (median) | server cores busy | server µs CPU/op | loadgen CPU % | sigma (per extra worker) |")
print("|---|---:|---|---:|---:|---:|---:|---:|")
for row in rows:
    mine = [r for r in runs if r["row"] == row]
    per_w = {}
    for w in sorted({r["workers"] for r in mine}):
        rs = [r for r in mine if r["workers"] == w]
        ops = statistics.median(r["ops_per_sec"] for r in rs)
        # CPU per op over the whole run (prefill included, as compare.sh).
        cpu_op = statistics.median(r["server_cpu_s"] * 1e6 / max(r["ops"], 1) for r in rs)
        busy = statistics.median(r["server_cpu_s"] / max(r["seconds"], 1e-9) for r in rs)
        lg = statistics.median(r.get("loadgen_cpu_pct", 0) for r in rs)
        per_w[w] = cpu_op
        sigma = ""
        if w > 1 and 1 in per_w:
            sigma = f"{(cpu_op / per_w[1] - 1) / (w - 1):.3f}"
        print(f"| {row} | {w} | {rs[0]['pinned']} | {ops:,.0f} | {busy:.2f} | {cpu_op:.3f} | {lg:.0f} | {sigma} |")
EOF
