/**
 * The UDP frontend: one datagram in, at most one reply out. Parse (protocol/udp.ts), check the
 * connection id, ask the tracker logic, write the reply (protocol/udp.ts) with the peers
 * straight into the reply buffer. Synchronous and free of socket code, so it is unit-tested and
 * benchmarked with plain buffers; udp_server.ts and udp_batch.ts own the sockets.
 *
 * Amplification rule: a reply is never larger than its request unless the connection id
 * verified (a mismatch error to a request shorter than 33 bytes is dropped instead).
 */

import { ConnectionIds } from "../protocol/connection_id.ts";
import {
  ACTION,
  ANNOUNCE_REPLY_HEADER_BYTES,
  CONNECT_BYTES,
  mayAnswerMismatch,
  parseUdpRequest,
  scrapeHashCount,
  UDP_REQUEST,
  writeAnnounceReplyHead,
  writeConnectReplyHead,
  writeErrorReply,
  writeMismatchReply,
  writeReplyHead,
  writeScrapeEntry,
} from "../protocol/udp.ts";
import { ACTION_KIND, Counters, PROTOCOL, requestIndex } from "../stats/counters.ts";
import { AnnounceOutcome, TrackerLogic } from "../logic/tracker_logic.ts";
import { AnnounceRequest, DEFAULTS, LIMITS } from "../types.ts";
import { isV4Mapped } from "../util/ip.ts";
import { ShardMap } from "../logic/shards.ts";
import { gatheredCounts, ScrapeGather, ShardLink } from "./shard_link.ts";

/** Options for {@link UdpHandler}. */
export interface UdpHandlerOptions {
  logic: TrackerLogic;
  counters: Counters;
  connectionIds: ConnectionIds;
  /** Reply cap for IPv4 requesters. Default {@link DEFAULTS.udpPeersV4Max}. */
  peersV4Max?: number;
  /** Reply cap for IPv6 requesters. Default {@link DEFAULTS.udpPeersV6Max}. */
  peersV6Max?: number;
  /** With several workers: this worker's links; a torrent it does not own is handed over. */
  shards?: ShardLink | null;
}

/** {@link UdpHandler.handle}'s result: hand the datagram to worker {@link UdpHandler.owner}. */
export const UDP_FORWARD = -1;
/** {@link UdpHandler.handle}'s result: a scrape over several workers; call `gatherScrape`. */
export const UDP_GATHER = -2;

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
  readonly #outcome: AnnounceOutcome;
  readonly #counts = { seeders: 0, leechers: 0, downloaded: 0 };
  readonly #v4Max: number;
  readonly #v6Max: number;
  readonly #shards: ShardLink | null;
  readonly #map: ShardMap | null;
  /** The worker to hand the datagram to, after {@link UDP_FORWARD}. */
  owner = 0;

  constructor(options: UdpHandlerOptions) {
    this.#o = options;
    this.#outcome = options.logic.newOutcome();
    const v4 = options.peersV4Max ?? DEFAULTS.udpPeersV4Max;
    const v6 = options.peersV6Max ?? DEFAULTS.udpPeersV6Max;
    this.#v4Max = Math.min(v4, LIMITS.numwantCeiling);
    this.#v6Max = Math.min(v6, LIMITS.numwantCeiling);
    this.#shards = options.shards ?? null;
    this.#map = this.#shards?.map ?? null;
  }

  /**
   * Handles the datagram `buf[0, len)` from the 16-byte address `ip`; writes the reply into
   * `out` (at least {@link UDP_REPLY_BYTES_MAX} bytes) and returns its length, 0 for no reply,
   * {@link UDP_FORWARD} or {@link UDP_GATHER} when other workers own its torrents. A datagram
   * another worker `forwarded` was counted and its connection id checked there.
   */
  handle(
    buf: Uint8Array,
    len: number,
    ip: Uint8Array,
    nowSeconds: number,
    out: Uint8Array,
    forwarded = false,
  ): number {
    const c = this.#o.counters;
    if (!forwarded) c.udpPackets++;
    const kind = parseUdpRequest(buf, len, this.#req);
    if (kind === UDP_REQUEST.drop) return this.#drop();
    if (kind === UDP_REQUEST.connect) {
      writeConnectReplyHead(buf, out);
      this.#o.connectionIds.issue(ip, 0, nowSeconds, out, 8);
      c.udpConnects++;
      c.requests[requestIndex(PROTOCOL.udp, !isV4Mapped(ip, 0), ACTION_KIND.connect)]++;
      return CONNECT_BYTES;
    }
    if (!forwarded && !this.#o.connectionIds.verify(buf, 0, ip, 0, nowSeconds)) {
      c.udpConnectionIdMismatches++;
      if (!mayAnswerMismatch(len)) return this.#drop();
      return writeMismatchReply(buf, out);
    }
    if (kind === UDP_REQUEST.shortAnnounce) return this.#drop();
    const map = this.#map;
    if (kind === UDP_REQUEST.announce) {
      if (map !== null && !forwarded) {
        const owner = map.of(buf, 16);
        if (owner !== this.#shards!.index) return this.#forward(owner);
      }
      return this.#announce(buf, ip, nowSeconds, out);
    }
    if (map !== null && !forwarded) {
      const n = scrapeHashCount(len);
      const first = map.of(buf, 16);
      let k = 1;
      while (k < n && map.of(buf, 16 + 20 * k) === first) k++;
      if (k < n) return UDP_GATHER;
      if (first !== this.#shards!.index) return this.#forward(first);
    }
    return this.#scrape(buf, len, ip, nowSeconds, out);
  }

  #forward(owner: number): number {
    this.owner = owner;
    return UDP_FORWARD;
  }

  /**
   * Answers a scrape whose torrents several workers own (after {@link UDP_GATHER}): the local
   * counts now, the others' when they answer; `send` gets the reply then. `buf` is copied.
   */
  gatherScrape(
    buf: Uint8Array,
    len: number,
    ip: Uint8Array,
    nowSeconds: number,
    send: (reply: Uint8Array) => void,
  ): void {
    const link = this.#shards!;
    const logic = this.#o.logic;
    logic.countScrape(PROTOCOL.udp, ip);
    const n = scrapeHashCount(len);
    const req = buf.slice(0, 16 + 20 * n);
    const hashAt = (k: number) => 16 + 20 * k;
    const write = (g: ScrapeGather | null) => {
      if (g === null) return; // an owner's answer was lost: no reply, the client retries
      const out = new Uint8Array(8 + 12 * n);
      writeReplyHead(out, ACTION.scrape, req);
      const counts = this.#counts;
      for (let k = 0; k < n; k++) {
        writeScrapeEntry(out, k, gatheredCounts(g, k, counts) ? counts : null);
      }
      send(out);
    };
    // When too many scrapes wait, this one is dropped (and counted); the client retries.
    link.gatherScrape(n, req, hashAt, (h, o, c) => logic.scrape(h, o, nowSeconds, c), write);
  }

  #drop(): number {
    this.#o.counters.udpDropped++;
    return 0;
  }

  #announce(buf: Uint8Array, ip: Uint8Array, nowSeconds: number, out: Uint8Array): number {
    const req = this.#req;
    const outcome = this.#outcome;
    req.ip.set(ip);
    const v4 = isV4Mapped(ip, 0);
    const max = v4 ? this.#v4Max : this.#v6Max;
    if (req.numwant > max) req.numwant = max;
    this.#o.logic.announce(req, PROTOCOL.udp, nowSeconds, outcome);
    // opentracker sends an 8-byte truncated reply here; a BEP 15 error with the HTTP text
    // tells the client why.
    if (outcome.refused) return writeErrorReply(buf, out, NOT_AUTHORIZED_TEXT);
    const head = writeAnnounceReplyHead(buf, out, outcome);
    return outcome.writePeers(v4 ? 0 : 1, out, head);
  }

  #scrape(
    buf: Uint8Array,
    len: number,
    ip: Uint8Array,
    nowSeconds: number,
    out: Uint8Array,
  ): number {
    const logic = this.#o.logic;
    logic.countScrape(PROTOCOL.udp, ip);
    const n = scrapeHashCount(len);
    writeReplyHead(out, ACTION.scrape, buf);
    const counts = this.#counts;
    let end = 8;
    for (let k = 0; k < n; k++) {
      const known = logic.scrape(buf, 16 + 20 * k, nowSeconds, counts);
      end = writeScrapeEntry(out, k, known ? counts : null);
    }
    return end;
  }
}
