/**
 * /stats renderers for the modes computed from running totals and counters: they cost
 * O(1) (`renew`: O(peer timeout)), so they never stall announces. Texts follow opentracker's
 * upstream wording exactly, because MRTG, Munin and exporter scripts parse them positionally.
 *
 * Pure: the caller passes the counters, totals and clock.
 */

import { Counters, HTTP_ERROR } from "./counters.ts";
import { Snapshot, TopEntry } from "./snapshot.ts";
import { formatIpv4 } from "../util/ip.ts";

/** Upstream's version line (the `version` mode). */
export const VERSION_TEXT =
  "https://erdgeist.org/gitweb/opentracker/commit/?id=opentracker-deno-0.1.0\n";

/** What the renderers read. */
export interface StatsSource {
  /** The process's random 32-bit id (`tracker_id`). */
  readonly trackerId: number;
  readonly counters: Counters;
  readonly torrents: number;
  readonly peers: number;
  readonly seeds: number;
  readonly uptimeSeconds: number;
  readonly peerTimeoutMinutes: number;
  /** The peer budget and the new peers it refused so far. */
  readonly peerBudget: number;
  readonly refusedPeers: number;
}

/** Outcome of {@link renderStats}: a body, or an HTTP status for the error page. */
export type StatsReply = { readonly body: string } | { readonly status: 400 | 500 };

/**
 * Modes opentracker knows that this version does not produce: `busy` is unimplemented upstream
 * too (500); `fulllog` is a debug build's request log; `tpbs` and `statedump` need full scrape.
 */
const NOT_AVAILABLE = new Set(["busy", "fulllog", "tpbs", "statedump"]);

/** Modes that need a full scan of the swarm ({@link renderScanned}). */
export const SCANNED_MODES: ReadonlySet<string> = new Set([
  "top10",
  "top100",
  "s24s",
  "everything",
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
      // Upstream copies line 4 from `conn` by mistake; ours describes the sync counter.
      return {
        body: `${c.livesyncRecords}\n0\n${mrtgTail(t)}\nopentracker livesync, ` +
          `${rate(c.livesyncRecords, t)} records/s.`,
      };
    case "herr": {
      // Upstream prints the 402 and an unused slot under the 403/404 labels; ours match.
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
    case "budget":
      // Ours (MRTG layout): peers held, new peers refused, uptime, budget and its use.
      return {
        body: `${s.peers}\n${s.refusedPeers}\n${mrtgTail(t)}\nopentracker peer budget ` +
          `${s.peerBudget}, ${Math.floor((100 * s.peers) / s.peerBudget)}% used`,
      };
    case "numwants": {
      let body = "";
      for (let i = 0; i <= 200; i++) body += `${String(i).padStart(3, "0")} => ${c.numwants[i]}\n`;
      return { body };
    }
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

function topBlock(title: string, entries: readonly TopEntry[], n: number): string {
  let out = `${title}\n`;
  for (const e of entries.slice(0, n)) out += `\t${e.count}\t${e.hex}\n`;
  return out;
}

function netsBlock(bits: number, nets: readonly (readonly [number, number])[]): string {
  let out = `Networks, limit /${bits}:\n`;
  for (const [net, count] of nets) out += `${String(count).padStart(8, "0")}: ${formatIpv4(net)}\n`;
  return out + "\n";
}

/**
 * Renders a mode of {@link SCANNED_MODES} from a snapshot. `s24s` prints IPv4 networks as
 * dotted quads (opentracker prints them through its IPv6 formatter, unreadably).
 */
export function renderScanned(mode: string, s: StatsSource, snap: Snapshot): string {
  switch (mode) {
    case "top10":
    case "top100": {
      const n = mode === "top10" ? 10 : 100;
      return topBlock(`Top ${n} torrents by peers:`, snap.topPeers, n) +
        topBlock(`Top ${n} torrents by seeds:`, snap.topSeeds, n) +
        topBlock(`Top ${n} torrents by leechers:`, snap.topLeechers, n);
    }
    case "s24s":
      return netsBlock(28, snap.nets28) + netsBlock(24, snap.nets24);
    default:
      return renderEverything(s, snap);
  }
}

const HTTP_ERROR_CODES = [
  "302 Redirect",
  "400 Parse Error",
  "400 Invalid Parameter",
  "400 Invalid Parameter (compact=0)",
  "400 Not Modest",
  "402 Payment Required",
  "403 Access Denied",
  "404 Not found",
  "500 Internal Server Error",
];

/** The `everything` XML, exactly as opentracker lays it out (no newline after `</stats>`). */
export function renderEverything(s: StatsSource, snap: Snapshot): string {
  const c = s.counters;
  let renew = "";
  for (let i = 0; i < s.peerTimeoutMinutes; i++) {
    renew += `      <count interval="${String(i).padStart(2, "0")}">${c.renew[i]}</count>\n`;
  }
  let errors = "";
  for (let i = 0; i < HTTP_ERROR_CODES.length; i++) {
    errors += `      <count code="${HTTP_ERROR_CODES[i]}">${c.httpErrors[i]}</count>\n`;
  }
  return `<?xml version="1.0" encoding="UTF-8"?>
<stats>
  <tracker_id>${s.trackerId}</tracker_id>
  <version>
${VERSION_TEXT}  </version>
  <uptime>${s.uptimeSeconds}</uptime>
  <torrents>
    <count_mutex>${s.torrents}</count_mutex>
    <count_iterator>${snap.torrents}</count_iterator>
  </torrents>
  <peers>
    <count>${s.peers}</count>
  </peers>
  <seeds>
    <count>${s.seeds}</count>
  </seeds>
  <completed>
    <count>${c.completed}</count>
  </completed>
  <connections>
    <tcp>
      <accept>${c.tcpAccepts}</accept>
      <announce>${c.tcpAnnounces}</announce>
      <scrape>${c.tcpScrapes}</scrape>
    </tcp>
    <udp>
      <overall>${c.udpPackets}</overall>
      <connect>${c.udpConnects}</connect>
      <announce>${c.udpAnnounces}</announce>
      <scrape>${c.udpScrapes}</scrape>
      <missmatch>${c.udpConnectionIdMismatches}</missmatch>
    </udp>
    <livesync>
      <count>${c.livesyncRecords}</count>
    </livesync>
  </connections>
  <debug>
    <renew>
${renew}    </renew>
    <http_error>
${errors}    </http_error>
    <mutex_stall>
      <count>0</count>
    </mutex_stall>
  </debug>
</stats>`;
}
