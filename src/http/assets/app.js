// Cinnabar dashboard: polls /api/overview once a second and redraws.
// No framework and nothing loaded from elsewhere: the binary serves it all.
"use strict";

const POLL_MS = 1000;
const HISTORY = 120; // points kept per chart (two minutes)
const series = { ops: [], avg: [], p99: [], used: [], rss: [], clients: [], blocked: [] };
let previous = null; // the last snapshot, for per-interval latency

const $ = (id) => document.getElementById(id);

function push(name, value) {
  const s = series[name];
  s.push(value);
  if (s.length > HISTORY) s.shift();
}

function fmtInt(n) {
  return Number(n).toLocaleString("en-US");
}

function fmtBytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
}

function fmtMs(ms) {
  if (ms === null || ms === undefined) return "–";
  if (ms < 1000) return ms + " ms";
  if (ms < 60000) return (ms / 1000).toFixed(1) + " s";
  return (ms / 60000).toFixed(1) + " min";
}

function fmtUs(us) {
  if (us === null) return "–";
  return us < 1000 ? us.toFixed(0) + " µs" : (us / 1000).toFixed(2) + " ms";
}

// The latency of the calls made since the previous poll: average from the
// time spent, p99 from the power-of-two histogram (a bucket's upper bound).
function intervalLatency(cur, prev) {
  if (!prev) return { avg: null, p99: null };
  const calls = cur.calls - prev.calls;
  if (calls <= 0) return { avg: 0, p99: 0 };
  const avg = (cur.usec - prev.usec) / calls;
  const delta = cur.buckets.map((b, i) => b - (prev.buckets[i] || 0));
  const total = delta.reduce((a, b) => a + b, 0);
  let p99 = 0;
  if (total > 0) {
    const want = Math.ceil(total * 0.99);
    let seen = 0;
    for (let i = 0; i < delta.length; i++) {
      seen += delta[i];
      if (seen >= want) { p99 = Math.pow(2, i); break; }
    }
  }
  return { avg, p99 };
}

function drawChart(canvas, lines) {
  const ctx = canvas.getContext("2d");
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (canvas.width !== w * dpr || canvas.height !== h * dpr) {
    canvas.width = w * dpr;
    canvas.height = h * dpr;
  }
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const values = lines.flatMap((l) => l.data).filter((v) => v !== null);
  const max = Math.max(1, ...values) * 1.1;
  const left = 52, bottom = h - 16, top = 8, right = w - 8;
  ctx.strokeStyle = "#e2ddd8";
  ctx.fillStyle = "#6b6662";
  ctx.font = "11px system-ui, sans-serif";
  ctx.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const y = bottom - ((bottom - top) * i) / 4;
    ctx.beginPath(); ctx.moveTo(left, y); ctx.lineTo(right, y); ctx.stroke();
    const v = (max * i) / 4;
    ctx.fillText(v >= 1000 ? (v / 1000).toFixed(1) + "k" : v.toFixed(v < 10 ? 1 : 0), 4, y + 4);
  }
  for (const line of lines) {
    ctx.strokeStyle = line.color;
    ctx.lineWidth = 2;
    ctx.beginPath();
    let started = false;
    line.data.forEach((v, i) => {
      if (v === null) return;
      const x = left + ((right - left) * (i + HISTORY - line.data.length)) / (HISTORY - 1);
      const y = bottom - ((bottom - top) * v) / max;
      if (started) ctx.lineTo(x, y); else { ctx.moveTo(x, y); started = true; }
    });
    ctx.stroke();
  }
}

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function fillTable(id, rows, columns, empty) {
  const body = $(id).querySelector("tbody");
  const fresh = document.createDocumentFragment();
  if (rows.length === 0) {
    const tr = document.createElement("tr");
    const td = cell(empty, "empty");
    td.colSpan = columns;
    tr.appendChild(td);
    fresh.appendChild(tr);
  }
  for (const r of rows) fresh.appendChild(r);
  body.replaceChildren(fresh);
}

function row(cells, attrs) {
  const tr = document.createElement("tr");
  for (const [k, v] of Object.entries(attrs || {})) tr.setAttribute(k, v);
  for (const c of cells) tr.appendChild(c);
  return tr;
}

function render(d) {
  const lat = intervalLatency(d.latency, previous && previous.latency);
  previous = d;
  push("ops", d.stats.instantaneous_ops_per_sec);
  push("avg", lat.avg);
  push("p99", lat.p99);
  push("used", d.memory.used_memory / 1048576);
  push("rss", d.memory.used_memory_rss / 1048576);
  push("clients", d.clients.connected_clients);
  push("blocked", d.clients.blocked_clients);

  $("server-line").textContent = `v${d.server.version} (Redis ${d.server.redis_version} protocol) · ${d.server.role} · port ${d.server.port} · up ${fmtMs(d.server.uptime_seconds * 1000)}`;
  $("ops").textContent = fmtInt(d.stats.instantaneous_ops_per_sec);
  $("p99").textContent = fmtUs(lat.p99);
  $("memory").textContent = fmtBytes(d.memory.used_memory);
  $("memory-sub").textContent = "RSS " + fmtBytes(d.memory.used_memory_rss) + (d.memory.maxmemory ? " · max " + fmtBytes(d.memory.maxmemory) : "");
  $("clients").textContent = fmtInt(d.clients.connected_clients);
  $("clients-sub").textContent = fmtInt(d.clients.blocked_clients) + " blocked";
  $("keys").textContent = fmtInt(d.stats.keys);
  const lookups = d.stats.keyspace_hits + d.stats.keyspace_misses;
  $("hits-sub").textContent = lookups ? "hit rate " + ((100 * d.stats.keyspace_hits) / lookups).toFixed(1) + " %" : "no lookups yet";
  $("errors").textContent = fmtInt(d.stats.total_error_replies);
  $("pubsub-sub").textContent = fmtInt(d.stats.pubsub_messages_delivered) + " messages delivered · " + fmtInt(d.stats.pubsub_slow_subscribers_disconnected) + " slow subscribers dropped";

  drawChart($("chart-ops"), [{ data: series.ops, color: "#b3261e" }]);
  drawChart($("chart-latency"), [{ data: series.avg, color: "#b3261e" }, { data: series.p99, color: "#1f6feb" }]);
  drawChart($("chart-memory"), [{ data: series.used, color: "#b3261e" }, { data: series.rss, color: "#1f6feb" }]);
  drawChart($("chart-clients"), [{ data: series.clients, color: "#b3261e" }, { data: series.blocked, color: "#1f6feb" }]);

  fillTable("queues", d.queues.map((q) => row(
    [cell(q.key), cell("db" + q.db), cell(fmtInt(q.length), "num"), cell(fmtInt(q.blocked), "num")],
    { "data-key": q.key, "data-length": q.length, "data-blocked": q.blocked })), 4,
    d.metrics_keys ? "no list matches metrics-keys" : "set metrics-keys (e.g. CONFIG SET metrics-keys \"queue:*\") to list queues here");

  const streamRows = [];
  for (const s of d.streams) {
    streamRows.push(row([cell(s.key), cell(s.groups.length + " group(s)", "muted"), cell(fmtInt(s.length), "num"),
      cell(""), cell(""), cell(""), cell(""), cell(s.blocked ? s.blocked + " blocked" : "", "num")],
      { class: "stream-row", "data-key": s.key, "data-length": s.length }));
    for (const g of s.groups) {
      streamRows.push(row([cell(""), cell(g.name), cell(""),
        cell(g.lag === null ? "unknown" : fmtInt(g.lag), "num"), cell(fmtInt(g.pending), "num"),
        cell(fmtMs(g.oldest_pending_idle_ms), "num"),
        cell(fmtInt(g.over_delivered), g.over_delivered ? "num bad" : "num"), cell(fmtInt(g.consumers), "num")],
        { class: "group-row", "data-key": s.key, "data-group": g.name, "data-lag": g.lag === null ? "" : g.lag,
          "data-pending": g.pending, "data-consumers": g.consumers }));
    }
  }
  fillTable("streams", streamRows, 8, d.metrics_keys ? "no stream matches metrics-keys" : "set metrics-keys to list streams here");

  const named = (list, attr) => list.map((c) => row([cell(c.name), cell(fmtInt(c.subscribers), "num")],
    { [attr]: c.name, "data-subscribers": c.subscribers }));
  fillTable("channels", named(d.channels, "data-channel"), 2, "no channel has subscribers");
  fillTable("patterns", named(d.patterns, "data-pattern"), 2, "no pattern has subscribers");
  $("channels-total").textContent = d.channels_total > d.channels.length ? `(${d.channels.length} busiest of ${d.channels_total})` : "";
  $("patterns-total").textContent = d.patterns_total > d.patterns.length ? `(${d.patterns.length} busiest of ${d.patterns_total})` : "";
  $("truncated").hidden = !d.keys_truncated;
  document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
}

async function poll() {
  try {
    const r = await fetch("/api/overview", { cache: "no-store" });
    if (!r.ok) throw new Error("HTTP " + r.status);
    render(await r.json());
    $("status").className = "status ok";
    $("status").title = "live";
  } catch (e) {
    // A restart or a network blip: show it and keep polling.
    $("status").className = "status err";
    $("status").title = String(e);
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

poll();
