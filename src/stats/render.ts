/**
 * /stats renderers for the modes computed from running totals and counters (§6.2): they cost
 * O(1) (`renew`: O(peer timeout)), so they never stall announces. Texts follow opentracker's
 * upstream wording exactly, because MRTG, Munin and exporter scripts parse them positionally.
 *
 * Pure: the caller passes the counters, totals and clock.
 */

import { Counters, HTTP_ERROR } from "./counters.ts";

/** Upstream's version line (the `version` mode). */
export const VERSION_TEXT =
  "https://erdgeist.org/gitweb/opentracker/commit/?id=opentracker-deno-0.1.0\n";

/** What the renderers read. */
export interface StatsSource {
  readonly counters: Counters;
  readonly torrents: number;
  readonly peers: number;
  readonly seeds: number;
  readonly uptimeSeconds: number;
  readonly peerTimeoutMinutes: number;
}

/** Outcome of {@link renderStats}: a body, or an HTTP status for the error page. */
export type StatsReply = { readonly body: string } | { readonly status: 400 | 500 };

/** Modes opentracker knows that this version does not produce yet (answered like a build without them). */
const NOT_AVAILABLE = new Set([
  "busy",
  "s24s",
  "top10",
  "top100",
  "everything",
  "woodpeckers",
  "fulllog",
  "numwants",
  "tpbs",
  "statedump",
]);

function rate(x: number, t: number): number {
  return Math.floor(x / Math.max(t, 1));
}

function mrtgTail(t: number): string {
  return `${t} seconds (${Math.floor(t / 3600)} hours)`;
}

/** Renders `mode` (default `peer`). */
export function renderStats(mode: string, s: StatsSource): StatsReply {
  const c = s.counters;
  const t = s.uptimeSeconds;
  switch (mode === "" ? "peer" : mode) {
    case "peer":
      return {
        body: `${s.peers}\n${s.seeds}\nopentracker serving ${s.torrents} torrents\nopentracker`,
      };
    case "torr":
      return { body: `${s.torrents}\n0\nopentracker serving ${s.torrents} torrents\nopentracker` };
    case "conn": {
      const l1 = c.tcpAccepts + c.udpPackets;
      const l2 = c.tcpAnnounces + c.udpAnnounces + c.udpConnects;
      return {
        body: `${l1}\n${l2}\n${mrtgTail(t)}\nopentracker connections, ${rate(l1, t)} conns/s :: ` +
          `${rate(l2, t)} success/s.`,
      };
    }
    case "udp4": {
      const l2 = c.udpAnnounces + c.udpConnects;
      return {
        body: `${c.udpPackets}\n${l2}\n${mrtgTail(t)}\nopentracker udp4 stats, ` +
          `${rate(c.udpPackets, t)} conns/s :: ${rate(l2, t)} success/s.`,
      };
    }
    case "tcp4":
      return {
        body: `${c.tcpAccepts}\n${c.tcpAnnounces}\n${mrtgTail(t)}\nopentracker tcp4 stats, ` +
          `${rate(c.tcpAccepts, t)} conns/s :: ${rate(c.tcpAnnounces, t)} success/s.`,
      };
    case "scrp":
      return {
        body: `${c.tcpScrapes}\n${c.udpScrapes}\n${mrtgTail(t)}\nopentracker scrape stats, ` +
          `${rate(c.tcpScrapes + c.udpScrapes, t)} scrape/s (tcp and udp)`,
      };
    case "fscr":
      return {
        body: `${c.fullScrapes * 1000}\n${c.fullScrapeBytes}\n${mrtgTail(t)}\n` +
          `opentracker full scrape stats, ${rate(c.fullScrapes * 1000, t)} conns/s :: ` +
          `${rate(c.fullScrapeBytes, t)} bytes/s.`,
      };
    case "completed":
      return {
        body: `${c.completed}\n0\n${mrtgTail(t)}\nopentracker, ` +
          `${Math.floor(c.completed / Math.max(Math.floor(t / 3600), 1))} completed/h.`,
      };
    case "syncs":
      // Upstream copies line 4 from `conn`; ours describes the sync counter (§11 item 14).
      return {
        body: `${c.livesyncRecords}\n0\n${mrtgTail(t)}\nopentracker livesync, ` +
          `${rate(c.livesyncRecords, t)} records/s.`,
      };
    case "herr": {
      // Upstream prints the 402/unused slots under the 403/404 labels (§6.3); ours match.
      const e = c.httpErrors;
      return {
        body: `302 RED ${e[HTTP_ERROR.redirect302]}\n400 ... ${e[HTTP_ERROR.parse400]}\n` +
          `400 PAR ${e[HTTP_ERROR.param400]}\n400 COM ${e[HTTP_ERROR.compact400]}\n` +
          `403 IP  ${e[HTTP_ERROR.access403]}\n404 INV ${e[HTTP_ERROR.notFound404]}\n` +
          `500 SRV ${e[HTTP_ERROR.server500]}\n`,
      };
    }
    case "version":
      return { body: VERSION_TEXT };
    case "renew": {
      let body = "";
      for (let i = 0; i < s.peerTimeoutMinutes; i++) {
        body += `${String(i).padStart(2, "0")} ${c.renew[i]}\n`;
      }
      return { body };
    }
    default:
      return { status: NOT_AVAILABLE.has(mode) ? 500 : 400 };
  }
}
