/**
 * One UDP datagram in, at most one reply out (§4): the processing order and silent drops of §4.2,
 * connect, announce and scrape. Synchronous and free of socket code, so it is unit-tested and
 * benchmarked with plain buffers; `udp_server.ts` owns the socket.
 *
 * Amplification rule: a reply is never larger than its request unless the connection id
 * verified (a mismatch error to a request shorter than 33 bytes is dropped instead).
 */

import { ConnectionIds } from "../protocol/connection_id.ts";
import {
  ACTION,
  ANNOUNCE_REPLY_HEADER_BYTES,
  ANNOUNCE_REQUEST_BYTES,
  copyTransactionId,
  hasProtocolId,
  MISMATCH_REPLY_BYTES,
  readU32,
  writeErrorReply,
  writeMismatchReply,
  writeU32,
} from "../protocol/udp.ts";
import { ACTION_KIND, Counters, PROTOCOL, requestIndex } from "../stats/counters.ts";
import { Woodpeckers } from "../stats/woodpeckers.ts";
import { announceInterval, IntervalOptions } from "../swarm/interval.ts";
import { AnnounceResult, REPLY, ScrapeCounts, Swarm } from "../swarm/swarm.ts";
import { AccessControl } from "../swarm/access.ts";
import { LivesyncOutbox } from "../protocol/livesync.ts";
import { tellAnnounce, tellStop } from "./livesync_handler.ts";
import { AnnounceRequest, EVENT, LIMITS } from "../types.ts";
import { isV4Mapped } from "../util/ip.ts";
import { Prng } from "../util/random.ts";

/** Options for {@link UdpHandler}. */
export interface UdpHandlerOptions {
  swarm: Swarm;
  /** Closed mode; announces of refused torrents get a BEP 15 error. */
  access: AccessControl;
  counters: Counters;
  /** Live sync: where announces and stops are queued for the cluster (§8.3), or null. */
  livesync?: LivesyncOutbox | null;
  connectionIds: ConnectionIds;
  prng: Prng;
  interval: IntervalOptions;
  /** Fast re-announcers per network; none recorded when absent. */
  woodpeckers?: Woodpeckers;
  /** Reply cap for IPv4 requesters. Default 200. */
  peersV4Max?: number;
  /** Reply cap for IPv6 requesters. Default 66. */
  peersV6Max?: number;
}

/** The refusal text, as in the HTTP failure reason. */
export const NOT_AUTHORIZED_TEXT =
  "Requested download is not authorized for use with this tracker.";

/** Bytes a reply buffer must hold. */
export const UDP_REPLY_BYTES_MAX = Math.max(
  ANNOUNCE_REPLY_HEADER_BYTES + 18 * LIMITS.numwantCeiling,
  8 + 12 * LIMITS.udpScrapeHashesMax,
);

/** Handles datagrams for one tracker; shared by all UDP sockets. */
export class UdpHandler {
  readonly #o: UdpHandlerOptions;
  readonly #req = new AnnounceRequest();
  readonly #result = new AnnounceResult();
  readonly #counts = new ScrapeCounts();
  readonly #v4Max: number;
  readonly #v6Max: number;

  constructor(options: UdpHandlerOptions) {
    this.#o = options;
    this.#v4Max = Math.min(options.peersV4Max ?? 200, LIMITS.numwantCeiling);
    this.#v6Max = Math.min(options.peersV6Max ?? 66, LIMITS.numwantCeiling);
  }

  /**
   * Handles the datagram `buf[0, len)` from the 16-byte address `ip`; writes the reply into
   * `out` (at least {@link UDP_REPLY_BYTES_MAX} bytes) and returns its length, 0 for no reply.
   */
  handle(
    buf: Uint8Array,
    len: number,
    ip: Uint8Array,
    nowSeconds: number,
    out: Uint8Array,
  ): number {
    const c = this.#o.counters;
    c.udpPackets++;
    if (len < 16) return this.#drop();
    const action = readU32(buf, 8);
    if (action > ACTION.scrape) return this.#drop();
    if (action === ACTION.connect) {
      if (!hasProtocolId(buf)) return this.#drop();
      writeU32(out, 0, ACTION.connect);
      copyTransactionId(buf, out);
      this.#o.connectionIds.issue(ip, 0, nowSeconds, out, 8);
      c.udpConnects++;
      c.requests[requestIndex(PROTOCOL.udp, !isV4Mapped(ip, 0), ACTION_KIND.connect)]++;
      return 16;
    }
    if (!this.#o.connectionIds.verify(buf, 0, ip, 0, nowSeconds)) {
      c.udpConnectionIdMismatches++;
      if (len < MISMATCH_REPLY_BYTES) return this.#drop();
      return writeMismatchReply(buf, out);
    }
    if (action === ACTION.announce) {
      if (len < ANNOUNCE_REQUEST_BYTES) return this.#drop();
      return this.#announce(buf, ip, nowSeconds, out);
    }
    return this.#scrape(buf, len, ip, nowSeconds, out);
  }

  #drop(): number {
    this.#o.counters.udpDropped++;
    return 0;
  }

  #announce(buf: Uint8Array, ip: Uint8Array, nowSeconds: number, out: Uint8Array): number {
    const o = this.#o;
    const req = this.#req;
    const r = this.#result;
    o.counters.udpAnnounces++;
    req.infoHash.set(buf.subarray(16, 36));
    req.ip.set(ip);
    let leftZero = true;
    for (let i = 64; i < 72; i++) if (buf[i] !== 0) leftZero = false;
    req.seeding = leftZero;
    const event = readU32(buf, 80);
    req.event = event === 1 ? EVENT.completed : event === 3 ? EVENT.stopped : EVENT.none;
    const v4 = isV4Mapped(ip, 0);
    const max = v4 ? this.#v4Max : this.#v6Max;
    const numwant = readU32(buf, 92);
    req.numwant = numwant > max ? max : numwant;
    o.counters.requests[requestIndex(PROTOCOL.udp, !v4, ACTION_KIND.announce)]++;
    o.counters.numwants[req.numwant > 200 ? 200 : req.numwant]++;
    req.port = (buf[96] << 8) | buf[97];

    writeU32(out, 0, ACTION.announce);
    copyTransactionId(buf, out);
    if (req.event === EVENT.stopped) {
      o.swarm.stop(req, r);
      if (o.livesync) tellStop(o.livesync, req);
      writeU32(out, 8, announceInterval(o.prng, o.interval));
      writeU32(out, 12, r.leechers);
      writeU32(out, 16, r.seeders);
      return ANNOUNCE_REPLY_HEADER_BYTES;
    }
    if (!o.access.allowed(req.infoHash, 0)) {
      // Deviation (§11 item 8): a BEP 15 error with the HTTP text, not an 8-byte truncated reply.
      o.counters.udpRefused++;
      return writeErrorReply(buf, out, NOT_AUTHORIZED_TEXT);
    }
    o.swarm.announce(req, Math.floor(nowSeconds / 60), REPLY.ownFamily, false, r);
    if (o.livesync) tellAnnounce(o.livesync, req, r);
    if (r.completed) o.counters.completed++;
    if (r.renewedAgeMinutes >= 0) {
      o.counters.renew[r.renewedAgeMinutes]++;
      if (r.renewedAgeMinutes >= 1 && r.renewedAgeMinutes <= 19) o.woodpeckers?.record(ip);
    }
    writeU32(out, 8, announceInterval(o.prng, o.interval, r.familyPeers, r.probation));
    writeU32(out, 12, r.leechers);
    writeU32(out, 16, r.seeders);
    if (v4) {
      const bytes = r.n4 * 6;
      out.set(r.peers4.subarray(0, bytes), ANNOUNCE_REPLY_HEADER_BYTES);
      return ANNOUNCE_REPLY_HEADER_BYTES + bytes;
    }
    const bytes = r.n6 * 18;
    out.set(r.peers6.subarray(0, bytes), ANNOUNCE_REPLY_HEADER_BYTES);
    return ANNOUNCE_REPLY_HEADER_BYTES + bytes;
  }

  #scrape(
    buf: Uint8Array,
    len: number,
    ip: Uint8Array,
    nowSeconds: number,
    out: Uint8Array,
  ): number {
    const o = this.#o;
    o.counters.udpScrapes++;
    o.counters.requests[requestIndex(PROTOCOL.udp, !isV4Mapped(ip, 0), ACTION_KIND.scrape)]++;
    // Whole hashes only: opentracker reads a trailing partial hash from stale memory (§11 item 10).
    const n = Math.min(Math.floor((len - 16) / 20), LIMITS.udpScrapeHashesMax);
    writeU32(out, 0, ACTION.scrape);
    copyTransactionId(buf, out);
    const now = Math.floor(nowSeconds / 60);
    const counts = this.#counts;
    for (let k = 0; k < n; k++) {
      const p = 8 + 12 * k;
      if (o.swarm.scrape(buf, 16 + 20 * k, now, counts)) {
        writeU32(out, p, counts.seeders);
        writeU32(out, p + 4, counts.downloaded);
        writeU32(out, p + 8, counts.leechers);
      } else {
        out.fill(0, p, p + 12);
      }
    }
    return 8 + 12 * n;
  }
}
