/** Stats and metrics sources with distinct figures, shared by the renderer and route tests. */

import { Counters, HTTP_ERROR } from "./counters.ts";
import { MetricsSource } from "./metrics.ts";
import { StatsSource } from "./render.ts";

/** Counters and totals with a distinct value in the fields the renderers print. */
export function statsSource(overrides: Partial<StatsSource> = {}): StatsSource {
  const counters = new Counters();
  counters.tcpAccepts = 10;
  counters.tcpAnnounces = 7;
  counters.tcpScrapes = 2;
  counters.udpPackets = 20;
  counters.udpConnects = 5;
  counters.udpAnnounces = 9;
  counters.udpScrapes = 3;
  counters.completed = 4;
  counters.httpErrors[HTTP_ERROR.parse400] = 6;
  counters.httpErrors[HTTP_ERROR.notModest402] = 1;
  counters.httpErrors[HTTP_ERROR.access403] = 5;
  counters.numwants[50] = 12;
  counters.renew[3] = 8;
  return {
    trackerId: 1234,
    counters,
    torrents: 3,
    peers: 11,
    seeds: 4,
    uptimeSeconds: 7200,
    peerTimeoutMinutes: 45,
    peerBudget: 100,
    refusedPeers: 2,
    ...overrides,
  };
}

/** {@link statsSource} with every process and server figure of /metrics at zero. */
export function metricsSource(overrides: Partial<MetricsSource> = {}): MetricsSource {
  return {
    ...statsSource(),
    rssBytes: 0,
    heapUsedBytes: 0,
    peerStoreBytes: 0,
    eventLoopLagSeconds: 0,
    statsScans: 0,
    connections: {
      open: 0,
      ceiling: 0,
      peak: 0,
      accepted: 0,
      acceptErrors: 0,
      tlsErrors: 0,
      failures: 0,
      capWaits: 0,
      byState: [],
      refused: [],
      closed: [],
    },
    torrentBudget: 0,
    refusedTorrents: 0,
    evictedTorrents: 0,
    emptyTorrents: 0,
    probationPeers: 0,
    fullScrapesActive: 0,
    fullScrapeIndexBytes: 0,
    workers: 1,
    handoffSent: 0,
    handoffReceived: 0,
    handoffDropped: 0,
    handoffExpired: 0,
    handoffWakeups: 0,
    handoffConnections: 0,
    clients: [],
    clientsOverflow: 0,
    wsConnections: 0,
    wsQueuedBytes: 0,
    wsTorrents: 0,
    wsPeers: 0,
    wsSeeders: 0,
    ...overrides,
  };
}
