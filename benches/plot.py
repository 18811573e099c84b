#!/usr/bin/env python3
"""SVG plots of the compare.sh sweep, from benches/results/raw.jsonl (standard library only).

    python3 benches/plot.py                       # defaults below
    python3 benches/plot.py --raw R --results benches/RESULTS.md --outdir benches/plots

Reads the `sweep_set_c<N>` and `sweep_pubsub_s<N>` lines that compare.sh writes, takes the
median over rounds of each point, and writes four SVGs (throughput and p99 latency against
connection count / subscriber count, Cinnabar and Redis on the same axes; the whiskers are the
min-max over rounds). With --results it also writes a "## Plots" section (the sweep table and
the image links) into that Markdown file, replacing an existing one. Nothing is measured here,
so it can be re-run at will.
"""
import argparse
import json
import math
import os
import statistics as st
import sys

SERVERS = (  # key, label, colour, marker
    ("cinnabar", "Cinnabar", "#c0392b", "circle"),
    ("redis", "Redis", "#1f5f99", "square"),
)
SWEEPS = (  # name prefix, x field, x label, plot stem, title noun
    ("sweep_set_c", "conns", "connections", "set", "SET, depth 1"),
    ("sweep_pubsub_s", "subs", "subscribers", "pubsub", "PUBLISH, 1 publisher, 1 channel"),
)
W, H = 720, 440
ML, MR, MT, MB = 90, 150, 56, 64  # plot margins (legend sits in the right margin)


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                print(f"plot.py: skipping bad line in {path}: {e}", file=sys.stderr)
    return [r for r in rows if r.get("name", "").startswith("sweep_")]


def points(rows, prefix, xfield, srv, key):
    """{x: [values over rounds]} for one server and metric."""
    out = {}
    for r in rows:
        if r["server"] != srv or not r["name"].startswith(prefix) or key not in r:
            continue
        x = r.get(xfield)
        if x is None:  # run failed before printing its parameters: take x from the name
            try:
                x = int(r["name"][len(prefix):])
            except ValueError:
                continue
        out.setdefault(int(x), []).append(r[key])
    return out


# ------------------------------------------------------------------ axes helpers

def nice_step(span, target=5):
    raw = span / target
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * mag >= raw:
            return m * mag
    return 10 * mag


def linear_ticks(vmax):
    if vmax <= 0:
        vmax = 1
    step = nice_step(vmax)
    top = math.ceil(vmax * 1.05 / step) * step
    n = int(round(top / step))
    return 0.0, top, [i * step for i in range(n + 1)]


def log_ticks(vmin, vmax):
    """1-2-5 ticks from the largest one <= vmin to the smallest one >= vmax."""
    seq = []
    for e in range(math.floor(math.log10(vmin)) - 1, math.ceil(math.log10(vmax)) + 2):
        seq += [m * 10 ** e for m in (1, 2, 5)]
    lo = max(t for t in seq if t <= vmin)
    hi = min(t for t in seq if t >= vmax * 1.0001)
    ticks = [t for t in seq if lo <= t <= hi]
    return lo, hi, ticks


def si(v):
    if v >= 1e6:
        s = f"{v / 1e6:.2f}".rstrip("0").rstrip(".")
        return s + "M"
    if v >= 1e3:
        s = f"{v / 1e3:.1f}".rstrip("0").rstrip(".")
        return s + "k"
    return f"{v:g}"


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def marker(shape, x, y, colour, r=4.5):
    if shape == "circle":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{colour}" stroke="white" stroke-width="1"/>'
    return (f'<rect x="{x - r:.1f}" y="{y - r:.1f}" width="{2 * r}" height="{2 * r}" '
            f'fill="{colour}" stroke="white" stroke-width="1"/>')


def svg_plot(path, title, subtitle, xlabel, ylabel, series, ylog=False):
    """series: [(label, colour, shape, {x: [values]})]; x on a log axis."""
    xs = sorted({x for *_, d in series for x in d})
    vals = [v for *_, d in series for vs in d.values() for v in vs if v is not None]
    if not xs or not vals:
        return False
    pw, ph = W - ML - MR, H - MT - MB
    # x: log10, padded by a quarter decade each side
    lx0, lx1 = math.log10(min(xs)), math.log10(max(xs))
    if lx1 == lx0:
        lx1 = lx0 + 1
    pad = (lx1 - lx0) * 0.06
    lx0, lx1 = lx0 - pad, lx1 + pad
    X = lambda x: ML + (math.log10(x) - lx0) / (lx1 - lx0) * pw
    if ylog:
        y0, y1, yt = log_ticks(max(min(v for v in vals if v > 0), 1e-9), max(vals))
        Y = lambda v: MT + ph - (math.log10(max(v, y0)) - math.log10(y0)) / (math.log10(y1) - math.log10(y0)) * ph
    else:
        y0, y1, yt = linear_ticks(max(vals))
        Y = lambda v: MT + ph - (v - y0) / (y1 - y0) * ph

    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
         'font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">',
         f'<rect width="{W}" height="{H}" fill="white"/>',
         f'<text x="{ML + pw / 2:.1f}" y="22" text-anchor="middle" font-size="15" font-weight="bold">{esc(title)}</text>',
         f'<text x="{ML + pw / 2:.1f}" y="40" text-anchor="middle" font-size="11" fill="#555">{esc(subtitle)}</text>']
    # grid and y ticks
    for t in yt:
        y = Y(t)
        o.append(f'<line x1="{ML}" y1="{y:.1f}" x2="{ML + pw}" y2="{y:.1f}" stroke="#e3e3e3" stroke-width="1"/>')
        o.append(f'<line x1="{ML - 5}" y1="{y:.1f}" x2="{ML}" y2="{y:.1f}" stroke="#333"/>')
        o.append(f'<text x="{ML - 8}" y="{y + 4:.1f}" text-anchor="end">{si(t)}</text>')
    # x ticks at the measured points
    for x in xs:
        px = X(x)
        o.append(f'<line x1="{px:.1f}" y1="{MT}" x2="{px:.1f}" y2="{MT + ph}" stroke="#efefef" stroke-width="1"/>')
        o.append(f'<line x1="{px:.1f}" y1="{MT + ph}" x2="{px:.1f}" y2="{MT + ph + 5}" stroke="#333"/>')
        o.append(f'<text x="{px:.1f}" y="{MT + ph + 19}" text-anchor="middle">{x:g}</text>')
    # axes
    o.append(f'<line x1="{ML}" y1="{MT}" x2="{ML}" y2="{MT + ph}" stroke="#333" stroke-width="1.2"/>')
    o.append(f'<line x1="{ML}" y1="{MT + ph}" x2="{ML + pw}" y2="{MT + ph}" stroke="#333" stroke-width="1.2"/>')
    o.append(f'<text x="{ML + pw / 2:.1f}" y="{H - 18}" text-anchor="middle">{esc(xlabel)} (log scale)</text>')
    o.append(f'<text transform="translate(22,{MT + ph / 2:.1f}) rotate(-90)" text-anchor="middle">'
             f'{esc(ylabel)}{" (log scale)" if ylog else ""}</text>')
    # series: min-max whiskers, median polyline, markers
    for si_, (label, colour, shape, d) in enumerate(series):
        pts = [(x, st.median(d[x]), min(d[x]), max(d[x])) for x in sorted(d)]
        off = (si_ - (len(series) - 1) / 2) * 6  # whiskers side by side, not on top of each other
        for x, m, lo, hi in pts:
            if hi > lo:
                px = X(x) + off
                o.append(f'<line x1="{px:.1f}" y1="{Y(lo):.1f}" x2="{px:.1f}" y2="{Y(hi):.1f}" '
                         f'stroke="{colour}" stroke-width="1" opacity="0.6"/>')
                for v in (lo, hi):
                    o.append(f'<line x1="{px - 4:.1f}" y1="{Y(v):.1f}" x2="{px + 4:.1f}" y2="{Y(v):.1f}" '
                             f'stroke="{colour}" stroke-width="1" opacity="0.6"/>')
        poly = " ".join(f"{X(x):.1f},{Y(m):.1f}" for x, m, _, _ in pts)
        o.append(f'<polyline points="{poly}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for x, m, _, _ in pts:
            o.append(f'<g><title>{esc(label)}, {x:g} {esc(xlabel)}: {m:,.0f}</title>{marker(shape, X(x), Y(m), colour)}</g>')
    # legend
    lx, ly = ML + pw + 18, MT + 10
    o.append(f'<rect x="{lx - 8}" y="{ly - 14}" width="{MR - 22}" height="{22 * len(series) + 44}" '
             'fill="white" stroke="#ccc"/>')
    for i, (label, colour, shape, _) in enumerate(series):
        y = ly + 22 * i
        o.append(f'<line x1="{lx}" y1="{y:.1f}" x2="{lx + 28}" y2="{y:.1f}" stroke="{colour}" stroke-width="2"/>')
        o.append(marker(shape, lx + 14, y, colour))
        o.append(f'<text x="{lx + 36}" y="{y + 4:.1f}">{esc(label)}</text>')
    o.append(f'<text x="{lx}" y="{ly + 22 * len(series) + 6:.1f}" font-size="10" fill="#555">median;</text>')
    o.append(f'<text x="{lx}" y="{ly + 22 * len(series) + 18:.1f}" font-size="10" fill="#555">bars: min–max</text>')
    o.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(o) + "\n")
    return True


# ------------------------------------------------------------------ Markdown section

def fmt(x, d=0):
    return "–" if x is None else f"{x:,.{d}f}"


def checks(rs):
    bad = []
    for r in rs:
        if r.get("rc", 0) != 0:
            bad.append(f"r{r['round']} rc={r['rc']}")
        for k in ("errors", "lost", "dups", "out_of_order", "missing"):
            if r.get(k):
                bad.append(f"r{r['round']} {k}={r[k]}")
        if r.get("error"):
            bad.append(r["error"][:80])
        if r.get("first_error"):
            bad.append(r["first_error"][:80])
    return "; ".join(sorted(set(bad))) or "ok"


def section(rows, made, outdir_rel):
    E = os.environ
    rounds = max((r["round"] for r in rows), default=0)
    secs = sorted({r["seconds"] for r in rows if "seconds" in r})
    P = []
    P.append("## Plots\n")
    head = (f"Sweep: SET at depth 1 against connection count, and one publisher fanning out to N subscribers "
            f"of one channel; both servers alternate per point (Cinnabar, Redis), {rounds} round(s), "
            f"{', '.join(f'{s:g}' for s in secs)} s per run")
    if E.get("SWEEP_ELAPSED"):
        head += f", {E['SWEEP_ELAPSED']} s wall"
    if E.get("GIT_REV"):
        head += f"; Cinnabar at `{E['GIT_REV']}`"
    if E.get("REDIS_VERSION"):
        head += f"; {E['REDIS_VERSION']}"
    P.append(head + ". Points are medians over rounds; the plots' whiskers are the min–max over rounds. "
             "x axes are logarithmic. Pub/sub throughput is messages *delivered* per second (fan-out included), "
             "its latency is publish-to-delivery; SET latency is request to reply. The host is shared, so a long whisker "
             "usually marks one round disturbed by other load; the median is the figure to read.\n")
    for stem, alt in made:
        P.append(f"![{alt}]({outdir_rel}/{stem}.svg)\n")
    P.append("| workload | N | Cinnabar ops/s | min–max | Redis ops/s | min–max | ratio C/R | p50 µs C / R | p99 µs C / R "
             "| loadgen CPU % (max) C / R | checks C / R |")
    P.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for prefix, xf, xlabel, stem, _ in SWEEPS:
        xs = sorted({int(r.get(xf) or r["name"][len(prefix):]) for r in rows if r["name"].startswith(prefix)})
        for x in xs:
            rs = {s: [r for r in rows if r["server"] == s and r["name"] == f"{prefix}{x}"] for s, *_ in SERVERS}

            def med(s, k):
                v = [r[k] for r in rs[s] if k in r]
                return st.median(v) if v else None

            def spread(s, k):
                v = [r[k] for r in rs[s] if k in r]
                return f"{min(v):,.0f}–{max(v):,.0f}" if v else "–"

            def lcpu(s):
                v = [r.get("run_cpu_pct", r.get("loadgen_cpu_pct")) for r in rs[s]]
                v = [x for x in v if x is not None]
                return f"{max(v):.0f}" if v else "–"
            mc, mr = med("cinnabar", "ops_per_sec"), med("redis", "ops_per_sec")
            ratio = f"{mc / mr:.2f}" if mc and mr else "–"
            wl = "SET depth 1, N connections" if stem == "set" else "pubsub 1 publisher → N subscribers"
            P.append(f"| {wl} | {x} | {fmt(mc)} | {spread('cinnabar', 'ops_per_sec')} | {fmt(mr)} | "
                     f"{spread('redis', 'ops_per_sec')} | **{ratio}** | "
                     f"{fmt(med('cinnabar', 'p50_us'))} / {fmt(med('redis', 'p50_us'))} | "
                     f"{fmt(med('cinnabar', 'p99_us'))} / {fmt(med('redis', 'p99_us'))} | "
                     f"{lcpu('cinnabar')} / {lcpu('redis')} | {checks(rs['cinnabar'])} / {checks(rs['redis'])} |")
    P.append("")
    sat = sorted({f"{r['name'][6:]} ({r['server']}, {r.get('run_cpu_pct', r.get('loadgen_cpu_pct', 0)):.0f} %)"
                  for r in rows if r.get("run_cpu_pct", r.get("loadgen_cpu_pct", 0)) >= 85})
    P.append("The load generator runs on one thread; where its CPU column nears 100 % it, not the server, may have "
             "set the figure. " + ("Sweep runs at ≥ 85 %: " + ", ".join(sat) + "." if sat
                                   else "No sweep run reached 85 %.") + "\n")
    P.append("Sweep only, then redraw (no measuring) from the raw lines:\n")
    P.append("```sh")
    P.append(f"ONLY=sweep ROUNDS={rounds} SECS={secs[0] if secs else 3:g} benches/compare.sh")
    P.append("python3 benches/plot.py")
    seen = []
    for r in rows:
        if r["args"] not in seen:
            seen.append(r["args"])
    for a in seen:
        P.append(f"cargo bench --bench loadgen -- {a} --port PORT")
    P.append("```\n")
    return "\n".join(P)


def splice(md_path, text):
    try:
        lines = open(md_path).read().split("\n")
    except FileNotFoundError:
        lines = []
    start = next((i for i, l in enumerate(lines) if l.strip() == "## Plots"), None)
    if start is not None:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        lines[start:end] = text.split("\n")
    else:
        at = next((i for i, l in enumerate(lines) if l.strip() == "## Reproduce"), len(lines))
        lines[at:at] = text.split("\n")
    text = "\n".join(lines)
    # a report written before plots existed says so in its last line
    text = text.replace("No SVG plots are generated.", "Plots: see the Plots section (`python3 benches/plot.py` redraws them).")
    with open(md_path, "w") as f:
        f.write(text)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--raw", default=os.path.join(here, "results", "raw.jsonl"))
    ap.add_argument("--outdir", default=os.path.join(here, "plots"))
    ap.add_argument("--results", default=os.path.join(here, "RESULTS.md"),
                    help="Markdown file whose '## Plots' section is (re)written; '' to skip")
    a = ap.parse_args()
    rows = load(a.raw)
    if not rows:
        print(f"plot.py: no sweep_* lines in {a.raw} (run compare.sh with SWEEP=1); nothing drawn", file=sys.stderr)
        return 1
    os.makedirs(a.outdir, exist_ok=True)
    made = []
    for prefix, xf, xlabel, stem, what in SWEEPS:
        for key, ylabel, kind, ylog in (("ops_per_sec", "ops/s" if stem == "set" else "messages delivered / s",
                                         "throughput", False),
                                        ("p99_us", "p99 latency (µs)", "p99", True)):
            series = [(label, colour, shape, points(rows, prefix, xf, s, key)) for s, label, colour, shape in SERVERS]
            name = f"{stem}_{kind}_vs_{'conns' if xf == 'conns' else 'subs'}"
            title = f"{what}: {'throughput' if kind == 'throughput' else 'p99 latency'} vs {xlabel}"
            rounds = max(r["round"] for r in rows)
            sub = f"Cinnabar vs Redis, 127.0.0.1, median of {rounds} round(s) per point"
            if svg_plot(os.path.join(a.outdir, name + ".svg"), title, sub, f"{xlabel}", ylabel, series, ylog):
                made.append((name, title))
                print(f"plot.py: wrote {os.path.join(a.outdir, name + '.svg')}", file=sys.stderr)
    if a.results:
        rel = os.path.relpath(a.outdir, os.path.dirname(os.path.abspath(a.results)))
        splice(a.results, section(rows, made, rel))
        print(f"plot.py: wrote the Plots section of {a.results}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
