/**
 * The one tracker logic every frontend calls, whatever the protocol: HTTP and UDP announces and
 * scrapes, and the records live sync receives. It decides an announce once (a stop, the access
 * list, the swarm), tells the cluster what live sync shares, counts what statistics show (one
 * funnel) and chooses the interval. Frontends parse a request (protocol/), call this, and write
 * the reply (protocol/), the peers straight into their reply buffer through
 * {@link AnnounceOutcome.writePeers}.
 *
 * Synchronous: one request runs to completion before the next.
 */

import { AnnounceRequest, EVENT, PEER_FLAG, requestFlags } from "../types.ts";
import { ACTION_KIND, Counters, PROTOCOL, requestIndex } from "../stats/counters.ts";
import { ClientCounts } from "../stats/clients.ts";
import { Woodpeckers } from "../stats/woodpeckers.ts";
import { isV4Mapped } from "../util/ip.ts";
import { Prng } from "../util/random.ts";
import { Swarm } from "../swarm/swarm.ts";
import { AnnounceResult, REPLY, ScrapeCounts } from "../swarm/announce_result.ts";
import { AccessControl } from "./access.ts";
import { announceInterval, IntervalOptions } from "./interval.ts";
import { LIMITED, WsAnnounceOutcome, WsLink, WsSwarm } from "./ws_swarm.ts";
import { WsAnnounce, WsScrapeEntry } from "../protocol/ws_tracker.ts";

/** Where records for the cluster go (live sync's outbox); the server sends them. */
export interface SyncSink {
  add(infoHash: Uint8Array, ip: Uint8Array, port: number, flags: number): void;
}

/**
 * Renewals of peers younger than this are not told to the cluster again (opentracker's
 * OT_CLIENT_SYNC_RENEW_BOUNDARY): the other nodes hold them still.
 */
const SYNC_RENEW_BOUNDARY_MINUTES = 10;

/** Renewals 1 to 19 minutes after the last announce mark a woodpecker (a too-eager client). */
const WOODPECKER_AGE_MINUTES = [1, 19] as const;

/** The numwant histogram (`numwants` mode) has one bucket per value up to this one. */
const NUMWANT_BUCKETS_MAX = 200;

/**
 * What an announce's reply carries. Reused for every request; its peers are written by
 * {@link writePeers} before the next announce.
 */
export class AnnounceOutcome {
  /** The access list refuses the torrent: the reply is the refusal, nothing else. */
  refused = false;
  /** A stop: counts after the removal, no peers. */
  stopped = false;
  interval = 0;
  seeders = 0;
  leechers = 0;
  downloaded = 0;
  /** IPv4 and IPv6 peers the reply takes. */
  n4 = 0;
  n6 = 0;
  readonly result: AnnounceResult = new AnnounceResult();
  readonly #swarm: Swarm;

  constructor(swarm: Swarm) {
    this.#swarm = swarm;
  }

  /** Writes the reply's peers of family `f` (0: IPv4, 1: IPv6) at `out[off..]`; the end. */
  writePeers(f: number, out: Uint8Array, off: number): number {
    return this.#swarm.writePeers(this.result, f, out, off);
  }
}

/** What {@link TrackerLogic} owns and uses. */
export interface TrackerLogicOptions {
  swarm: Swarm;
  access: AccessControl;
  counters: Counters;
  /** Announces by client software (peer_id prefix). */
  clients: ClientCounts;
  woodpeckers: Woodpeckers;
  /** Live sync's outbox, or null without live sync. */
  sync: SyncSink | null;
  prng: Prng;
  interval: IntervalOptions;
  /** The WebSocket (WebTorrent) peers of this worker's torrents. */
  ws: WsSwarm<WsLink>;
}

/** The tracker logic of one process. */
export class TrackerLogic {
  readonly #o: TrackerLogicOptions;
  readonly #syncResult = new AnnounceResult();

  constructor(options: TrackerLogicOptions) {
    this.#o = options;
  }

  /** A reusable outcome for {@link announce} (one per frontend). */
  newOutcome(): AnnounceOutcome {
    return new AnnounceOutcome(this.#o.swarm);
  }

  /**
   * An announce over `protocol` (PROTOCOL.http or .udp); `req.numwant` already capped by the
   * protocol. HTTP replies carry peers of both families, UDP replies the requester's only.
   */
  announce(req: AnnounceRequest, protocol: number, nowSeconds: number, out: AnnounceOutcome): void {
    const o = this.#o;
    const c = o.counters;
    const v4 = isV4Mapped(req.ip, 0);
    c.requests[requestIndex(protocol, !v4, ACTION_KIND.announce)]++;
    if (req.hasPeerId) o.clients.count(req.peerId);
    c.numwants[req.numwant > NUMWANT_BUCKETS_MAX ? NUMWANT_BUCKETS_MAX : req.numwant]++;
    if (protocol === PROTOCOL.udp) c.udpAnnounces++;
    else c.tcpAnnounces++;
    const r = out.result;
    out.refused = out.stopped = false;
    if (req.event === EVENT.stopped) {
      o.swarm.stop(req, r);
      // Every stop is told, even of a peer or torrent this node does not know: another may.
      o.sync?.add(
        req.infoHash,
        req.ip,
        req.port,
        PEER_FLAG.stopped | (req.seeding ? PEER_FLAG.seeding : 0),
      );
      out.stopped = true;
      // A stop reply always gets the normal interval (never the popular one).
      out.interval = announceInterval(o.prng, o.interval);
      this.#copyCounts(out);
      return;
    }
    if (!o.access.allowed(req.infoHash, 0)) {
      if (protocol === PROTOCOL.udp) c.udpRefused++;
      else c.httpRefused++;
      out.refused = true;
      return;
    }
    const reply = protocol === PROTOCOL.udp ? REPLY.ownFamily : REPLY.bothFamilies;
    o.swarm.announce(req, Math.floor(nowSeconds / 60), reply, false, r);
    this.#tellCluster(req, r);
    this.#countAnnounce(req, r);
    out.interval = announceInterval(o.prng, o.interval, r.familyPeers, r.probation);
    this.#copyCounts(out);
  }

  #copyCounts(out: AnnounceOutcome): void {
    const r = out.result;
    out.seeders = r.seeders;
    out.leechers = r.leechers;
    out.downloaded = r.downloaded;
    out.n4 = r.n4;
    out.n6 = r.n6;
  }

  /** A new peer, a fresh completion, or a renewal of a peer the cluster may have dropped. */
  #tellCluster(req: AnnounceRequest, r: AnnounceResult): void {
    const sync = this.#o.sync;
    if (sync === null) return;
    if (!r.isNewPeer && !r.completed && r.renewedAgeMinutes <= SYNC_RENEW_BOUNDARY_MINUTES) return;
    sync.add(req.infoHash, req.ip, req.port, requestFlags(req));
  }

  #countAnnounce(req: AnnounceRequest, r: AnnounceResult): void {
    const o = this.#o;
    if (r.completed) o.counters.completed++;
    const age = r.renewedAgeMinutes;
    if (age < 0) return;
    o.counters.renew[age]++;
    if (age >= WOODPECKER_AGE_MINUTES[0] && age <= WOODPECKER_AGE_MINUTES[1]) {
      o.woodpeckers.record(req.ip);
    }
  }

  /** Counts one scrape request of `ip` over `protocol` (its hashes go to {@link scrape}). */
  countScrape(protocol: number, ip: Uint8Array): void {
    const c = this.#o.counters;
    c.requests[requestIndex(protocol, !isV4Mapped(ip, 0), ACTION_KIND.scrape)]++;
    if (protocol === PROTOCOL.udp) c.udpScrapes++;
    else c.tcpScrapes++;
  }

  /**
   * Counts of the torrent `hashes[off..off+20)` after cleaning it; false when it is unknown.
   * Scrapes are not access-checked (opentracker does not check them either).
   */
  scrape(hashes: Uint8Array, off: number, nowSeconds: number, out: ScrapeCounts): boolean {
    return this.#o.swarm.scrape(hashes, off, Math.floor(nowSeconds / 60), out);
  }

  /**
   * A WebSocket announce on the connection `link`; null when the access list refuses the
   * torrent (a stop is never refused). The outcome names the connections its offers go to.
   * WebSocket peers are a swarm of their own (a browser reaches only browsers): they are not
   * told to live sync, whose records carry addresses.
   */
  wsAnnounce(a: WsAnnounce, link: WsLink, nowMs: number): WsAnnounceOutcome<WsLink> | null {
    const o = this.#o;
    o.counters.wsAnnounces++;
    o.clients.count(a.peerId);
    if (a.event !== EVENT.stopped && !o.access.allowed(a.infoHash, 0)) {
      o.counters.wsRefused++;
      return null;
    }
    return o.ws.announce(a, link, nowMs);
  }

  /**
   * The connection of the peer an answer goes to at `nowMs`; null when it has gone, `LIMITED`
   * when it had its fill of relayed messages.
   */
  wsAnswerTarget(
    hashKey: string,
    toPeerKey: string,
    nowMs: number,
  ): WsLink | typeof LIMITED | null {
    return this.#o.ws.answerTarget(hashKey, toPeerKey, nowMs);
  }

  /** The WebSocket scrape counts of this worker's `k` torrents with the most peers. */
  wsTop(k: number): WsScrapeEntry[] {
    return this.#o.ws.top(k);
  }

  /** WebSocket scrape counts of a torrent, or null when it has no WebSocket peers. */
  wsScrape(
    infoHash: Uint8Array,
  ): { complete: number; incomplete: number; downloaded: number } | null {
    return this.#o.ws.scrape(infoHash);
  }

  /** A WebSocket connection closed: its peers go. */
  wsClosed(link: WsLink): void {
    this.#o.ws.closeConnection(link);
  }

  /** True while the connection `link` holds WebSocket peers here. */
  wsHolds(link: WsLink): boolean {
    return this.#o.ws.holds(link);
  }

  /** Drops the WebSocket peers that have not announced since `nowMs - timeoutMs`. */
  wsExpire(nowMs: number, timeoutMs: number): void {
    this.#o.ws.expire(nowMs, timeoutMs);
  }

  /**
   * A record received from the cluster (`req` holds its info_hash, address and port; `flags`
   * its peer flags): applied like a local announce (access list, budgets, seeding and
   * completion counts) with the FROM_SYNC flag, never told again, no reply.
   */
  applySync(req: AnnounceRequest, flags: number, nowSeconds: number): void {
    const o = this.#o;
    const r = this.#syncResult;
    req.seeding = (flags & PEER_FLAG.seeding) !== 0;
    req.numwant = 0;
    if (flags & PEER_FLAG.stopped) {
      req.event = EVENT.stopped;
      o.swarm.stop(req, r);
      return;
    }
    req.event = flags & PEER_FLAG.completed ? EVENT.completed : EVENT.none;
    if (!o.access.allowed(req.infoHash, 0)) {
      o.counters.livesyncRefused++;
      return;
    }
    o.swarm.announce(req, Math.floor(nowSeconds / 60), REPLY.none, true, r);
    if (r.completed) o.counters.completed++;
  }
}
