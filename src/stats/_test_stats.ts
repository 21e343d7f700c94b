/** A stats source with distinct figures, shared by the stats renderer tests. */

import { Counters, HTTP_ERROR } from "./counters.ts";
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
