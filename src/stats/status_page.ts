/**
 * The live status page (`/stats?mode=html`): one self-contained HTML document, with npm `uplot`
 * (a small, well-kept time-series chart library) and its stylesheet inlined, so that it needs
 * nothing but the tracker, also in the compiled executable (the text imports are part of the
 * module graph). The page polls `/stats?mode=samples` (JSON: the figures of the moment, the
 * last hour of samples, the top torrents) every {@link SAMPLE_INTERVAL_SECONDS} and redraws.
 *
 * Pure: builds text.
 */

import uplotJs from "uplot/dist/uPlot.iife.min.js" with { type: "text" };
import uplotCss from "uplot/dist/uPlot.min.css" with { type: "text" };
import { MetricsSource } from "./metrics.ts";
import { SAMPLE_INTERVAL_SECONDS, SampleRing } from "./samples.ts";
import { Snapshot } from "./snapshot.ts";

/** Top torrents the page lists. */
export const STATUS_TOP_TORRENTS = 10;

/** The body of `/stats?mode=samples`. */
export function samplesJson(m: MetricsSource, ring: SampleRing, snap: Snapshot): string {
  return JSON.stringify({
    intervalSeconds: SAMPLE_INTERVAL_SECONDS,
    now: {
      torrents: m.torrents,
      peers: m.peers,
      seeders: m.seeds,
      leechers: m.peers - m.seeds,
      uptimeSeconds: m.uptimeSeconds,
      rssBytes: m.rssBytes,
      workers: m.workers,
      // WebTorrent clients: a swarm of their own (browsers reach only browsers).
      wsPeers: m.wsPeers,
      wsTorrents: m.wsTorrents,
      wsConnections: m.wsConnections,
    },
    samples: ring.columns(),
    top: snap.topPeers.slice(0, STATUS_TOP_TORRENTS).map((e) => ({ hash: e.hex, peers: e.count })),
  });
}

/** The page's own script: fetch, fill the figures, draw the charts. */
const SCRIPT = String.raw`
"use strict";
const charts = [
  { id: "requests", title: "Requests per second", series: [
    ["udp_connect", "UDP connect"], ["udp_announce", "UDP announce"], ["udp_scrape", "UDP scrape"],
    ["http_announce", "HTTP announce"], ["http_scrape", "HTTP scrape"], ["http_other", "HTTP other"]] },
  { id: "swarm", title: "Peers", series: [["peers", "peers"], ["seeders", "seeders"], ["leechers", "leechers"]] },
  { id: "torrents", title: "Torrents", series: [["torrents", "torrents"]] },
  { id: "refused", title: "Refused peers per second", series: [["refused_peers", "refused"]] },
  { id: "memory", title: "Memory (MiB)", scale: 1 / 1048576, series: [["rss_bytes", "resident"], ["heap_bytes", "V8 heap"]] },
  { id: "lag", title: "Event-loop lag (ms)", scale: 1000, series: [["lag_seconds", "lag"]] },
];
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"];
const plots = new Map();
const fmt = (n) => Math.round(n).toLocaleString("en");
function text(id, value) { document.getElementById(id).textContent = value; }
function draw(samples) {
  const width = Math.max(320, Math.min(560, document.body.clientWidth - 32));
  for (const c of charts) {
    const data = [samples.time, ...c.series.map(([k]) => samples[k].map((v) => v * (c.scale ?? 1)))];
    let plot = plots.get(c.id);
    if (plot === undefined) {
      plot = new uPlot({
        title: c.title, width, height: 200,
        // Always the last hour up to the newest sample, which stays in view. From the data:
        // uPlot widens a single sample's range by 1000 days before asking.
        scales: { x: { time: true, range: (u) => {
          const last = u.data[0][u.data[0].length - 1] ?? Date.now() / 1000;
          return [last - 3600, last + 60];
        } } },
        series: [{}, ...c.series.map(([, label], i) => ({ label, stroke: COLORS[i], width: 1.5, points: { show: true, size: 4 } }))],
        axes: [{}, { size: 60 }],
      }, data, document.getElementById("chart-" + c.id));
      plots.set(c.id, plot);
    } else plot.setData(data);
  }
  document.body.dataset.drawn = String(Number(document.body.dataset.drawn ?? 0) + 1);
}
async function refresh() {
  try {
    const res = await fetch("?mode=samples", { cache: "no-store" });
    if (!res.ok) throw new Error("HTTP " + res.status);
    const d = await res.json();
    text("torrents", fmt(d.now.torrents));
    text("peers", fmt(d.now.peers));
    text("seeders", fmt(d.now.seeders));
    text("leechers", fmt(d.now.leechers));
    text("rss", fmt(d.now.rssBytes / 1048576) + " MiB");
    text("uptime", fmt(d.now.uptimeSeconds / 60) + " min");
    text("workers", fmt(d.now.workers));
    text("ws_peers", fmt(d.now.wsPeers));
    text("ws_torrents", fmt(d.now.wsTorrents));
    text("ws_connections", fmt(d.now.wsConnections));
    const rows = d.top.map((t) => "<tr><td><code>" + t.hash + "</code></td><td>" + fmt(t.peers) + "</td></tr>");
    document.getElementById("top").innerHTML = rows.join("") || "<tr><td colspan=2>no torrents</td></tr>";
    draw(d.samples);
    text("status", "updated " + new Date().toLocaleTimeString("en-GB"));
  } catch (e) {
    text("status", "cannot reach the tracker: " + e.message);
  }
}
refresh();
setInterval(refresh, INTERVAL_MS);
`;

let page: Uint8Array | null = null;

/** The page (built once). */
export function statusPage(): Uint8Array {
  if (page !== null) return page;
  const figures = [
    ["torrents", "torrents"],
    ["peers", "peers"],
    ["seeders", "seeders"],
    ["leechers", "leechers"],
    ["rss", "resident memory"],
    ["uptime", "uptime"],
    ["workers", "workers"],
    ["ws_peers", "WebTorrent peers"],
    ["ws_torrents", "WebTorrent torrents"],
    ["ws_connections", "WebSocket connections"],
  ].map(([id, label]) => `<div class="fig"><span id="${id}">–</span><small>${label}</small></div>`)
    .join("");
  const charts = ["requests", "swarm", "torrents", "refused", "memory", "lag"]
    .map((id) => `<div class="chart" id="chart-${id}"></div>`).join("");
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>opentracker-deno status</title>
<style>${uplotCss}
body{font:14px system-ui,sans-serif;margin:16px;color:#222;background:#fafafa}
h1{font-size:18px;margin:0 0 12px}
.figs{display:flex;flex-wrap:wrap;gap:12px;margin-bottom:16px}
.fig{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:110px}
.fig span{display:block;font-size:20px;font-weight:600}
.fig small{color:#666}
.charts{display:flex;flex-wrap:wrap;gap:16px}
.chart{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px}
table{border-collapse:collapse;background:#fff;margin-top:16px}
td,th{border:1px solid #ddd;padding:4px 8px;text-align:left}
#status{color:#666;margin-left:8px;font-size:12px}
</style></head><body>
<h1>opentracker-deno <span id="status">loading…</span></h1>
<div class="figs">${figures}</div>
<div class="charts">${charts}</div>
<table><thead><tr><th>top torrents (info_hash)</th><th>peers</th></tr></thead><tbody id="top"></tbody></table>
<script>${uplotJs}</script>
<script>${SCRIPT.replace("INTERVAL_MS", String(SAMPLE_INTERVAL_SECONDS * 1000))}</script>
</body></html>
`;
  page = new TextEncoder().encode(html);
  return page;
}
