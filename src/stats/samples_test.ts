import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { SAMPLE_SERIES, SampleRing, SAMPLES_MAX } from "./samples.ts";
import { metricsSource } from "./_test_stats.ts";
import { ACTION_KIND, PROTOCOL, requestIndex } from "./counters.ts";

Deno.test("SampleRing.add() turns counters into rates per second and keeps the swarm's figures", () => {
  const ring = new SampleRing();
  const m = metricsSource({ rssBytes: 5e7, heapUsedBytes: 2e7, eventLoopLagSeconds: 0.01 });
  ring.add(m, 1000);
  // 10 s later: 200 more UDP announces over both families, 30 HTTP scrapes, 5 refused peers.
  m.counters.requests[requestIndex(PROTOCOL.udp, false, ACTION_KIND.announce)] += 150;
  m.counters.requests[requestIndex(PROTOCOL.udp, true, ACTION_KIND.announce)] += 50;
  m.counters.requests[requestIndex(PROTOCOL.http, false, ACTION_KIND.scrape)] += 30;
  ring.add({ ...m, refusedPeers: m.refusedPeers + 5, torrents: 7 }, 1010);
  const c = ring.columns();
  deepStrictEqual(Object.keys(c), [...SAMPLE_SERIES]);
  deepStrictEqual(c.time, [1000, 1010]);
  deepStrictEqual(c.udp_announce, [0, 20]);
  deepStrictEqual(c.http_scrape, [0, 3]);
  deepStrictEqual(c.refused_peers, [0, 0.5]);
  deepStrictEqual(c.torrents, [3, 7]);
  deepStrictEqual([c.peers[1], c.seeders[1], c.leechers[1]], [11, 4, 7]);
  deepStrictEqual([c.rss_bytes[1], c.heap_bytes[1], c.lag_seconds[1]], [5e7, 2e7, 0.01]);
});

Deno.test("SampleRing keeps the last hour, oldest first; pushed samples are taken whole", () => {
  const ring = new SampleRing();
  for (let i = 0; i < SAMPLES_MAX + 5; i++) {
    ring.push(SAMPLE_SERIES.map((_, k) => (k === 0 ? i : k)));
  }
  strictEqual(ring.length, SAMPLES_MAX);
  const c = ring.columns();
  strictEqual(c.time.length, SAMPLES_MAX);
  deepStrictEqual([c.time[0], c.time.at(-1)], [5, SAMPLES_MAX + 4]);
  deepStrictEqual(ring.last(), SAMPLE_SERIES.map((_, k) => (k === 0 ? SAMPLES_MAX + 4 : k)));
  strictEqual(new SampleRing().last(), null);
});
