import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { addCounters, sumFigures } from "./cluster_figures.ts";
import { Counters } from "./counters.ts";
import { MetricsSource } from "./metrics.ts";

function figures(k: number): MetricsSource {
  const counters = new Counters();
  counters.udpAnnounces = 10 * k;
  counters.requests[3] = k;
  counters.httpErrors[6] = 2 * k;
  return {
    trackerId: 42,
    counters,
    torrents: k,
    peers: 3 * k,
    seeds: k,
    uptimeSeconds: 100,
    peerTimeoutMinutes: 45,
    peerBudget: 1000,
    refusedPeers: k,
    rssBytes: 5000,
    heapUsedBytes: 100 * k,
    peerStoreBytes: 10 * k,
    eventLoopLagSeconds: k / 100,
    statsScans: 0,
    connections: {
      open: k,
      ceiling: 512,
      peak: k,
      accepted: k,
      acceptErrors: 0,
      tlsErrors: k,
      failures: 0,
      capWaits: 0,
      byState: [["reading", k]],
      refused: [["address", k]],
      closed: [["idle", k], ...(k === 2 ? [["timeout", 1] as const] : [])],
    },
    torrentBudget: 500,
    refusedTorrents: 0,
    evictedTorrents: k,
    emptyTorrents: 0,
    probationPeers: 0,
    fullScrapesActive: 0,
    fullScrapeIndexBytes: 0,
    workers: 1,
    handoffSent: 5 * k,
    handoffReceived: 5 * k,
    handoffDropped: 0,
    handoffExpired: 0,
    handoffWakeups: k,
    handoffConnections: k,
    // qBittorrent 4.6.5 on both workers (two peers' ids), Transmission on the second only.
    clients: [
      [hexOf(`-qB4650-${k}aaaaaaaaaaa`), 10 * k],
      ...(k === 2 ? [[hexOf("-TR3000-bbbbbbbbbbbb"), 5] as const] : []),
    ],
    clientsOverflow: k,
    wsConnections: k,
    wsQueuedBytes: 0,
    wsTorrents: k,
    wsPeers: 2 * k,
    wsSeeders: k,
  };
}

function hexOf(id: string): string {
  return [...new TextEncoder().encode(id)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("workers' figures add up; process-wide ones are taken once; lag is the worst", () => {
  // A structured clone is what arrives from a worker: plain objects, typed arrays kept.
  const s = sumFigures([structuredClone(figures(1)), structuredClone(figures(2))]);
  // Client counts: one prefix, summed; the sample is the first worker's.
  deepStrictEqual(s.clients, [
    [hexOf("-qB4650-1aaaaaaaaaaa"), 30],
    [hexOf("-TR3000-bbbbbbbbbbbb"), 5],
  ]);
  strictEqual(s.clientsOverflow, 3);
  deepStrictEqual(
    [s.torrents, s.peers, s.peerBudget, s.heapUsedBytes, s.torrentBudget, s.evictedTorrents],
    [3, 9, 2000, 300, 1000, 3],
  );
  deepStrictEqual([s.trackerId, s.uptimeSeconds, s.rssBytes, s.peerTimeoutMinutes], [
    42,
    100,
    5000,
    45,
  ]);
  strictEqual(s.eventLoopLagSeconds, 0.02);
  deepStrictEqual([s.workers, s.handoffSent, s.handoffWakeups], [2, 15, 3]);
  strictEqual(s.counters.udpAnnounces, 30);
  strictEqual(s.counters.requests[3], 3);
  strictEqual(s.counters.httpErrors[6], 6);
  strictEqual(s.connections.ceiling, 1024);
  strictEqual(s.connections.tlsErrors, 3);
  deepStrictEqual(s.connections.closed, [["idle", 3], ["timeout", 1]]);
});

Deno.test("adding counters touches every numeric field and array slot", () => {
  const a = new Counters();
  const b = new Counters();
  const fields = b as unknown as Record<string, number | Float64Array>;
  for (const key of Object.keys(fields)) {
    const v = fields[key];
    if (typeof v === "number") fields[key] = 1;
    else v.fill(1);
  }
  addCounters(a, structuredClone(b));
  addCounters(a, b);
  for (const [key, v] of Object.entries(a)) {
    if (typeof v === "number") strictEqual(v, 2, key);
    else strictEqual((v as Float64Array).every((x) => x === 2), true, key);
  }
});
