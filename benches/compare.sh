#!/usr/bin/env bash
# Cinnabar vs Redis 7 (Debian's /usr/bin/redis-server), end to end, on loopback.
#
#   benches/compare.sh                 # ROUNDS=3 SECS=3, writes benches/RESULTS.md
#   ROUNDS=5 SECS=5 benches/compare.sh
#   SWEEP=0 benches/compare.sh         # skip the connection/subscriber sweep
#   FILTER='_d32$' SWEEP=0 benches/compare.sh   # only the workloads matching a regex
#   ONLY=sweep benches/compare.sh      # only the sweep: replaces the sweep_* lines of
#                                      # raw.jsonl, the plots and RESULTS.md's Plots section
#   ONLY=report ELAPSED=s GIT_REV=rev benches/compare.sh
#                                      # no runs: RESULTS.md rewritten from raw.jsonl
#   python3 benches/plot.py            # redraw plots + Plots section from raw.jsonl
#
# The sweep (SET depth 1 at 1/10/50/200 connections; 1 publisher -> 1/10/100/500
# subscribers on one channel; SWEEP_SECS per run, default SECS) feeds
# benches/plot.py, which writes SVG plots to benches/plots/.
#
# Every measurement starts a fresh server (so memory deltas are against an empty
# server and no run inherits another's data), runs one loadgen workload, and stops
# that server by pid. Workloads alternate Cinnabar, Redis, Cinnabar, Redis ... for
# ROUNDS rounds. Raw JSON lines go to benches/results/raw.jsonl.
set -euo pipefail

ROUNDS=${ROUNDS:-3}
SECS=${SECS:-3}
CPORT=${CPORT:-17379}
RPORT=${RPORT:-17380}
REDIS=${REDIS:-/usr/bin/redis-server}
SWEEP=${SWEEP:-1}
ONLY=${ONLY:-}
FILTER=${FILTER:-}
SWEEP_SECS=${SWEEP_SECS:-$SECS}
SWEEP_CONNS=${SWEEP_CONNS:-"1 10 50 200"}
SWEEP_SUBS=${SWEEP_SUBS:-"1 10 100 500"}
case "$ONLY" in
    "" ) ;;
    sweep ) SWEEP=1 ;;
    report ) SWEEP=1 ;;
    * ) echo "ONLY=$ONLY: only ONLY=sweep or ONLY=report is supported" >&2; exit 64 ;;
esac

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
OUT=benches/results
mkdir -p "$OUT"
RAW=$OUT/raw.jsonl
if [[ $ONLY == report ]]; then
    [[ -f "$RAW" ]] || { echo "no $RAW to report from" >&2; exit 1; }
elif [[ $ONLY == sweep ]]; then
    # keep the main comparison's lines, replace the sweep's
    if [[ -f "$RAW" ]]; then
        grep -v '"name":"sweep_' "$RAW" > "$RAW.tmp" || true
        mv "$RAW.tmp" "$RAW"
    else
        : > "$RAW"
    fi
else
    : > "$RAW"
fi

# shellcheck source=benches/lib.sh
source benches/lib.sh

echo "== building (release)" >&2
cargo build --release >&2
LOADGEN=$(loadgen_path)
CINNABAR=$TARGET/release/cinnabar
[[ -x "$LOADGEN" ]] || { echo "loadgen executable not found" >&2; exit 1; }
[[ -x "$CINNABAR" ]] || { echo "$CINNABAR not found" >&2; exit 1; }
[[ -x "$REDIS" ]] || { echo "$REDIS not found" >&2; exit 1; }

# start_server cinnabar|redis [io-threads]; sets SERVER_PID and PORT
SERVER_EXTRA=()
# Extra server arguments of the current workload (both servers), e.g. the
# AOF settings; a workload with `--appendonly yes` gets a fresh directory.
set_server_extra() { # words...
    SERVER_EXTRA=("$@")
    if [[ " $* " == *" --appendonly yes "* ]]; then
        rm -rf "$OUT/aof-dir"
        mkdir -p "$OUT/aof-dir"
        SERVER_EXTRA+=(--dir "$ROOT/$OUT/aof-dir")
    fi
}

start_server() {
    cleanup
    [[ -d "$OUT/aof-dir" ]] && [[ ${#SERVER_EXTRA[@]} -gt 0 ]] && rm -rf "$OUT/aof-dir"/*
    if [[ $1 == cinnabar ]]; then
        PORT=$CPORT
        local extra=()
        [[ -n "${2:-}" ]] && extra=(--threads "$2")
        "$CINNABAR" --port "$PORT" --bind 127.0.0.1 --save "" "${extra[@]}" "${SERVER_EXTRA[@]}" > "$OUT/cinnabar.log" 2>&1 &
    else
        PORT=$RPORT
        "$REDIS" --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no "${SERVER_EXTRA[@]}" > "$OUT/redis.log" 2>&1 &
    fi
    SERVER_PID=$!
    for _ in $(seq 50); do
        ping_ok "$PORT" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "server $1 did not answer PING on $PORT" >&2
    exit 1
}

worker_threads() { # tokio worker threads of the running server (1 for redis's main loop)
    local n=0 t
    for t in /proc/"$SERVER_PID"/task/*/comm; do
        [[ $(cat "$t" 2>/dev/null) == tokio-rt-worker ]] && n=$((n + 1))
    done
    echo "$n"
}

# run_one server name round io-threads loadgen-args...
run_one() {
    local srv=$1 name=$2 round=$3 threads=$4
    shift 4
    start_server "$srv" "$threads"
    local workers
    workers=$(worker_threads)
    local line rc=0 cpu0 cpu1
    cpu0=$(server_cpu_ticks)
    # Pipelines and pub/sub measure the server's user and kernel CPU over
    # their measured window themselves (prefill and set-up excluded).
    local pid_arg=()
    [[ $1 == pipeline || $1 == pubsub ]] && pid_arg=(--server-pid "$SERVER_PID")
    line=$(timeout 120 "$LOADGEN" "$@" "${pid_arg[@]}" --port "$PORT" 2> "$OUT/loadgen.err") || rc=$?
    cpu1=$(server_cpu_ticks)
    [[ -n "$line" ]] || line="{\"workload\":\"none\",\"error\":\"no output (rc $rc): $(tr -d '"\\\n' < "$OUT/loadgen.err" | head -c 300)\"}"
    local meta="\"server\":\"$srv\",\"name\":\"$name\",\"round\":$round,\"io_threads\":\"${threads}\",\"tokio_workers\":$workers,\"rc\":$rc,\"args\":\"$*\",\"server_cpu_s\":$(awk -v a="$cpu0" -v b="$cpu1" -v hz="$CLK_TCK" 'BEGIN{printf "%.3f", (b-a)/hz}'),"
    echo "${line/#\{/\{$meta}" >> "$RAW"
    printf '%-10s %-16s r%s rc=%s %s\n' "$srv" "$name" "$round" "$rc" "$(echo "$line" | grep -o '"ops_per_sec":[0-9.]*\|"used_per_elem":[0-9.-]*\|"error":"[^"]*"' | head -1)" >&2
    cleanup
}

P="--seconds $SECS"
WORKLOADS=(
    "ping_d1|pipeline --cmd ping --conns 50 --depth 1 $P"
    "ping_d32|pipeline --cmd ping --conns 50 --depth 32 $P"
    "set_d1|pipeline --cmd set --conns 50 --depth 1 $P"
    "set_d32|pipeline --cmd set --conns 50 --depth 32 $P"
    "get_d1|pipeline --cmd get --conns 50 --depth 1 $P"
    "get_d32|pipeline --cmd get --conns 50 --depth 32 $P"
    "lpush_d1|pipeline --cmd lpush --conns 50 --depth 1 $P"
    "lpush_d32|pipeline --cmd lpush --conns 50 --depth 32 $P"
    "rpop_d1|pipeline --cmd rpop --conns 50 --depth 1 $P"
    "rpop_d32|pipeline --cmd rpop --conns 50 --depth 32 $P"
    "xadd_d32|pipeline --cmd xadd --conns 50 --depth 32 $P"
    # A keyspace past the caches (1,000,000 keys): where bucket misses rule.
    "get_d32_1m|pipeline --cmd get --conns 50 --depth 32 --keyspace 1000000 $P"
    "pubsub_1to1|pubsub --subs 1 --channels 1 --pubs 1 $P"
    "pubsub_1to100|pubsub --subs 100 --channels 1 --pubs 1 $P"
    "psub_50|pubsub --subs 50 --channels 1 --pubs 1 --pattern $P"
    "pubsub_4x4x25|pubsub --subs 100 --channels 4 --pubs 4 $P"
    "pubsub_10k_noise|pubsub --subs 1 --channels 1 --pubs 1 --noise-patterns 10000 $P"
    "queue_4x4|queue --producers 4 --consumers 4 $P"
    "queue_1x16|queue --producers 1 --consumers 16 $P"
    "memory_1m|memory --elements 1000000"
    # Durability: every write in the append-only file (fresh directory per run).
    "set_d1_aof_everysec|pipeline --cmd set --conns 50 --depth 1 $P|--appendonly yes --appendfsync everysec"
    "set_d32_aof_everysec|pipeline --cmd set --conns 50 --depth 32 $P|--appendonly yes --appendfsync everysec"
    "set_d1_aof_always|pipeline --cmd set --conns 50 --depth 1 $P|--appendonly yes --appendfsync always"
    "set_d32_aof_always|pipeline --cmd set --conns 50 --depth 32 $P|--appendonly yes --appendfsync always"
)

T0=$(date +%s)
if [[ -z $ONLY ]]; then
for round in $(seq "$ROUNDS"); do
    for w in "${WORKLOADS[@]}"; do
        name=${w%%|*}
        rest=${w#*|}
        [[ -z $FILTER || $name =~ $FILTER ]] || continue
        read -r -a args <<< "${rest%%|*}"
        if [[ $rest == *"|"* ]]; then
            read -r -a extra <<< "${rest#*|}"
            set_server_extra "${extra[@]}"
        else
            set_server_extra
        fi
        run_one cinnabar "$name" "$round" "" "${args[@]}"
        run_one redis "$name" "$round" "" "${args[@]}"
        # Like for like with Redis's one thread: the load generator has the
        # other CPU to itself instead of sharing it with a second worker.
        [[ $name == memory_1m ]] || run_one cinnabar "$name" "$round" 1 "${args[@]}"
    done
    set_server_extra
    rm -rf "$OUT/aof-dir"
    # worker-thread scaling for SET depth 32
    for t in 1 2; do
        read -r -a args <<< "pipeline --cmd set --conns 50 --depth 32 $P"
        run_one cinnabar "scale_set_d32" "$round" "$t" "${args[@]}"
    done
done
run_one cinnabar stream 1 "" stream --seconds 1
run_one redis stream 1 "" stream --seconds 1
fi

# Sweep: throughput and latency against connection / subscriber count, for plots.
# Each point runs Cinnabar then Redis; all points, then the next round.
TS0=$(date +%s)
if [[ $SWEEP == 1 && $ONLY != report ]]; then
    echo "== sweep (ROUNDS=$ROUNDS, SWEEP_SECS=$SWEEP_SECS)" >&2
    for round in $(seq "$ROUNDS"); do
        for n in $SWEEP_CONNS; do
            read -r -a args <<< "pipeline --cmd set --conns $n --depth 1 --seconds $SWEEP_SECS"
            run_one cinnabar "sweep_set_c$n" "$round" "" "${args[@]}"
            run_one redis "sweep_set_c$n" "$round" "" "${args[@]}"
        done
        for n in $SWEEP_SUBS; do
            read -r -a args <<< "pubsub --subs $n --channels 1 --pubs 1 --seconds $SWEEP_SECS"
            run_one cinnabar "sweep_pubsub_s$n" "$round" "" "${args[@]}"
            run_one redis "sweep_pubsub_s$n" "$round" "" "${args[@]}"
        done
    done
fi
T1=$(date +%s)

MACHINE_NPROC=$(nproc)
MACHINE_CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
REDIS_VERSION=$("$REDIS" --version)
GIT_REV=${GIT_REV:-$(git rev-parse --short HEAD)}
ELAPSED=${ELAPSED:-$((T1 - T0))}
export RAW ROUNDS SECS MACHINE_NPROC MACHINE_CPU REDIS_VERSION GIT_REV CPORT RPORT REDIS ELAPSED
if [[ $ONLY != sweep ]]; then
# Sections of RESULTS.md this script does not write (other benches' results,
# A/B tables) are carried over from the current file.
cp benches/RESULTS.md "$OUT/RESULTS.prev.md" 2> /dev/null || : > "$OUT/RESULTS.prev.md"
export PREV="$OUT/RESULTS.prev.md"
python3 - > benches/RESULTS.md <<'PY'
import json, os, statistics as st
rows = [json.loads(l) for l in open(os.environ["RAW"]) if l.strip()]
E = os.environ
def runs(srv, name, threads=""):
    return [r for r in rows if r["server"] == srv and r["name"] == name and r["io_threads"] == threads]
def med(rs, k):
    v = [r[k] for r in rs if k in r]
    return st.median(v) if v else None
def spread(rs, k):
    v = [r[k] for r in rs if k in r]
    return f"{min(v):,.0f}–{max(v):,.0f}" if v else "–"
def lcpu(x):  # loadgen CPU % of the measured phase (excludes prefill where the run reports it)
    return x.get("run_cpu_pct", x.get("loadgen_cpu_pct", 0))
def fmt(x, d=0):
    return "–" if x is None else f"{x:,.{d}f}"
def checks(rs):
    bad = []
    for r in rs:
        if r.get("rc", 0) != 0: bad.append(f"r{r['round']} rc={r['rc']}")
        for k in ("errors", "lost", "dups", "out_of_order", "missing"):
            if r.get(k): bad.append(f"r{r['round']} {k}={r[k]}")
        if r.get("error"): bad.append(r["error"][:80])
        if r.get("first_error"): bad.append(r["first_error"][:80])
    return "; ".join(sorted(set(bad))) or "ok"

names = []
for r in rows:
    if r["name"] not in names and not r["name"].startswith("sweep_"): names.append(r["name"])
P = print
P("# Cinnabar vs Redis: end-to-end benchmark results\n")
P(f"Generated by `benches/compare.sh` (ROUNDS={E['ROUNDS']}, SECS={E['SECS']}, {E['ELAPSED']} s wall). "
  f"Cinnabar at commit `{E['GIT_REV']}`; {E['REDIS_VERSION']}.\n")
P(f"**Machine:** {E['MACHINE_NPROC']} CPUs (nproc), `{E['MACHINE_CPU']}`. The load generator, the server under test "
  "and anything else running on the host share these cores, so absolute figures are low and noisy; the ratio is "
  "the figure to read. Each run starts a fresh server; runs alternate Cinnabar, Redis, Cinnabar, Redis …\n")
P("Throughput is the median over rounds; min–max is the spread over rounds. Ratio = Cinnabar median / Redis median "
  "(> 1: Cinnabar faster). Latencies are the median over rounds of each run's percentile, in µs, measured by "
  "the client from the write of a pipeline batch to the arrival of each reply (pipeline), or from the timestamp in "
  "the payload to delivery (pubsub, queue).\n")
P("## Throughput\n")
P("| workload | Cinnabar ops/s | min–max | Redis ops/s | min–max | ratio C/R | p50 µs C / R | p99 µs C / R | p99.9 µs C / R | loadgen CPU % (max) C / R | checks C / R |")
P("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
for n in names:
    if n in ("memory_1m", "stream", "scale_set_d32"): continue
    c, r = runs("cinnabar", n), runs("redis", n)
    mc, mr = med(c, "ops_per_sec"), med(r, "ops_per_sec")
    ratio = f"{mc/mr:.2f}" if mc and mr else "–"
    lc = max([lcpu(x) for x in c] or [0]); lr = max([lcpu(x) for x in r] or [0])
    P(f"| {n} | {fmt(mc)} | {spread(c,'ops_per_sec')} | {fmt(mr)} | {spread(r,'ops_per_sec')} | **{ratio}** | "
      f"{fmt(med(c,'p50_us'))} / {fmt(med(r,'p50_us'))} | {fmt(med(c,'p99_us'))} / {fmt(med(r,'p99_us'))} | "
      f"{fmt(med(c,'p999_us'))} / {fmt(med(r,'p999_us'))} | {lc:.0f} / {lr:.0f} | {checks(c)} / {checks(r)} |")
P("\nNotes: `rpop_*` runs on a list prefilled with 4,000,000 elements; the `nils` field of the raw lines says how many RPOPs found it "
  "already empty (nil replies are cheaper, so a run that drained the list is flattered). "
  "pubsub/psub figures are messages *delivered* per second (fan-out included); every run checks that no message was lost or duplicated "
  "and that per-publisher order held. queue figures are jobs consumed per second end to end (LPUSH → BRPOP), with an exactly-once check; "
  "producers keep at most 100 jobs waiting, so queue latency includes up to that much queueing. "
  "`*_aof_*` rows run both servers with `appendonly yes` and that `appendfsync`, each in a fresh directory on "
  "the same disk: a write's reply leaves only once the write is in the file (and fsynced, for `always`).\n")
P("Median `nils` per rpop run (C / R): " + ", ".join(
    f"{n}: {fmt(med(runs('cinnabar', n),'nils'))} / {fmt(med(runs('redis', n),'nils'))}" for n in names if n.startswith("rpop")) + "\n")

def cpu_us(rs):  # server CPU µs per op
    # Measured by the loadgen over its measured window when it could
    # (pipeline, pubsub: user + kernel); else CPU over the whole loadgen run
    # / (ops/s × measured seconds).
    v = [x["server_user_us_per_op"] + x["server_sys_us_per_op"] for x in rs
         if x.get("server_user_us_per_op") is not None]
    if not v:
        v = [x["server_cpu_s"] * 1e6 / (x["ops_per_sec"] * float(E["SECS"])) for x in rs
             if x.get("server_cpu_s") and x.get("ops_per_sec")]
    return st.median(v) if v else None

def cpu_split(rs):  # (user, kernel) server µs per op, medians over rounds
    u = [x["server_user_us_per_op"] for x in rs if x.get("server_user_us_per_op") is not None]
    k = [x["server_sys_us_per_op"] for x in rs if x.get("server_sys_us_per_op") is not None]
    return (st.median(u), st.median(k)) if u and k else (None, None)
P("## One worker thread: like for like with Redis on this host\n")
P("Redis runs its commands on one thread and the load generator takes the other CPU. Cinnabar's default is one "
  "worker per CPU but one: on this 2-CPU host that is one worker too, so the default runs of the table above and "
  "these explicit `--threads 1` runs are two samples of the same configuration (two workers next to the load "
  "generator make three busy threads on two CPUs: see the scaling section). The Redis figures are the same runs "
  "as in the table above. "
  "Server CPU is the server process's user+system time (/proc/PID/stat) over the load generator's measured "
  "window divided by its operations (pipeline and pub/sub rows: prefill and set-up excluded; pub/sub per "
  "delivered message); for the queue and AOF-less others, over the whole loadgen run. The figure to compare "
  "is the ratio on one row, which says how much CPU each server spends per operation.\n")
P("| workload | Cinnabar 1 worker ops/s | min–max | Redis ops/s | ratio C1/R | p99 µs C1 / R | p99.9 µs C1 / R | server CPU µs/op C1 / C / R | loadgen CPU % (max) C1 / R | checks C1 |")
P("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
for n in names:
    if n in ("memory_1m", "stream", "scale_set_d32"): continue
    c1, c, r = runs("cinnabar", n, "1"), runs("cinnabar", n), runs("redis", n)
    if not c1: continue
    m1, mr = med(c1, "ops_per_sec"), med(r, "ops_per_sec")
    ratio = f"{m1/mr:.2f}" if m1 and mr else "–"
    l1 = max([lcpu(x) for x in c1] or [0]); lr = max([lcpu(x) for x in r] or [0])
    P(f"| {n} | {fmt(m1)} | {spread(c1,'ops_per_sec')} | {fmt(mr)} | **{ratio}** | "
      f"{fmt(med(c1,'p99_us'))} / {fmt(med(r,'p99_us'))} | {fmt(med(c1,'p999_us'))} / {fmt(med(r,'p999_us'))} | "
      f"{fmt(cpu_us(c1),2)} / {fmt(cpu_us(c),2)} / {fmt(cpu_us(r),2)} | {l1:.0f} / {lr:.0f} | {checks(c1)} |")
P("")

P("## Issue 17's targets on this run\n")
P("Target 1: server CPU per operation at one worker ≤ 0.67× Redis's at depth 32 and on pub/sub fan-out, "
  "≤ 1.0× at depth 1. Target 2: at the defaults, throughput ≥ 1.0× Redis's and p99 no worse. "
  "CPU is split into user mode (the server's own code) and kernel (system calls: for these workloads "
  "almost all the loopback TCP path; both servers make the same calls, one read and one write per "
  "connection per batch). **Kernel floor** = Cinnabar's kernel µs/op ÷ Redis's total: the ratio "
  "Cinnabar would reach if its own code cost nothing. **User budget** = the user-mode µs/op the "
  "target leaves once Cinnabar's kernel time is paid, and that budget as a multiple of Redis's own "
  "user-mode time: below 1.0× the target asks for code leaner than Redis's, by that factor.\n")
P("| workload | C1 user / kernel µs/op | R user / kernel µs/op | CPU/op C1/R | target 1 | kernel floor | user C1/R | user budget µs/op (× R's) | throughput C/R | p99 C/R | target 2 |")
P("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---|")
FANOUT = ("pubsub_1to100", "psub_50", "pubsub_4x4x25")
for n in names:
    if not (n.endswith("_d1") or "_d32" in n or n in FANOUT) or "aof" in n: continue
    c1, c, r = runs("cinnabar", n, "1"), runs("cinnabar", n), runs("redis", n)
    (u1, k1), (ur, kr) = cpu_split(c1), cpu_split(r)
    if None in (u1, k1, ur, kr): continue
    goal = 1.0 if n.endswith("_d1") else 0.67
    ratio, floor = (u1 + k1) / (ur + kr), k1 / (ur + kr)
    budget = goal * (ur + kr) - k1
    budget_txt = f"{budget:.3f} ({budget/ur:.2f}×)" if budget > 0 else "none: kernel alone above"
    t1 = "met" if ratio <= goal else ("missed: kernel floor above target" if floor > goal else "missed")
    mc, mr = med(c, "ops_per_sec"), med(r, "ops_per_sec")
    pc, pr = med(c, "p99_us"), med(r, "p99_us")
    tp = mc / mr if mc and mr else None
    lat = pc / pr if pc and pr else None
    t2 = "met" if tp and lat and tp >= 1.0 and lat <= 1.0 else "missed"
    P(f"| {n} | {u1:.3f} / {k1:.3f} | {ur:.3f} / {kr:.3f} | **{ratio:.2f}** | ≤ {goal:.2f}: {t1} | {floor:.2f} | "
      f"{u1/ur:.2f} | {budget_txt} | {fmt(tp,2) if tp else '–'} | {fmt(lat,2) if lat else '–'} | {t2} |")
P("")

P("## Memory: 1,000,000 list elements of 16 bytes (RPUSH, 4 keys, batches of 1000)\n")
P("Delta of `INFO memory` against the same freshly started, empty server (FLUSHALL, 1 s settle, fill, 1 s settle).\n")
P("| metric | Cinnabar | min–max | Redis | min–max | ratio C/R |")
P("|---|---:|---:|---:|---:|---:|")
c, r = runs("cinnabar", "memory_1m"), runs("redis", "memory_1m")
for k, label in (("used_per_elem", "used_memory bytes / element"), ("rss_per_elem", "RSS bytes / element")):
    mc, mr = med(c, k), med(r, k)
    ratio = f"{mc/mr:.2f}" if mc and mr else "–"
    P(f"| {label} | {fmt(mc,1)} | {spread(c,k)} | {fmt(mr,1)} | {spread(r,k)} | **{ratio}** |")
P(f"\nChecks (LLEN total = 1,000,000): Cinnabar {checks(c)}, Redis {checks(r)}. "
  "Cinnabar's `used_memory` is its own allocator count (`mem_allocator:libc`); Redis's is jemalloc's. "
  "RSS deltas are coarse: an allocator that reuses memory freed during startup, or one that does not return pages, moves them.\n")

P("## Worker-thread scaling: SET, 50 connections, depth 32 (Cinnabar `--threads N`)\n")
P("| `--threads` | tokio worker threads observed | Cinnabar ops/s (median) | min–max | p99 µs | vs Redis (single-threaded) |")
P("|---|---:|---:|---:|---:|---:|")
mr = med(runs("redis", "set_d32"), "ops_per_sec")
for t in ("1", "2"):
    rs = runs("cinnabar", "scale_set_d32", t)
    m = med(rs, "ops_per_sec")
    workers = sorted({x.get("tokio_workers") for x in rs})
    P(f"| {t} | {', '.join(map(str, workers))} | {fmt(m)} | {spread(rs,'ops_per_sec')} | {fmt(med(rs,'p99_us'))} | {f'{m/mr:.2f}' if m and mr else '–'} |")
rs = runs("cinnabar", "set_d32")
m = med(rs, "ops_per_sec")
workers = ", ".join(map(str, sorted({x.get("tokio_workers") for x in rs})))
P(f"| (default) | {workers} | {fmt(m)} | {spread(rs,'ops_per_sec')} | {fmt(med(rs,'p99_us'))} | {f'{m/mr:.2f}' if m and mr else '–'} |")
P("\nThe 'tokio worker threads observed' column counts `tokio-rt-worker` threads in /proc/PID/task after start-up. "
  "`--threads N` sets Cinnabar's worker count (default: one per CPU but one, at least one). "
  "On a 2-CPU host the load generator needs one of the two CPUs, so scaling above 1 worker cannot show much here.\n")

P("## Streams\n")
for srv in ("cinnabar", "redis"):
    for x in runs(srv, "stream"):
        if x.get("error"):
            P(f"- {srv}: {x['error']} (loadgen exit {x['rc']})")
        else:
            P(f"- {srv}: XADD MAXLEN ~ 10000, 50 connections depth 1, 1 s: {fmt(x.get('ops_per_sec'))} ops/s, p99 {x.get('p99_us')} µs")
P("")

P("## Is the load generator the bottleneck?\n")
P("Every loadgen run prints its own CPU time (`getrusage(RUSAGE_SELF)`, user+system, all threads) as "
  "`loadgen_cpu_ms`/`loadgen_cpu_pct` for the whole process and `run_cpu_pct` for the measured phase only "
  "(excluding GET/RPOP prefill); the tables use `run_cpu_pct` (CPU time / wall time; the loadgen runs a single-threaded tokio runtime, so 100 % "
  "means it was saturated). The throughput table shows the maximum over rounds for each server.\n")
sat = []
for n in names:
    for srv in ("cinnabar", "redis"):
        v = [lcpu(x) for t in ("", "1", "2") for x in runs(srv, n, t)]
        if v and max(v) >= 85: sat.append(f"{n} ({srv}, {max(v):.0f} %)")
if sat:
    P("Runs where the loadgen used ≥ 85 % of its one core, and so may itself have limited the figure: " + ", ".join(sat) + ". "
      "For those rows the figure is a lower bound for that server, and the ratio is only indicative.\n")
else:
    P("No run used 85 % or more of the loadgen's core, so the loadgen was not the limiting factor.\n")
P("Where the loadgen stays well below 100 %, the server (or the shared 2-CPU machine) is the limit, not the client.\n")

GENERATED = ("Throughput", "One worker thread", "Issue 17's targets", "Memory:", "Worker-thread scaling",
             "Streams", "Is the load generator", "Plots", "Reproduce")
prev = open(E["PREV"]).read().split("\n## ")[1:]
for section in prev:
    if not section.startswith(GENERATED):
        P("## " + section.rstrip("\n") + "\n")

P("## Reproduce\n")
P("```sh")
P("cargo build --release")
P("cargo bench --no-run --bench loadgen")
P(f"ROUNDS={E['ROUNDS']} SECS={E['SECS']} benches/compare.sh        # this whole report")
P("```\n")
P("Servers, one fresh process per run:\n")
P("```sh")
P(f"$CARGO_TARGET_DIR/release/cinnabar --port {E['CPORT']} --bind 127.0.0.1 --save \"\" [--threads N]")
P(f"{E['REDIS']} --port {E['RPORT']} --bind 127.0.0.1 --save '' --appendonly no")
P("```\n")
P("Load generator command per workload (append `--port PORT`):\n")
P("```sh")
seen = set()
for x in rows:
    if x["name"].startswith("sweep_"): continue  # listed in the Plots section
    key = (x["name"], x["io_threads"])
    if key in seen: continue
    seen.add(key)
    P(f"cargo bench --bench loadgen -- {x['args']}   # {x['name']}" + (f" (io-threads {x['io_threads']})" if x["io_threads"] else ""))
P("```\n")
P("Raw per-run JSON lines: `benches/results/raw.jsonl`. Plots: see the Plots section (`python3 benches/plot.py` redraws them from the raw lines).")
PY
echo "== wrote benches/RESULTS.md" >&2
fi

# SVG plots and RESULTS.md's Plots section (spliced in, so ONLY=sweep keeps the rest)
if [[ $SWEEP == 1 ]]; then
    SWEEP_ELAPSED=$((T1 - TS0)) python3 benches/plot.py --raw "$RAW" --results benches/RESULTS.md --outdir benches/plots >&2
fi
