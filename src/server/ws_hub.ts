/**
 * The WebSocket (WebTorrent) frontend of one worker: takes upgrades from the HTTP server, holds
 * the upgraded connections, reads their messages (protocol/ws_tracker.ts), calls the tracker
 * logic, and writes the replies and relays to the connections the logic names.
 *
 * A message about a torrent is handled by the worker that owns the torrent (`tracker.workers`),
 * where its WebSocket peers are kept: a message on a connection of this worker about another
 * worker's torrent is handed to that worker as it came (a ring record, server/shard_link.ts), and
 * what the owner sends back — the reply, offers and answers for any connection of any worker —
 * goes to a {@link WsLink}: a connection of this worker is written to at once, one of another
 * worker through its ring. A scrape naming torrents of several workers gets one reply from each.
 * When a connection closes, every worker it talked to drops its peers.
 */

import { DEFAULTS } from "../types.ts";
import { Counters } from "../stats/counters.ts";
import { TrackerLogic } from "../logic/tracker_logic.ts";
import { LIMITED, WsLink } from "../logic/ws_swarm.ts";
import { ascii, RequestHead } from "../protocol/http1.ts";
import { handshakeProblem, handshakeRefusal, switchingProtocols } from "../protocol/websocket.ts";
import {
  announceHashOf,
  parseWsMessage,
  toBinaryString,
  writeAnnounceReply,
  writeAnswer,
  writeError,
  writeOffer,
  writeScrapeReply,
  WS_LIMITS,
  WsAnnounce,
  WsError,
  WsScrape,
  WsScrapeEntry,
} from "../protocol/ws_tracker.ts";
import { SHARD_MESSAGE } from "../protocol/shard_message.ts";
import { ConnectionTable, Tracked } from "./connections.ts";
import { ShardLink } from "./shard_link.ts";
import { connectionEnded, TcpConn, writeAll } from "./conn_io.ts";
import { ThrottledLog } from "../util/throttled_log.ts";
import {
  queuedBytesHere,
  WsConnection,
  WsConnectionEvents,
  WsConnectionLimits,
} from "./ws_connection.ts";

/**
 * How often silent connections are looked for and pinged: at most this, and at most a quarter of
 * the timeout, so that a ping goes out between half and three quarters of the silence and the
 * client has at least a quarter of the timeout to answer before the close.
 */
const SWEEP_INTERVAL_MS = 1000;
/** How often peers that stopped announcing are looked for (a walk over every WebSocket peer). */
const EXPIRE_INTERVAL_MS = 30_000;
/**
 * A full scrape (a scrape without info_hash) lists the torrents with the most WebSocket peers, at
 * most this many over all workers (each worker sends its share): about 40–80 KiB of JSON, within a
 * connection's send limit.
 */
const FULL_SCRAPE_TORRENTS_MAX = 500;
/** A worker's full scrape reply is built at most this often (requests in between share it). */
const FULL_SCRAPE_CACHE_MS = 10_000;
/** The full scrape handed to another worker (only after this worker admitted it). */
const FULL_SCRAPE_UTF8 = new TextEncoder().encode(JSON.stringify({ action: "scrape" }));

/** Options of {@link WsHub}. */
export interface WsHubOptions {
  logic: TrackerLogic;
  counters: Counters;
  table: ConnectionTable;
  /** This worker's number (0 with one worker). */
  worker: number;
  /** Most open WebSocket connections of this worker. */
  connectionsMax: number;
  limits: WsConnectionLimits;
  /** The interval announce replies give. */
  intervalSeconds: number;
  /** Silence after which a connection closes (the table's deadline); pinged at half. */
  timeoutMs: number;
  /** With several workers: this worker's links to the others. */
  shards: ShardLink | null;
  /** Where a connection's unexpected failure is reported. */
  log: (line: string) => void;
  /** A scrape without info_hash lists the busiest torrents (`access.fullscrape`). */
  fullScrape: boolean;
  /** Seconds between two full scrapes of one connection; 0 = no limit. */
  fullScrapeIntervalSeconds: number;
}

const NOT_AUTHORIZED = "Requested download is not authorized for use with this tracker.";
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const DUPLICATE_NAMES = "invalid message: info_hash or action given more than once";

/** The 503 a handshake gets when the WebSocket connections are at their cap. */
const AT_CAP = encoder.encode(
  "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: text/plain\r\n" +
    "Content-Length: 39\r\nRetry-After: 60\r\n\r\ntoo many WebSocket connections, retry\n",
);

/** Paths a WebSocket tracker is reached on: `/announce` and `/`, with any query. */
export function isWebSocketPath(head: RequestHead): boolean {
  const target = ascii(head.buf, head.targetStart, Math.min(head.targetEnd, head.targetStart + 10));
  return target === "/" || target.startsWith("/?") || target === "/announce" ||
    target.startsWith("/announce?");
}

/** The WebSocket connections of one worker and their messages. */
export class WsHub {
  readonly #o: WsHubOptions;
  readonly #conns = new Map<number, WsConnection>();
  readonly #byTracked = new Map<Tracked, WsConnection>();
  /** Connections of other workers that sent messages here, by worker × 2^31 + id. */
  readonly #remote = new Map<number, WsLink>();
  /** The other workers each local connection sent messages to (told when it closes). */
  readonly #contacted = new Map<WsConnection, Set<number>>();
  readonly #sweeper: ReturnType<typeof setInterval>;
  #nextId = 1;
  #expiredAt = performance.now();
  /** Connections that failed unexpectedly: a line per period at most, with a count. */
  readonly #failureLog: ThrottledLog;
  /** This worker's full scrape reply and when it was built. */
  #fullScrapeText: string | null = null;
  #fullScrapeAt = 0;

  /** What the connections report: one object for all of them (each call names its connection). */
  readonly #events: WsConnectionEvents = {
    message: (c, utf8) => this.#message(c, utf8),
    overRate: (c) =>
      this.#refuse(c.link, {
        reason: `too many messages: at most ${this.#o.limits.messagesPerSecond} per second`,
        action: null,
        infoHash: null,
      }),
    protocolError: () => this.#o.counters.wsClosedProtocol++,
    slowReader: () => this.#o.counters.wsClosedSlow++,
    ended: (c, error) => this.#ended(c, error),
  };

  constructor(options: WsHubOptions) {
    this.#failureLog = new ThrottledLog(options.log);
    this.#o = options;
    this.#sweeper = setInterval(
      () => this.sweep(performance.now()),
      Math.min(SWEEP_INTERVAL_MS, options.timeoutMs / 4),
    );
  }

  /** Open WebSocket connections of this worker. */
  get open(): number {
    return this.#conns.size;
  }

  /** Bytes queued for WebSocket clients of this worker. */
  get queuedBytes(): number {
    return queuedBytesHere();
  }

  /** Stops the sweeps (the HTTP server closes the connections). */
  close(): void {
    clearInterval(this.#sweeper);
  }

  /**
   * Serves an upgrade request on `conn` (tracked as `t`): refuses a bad handshake or one over the
   * cap with an HTTP error (false: the caller closes the connection), else switches protocols and
   * takes the connection (true): it is served until it closes, and its table entry released and
   * socket closed then, here. `rest` holds the bytes read after the head. `head` is read before
   * the first await only (the caller drops its buffer then).
   */
  async upgrade(conn: TcpConn, t: Tracked, head: RequestHead, rest: Uint8Array): Promise<boolean> {
    const o = this.#o;
    const problem = handshakeProblem(head);
    if (problem !== null || this.#conns.size >= o.connectionsMax) {
      o.counters.wsHandshakesRefused++;
      await writeAll(conn, problem === null ? AT_CAP : handshakeRefusal(problem));
      return false;
    }
    await writeAll(conn, switchingProtocols(head));
    o.counters.wsHandshakes++;
    const id = this.#nextId;
    this.#nextId = this.#nextId >= 0x7fffffff ? 1 : this.#nextId + 1;
    const c = new WsConnection(conn, t, { worker: o.worker, id }, o.table, o.limits, this.#events);
    this.#conns.set(id, c);
    this.#byTracked.set(t, c);
    // Not awaited by anything: a WebSocket that stays open for hours keeps only its own read
    // loop (measured: each frame and promise waiting on it cost an idle connection ~300 bytes).
    // The loop never rejects; its end comes back as the `ended` event.
    void c.run(rest);
    return true;
  }

  /** Resolves once every WebSocket connection has ended (after the table closed them all). */
  drained(): Promise<void> {
    if (this.#conns.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#wakeDrained = resolve);
  }

  #wakeDrained: (() => void) | null = null;

  /** A connection ended (its socket is closed, its entry released): its peers go everywhere. */
  #ended(c: WsConnection, error: unknown): void {
    const o = this.#o;
    // A wss:// client's TLS is counted as the HTTP server counts it; anything else is logged.
    connectionEnded("WebSocket", error, o.table.counters, this.#failureLog);
    this.#conns.delete(c.link.id);
    this.#byTracked.delete(c.tracked);
    // Nothing awaits the connection's loop, which calls this from its end: a failure here is
    // logged, never left to end the process as an unhandled rejection.
    const contacted = this.#contacted.get(c);
    this.#contacted.delete(c);
    try {
      o.logic.wsClosed(c.link);
      if (contacted !== undefined) {
        for (const to of contacted) o.shards!.sendWs(to, SHARD_MESSAGE.wsClosed, c.link.id, null);
        o.shards!.flush();
      }
    } catch (e) {
      o.log(`WebSocket close failed: ${e instanceof Error ? e.stack : e}`);
    }
    if (this.#conns.size === 0 && this.#wakeDrained !== null) {
      const wake = this.#wakeDrained;
      this.#wakeDrained = null;
      wake();
    }
  }

  /** Pings the connections silent for half the timeout (once each) and drops silent peers. */
  sweep(nowMs: number): void {
    const o = this.#o;
    o.table.eachSilentWebSocket(nowMs - o.timeoutMs / 2, (t) => {
      const c = this.#byTracked.get(t);
      if (c !== undefined && !c.pinged) c.ping();
    });
    // A peer that has not announced for two intervals has gone, whatever its connection does.
    if (nowMs - this.#expiredAt >= EXPIRE_INTERVAL_MS) {
      this.#expiredAt = nowMs;
      o.logic.wsExpire(nowMs, 2000 * o.intervalSeconds);
      // A connection of another worker whose peers all went is forgotten here (its close may
      // have been lost at a full ring); it comes back with its next message.
      for (const [key, link] of this.#remote) {
        if (!o.logic.wsHolds(link)) this.#remote.delete(key);
      }
    }
  }

  /** Tells `to` why its message was refused (counted among the bad messages). */
  #refuse(to: WsLink, e: Pick<WsError, "reason" | "action" | "infoHash">): void {
    this.#o.counters.wsBadMessages++;
    this.deliver(to, writeError(e));
  }

  /** Delivers `text` to the connection `link`; false when it has gone (or a ring was full). */
  deliver(link: WsLink, text: string): boolean {
    const o = this.#o;
    if (link.worker !== o.worker) {
      return o.shards!.sendWs(link.worker, SHARD_MESSAGE.wsDeliver, link.id, encoder.encode(text));
    }
    const c = this.#conns.get(link.id);
    return c !== undefined && c.link === link && c.sendText(text);
  }

  #message(c: WsConnection, utf8: Uint8Array): void {
    const o = this.#o;
    o.counters.wsMessages++;
    if (o.shards !== null && utf8.length <= o.shards.wsTextBytesMax) {
      // An announce for another worker's torrent goes there as it came: read only as far as its
      // info_hash (the owner parses it whole), not decoded, parsed and encoded again here.
      const hash = announceHashOf(utf8);
      const owner = hash === null ? o.worker : o.shards.map.of(hash);
      if (owner !== o.worker) {
        this.#forward(c, owner, utf8, hash);
        o.shards.flush();
        return;
      }
    }
    const m = parseWsMessage(decoder.decode(utf8), WS_LIMITS);
    if (m.kind === "error") this.#refuse(c.link, m);
    else if (m.kind === "scrape") {
      this.#routeScrape(c, m);
    } else {
      const owner = o.shards === null ? o.worker : o.shards.map.of(m.infoHash);
      if (owner === o.worker) this.#announce(m, c.link, c.readMs);
      else this.#forward(c, owner, utf8, m.infoHash);
    }
    o.shards?.flush();
  }

  /** Hands a message to the worker that owns its torrent. */
  #forward(c: WsConnection, owner: number, bytes: Uint8Array, infoHash: Uint8Array | null): void {
    const o = this.#o;
    const shards = o.shards!;
    let why: string | null = null;
    if (bytes.length > shards.wsTextBytesMax) {
      why = `message too long for this tracker's workers: at most ${shards.wsTextBytesMax} bytes`;
    } else if (!shards.sendWs(owner, SHARD_MESSAGE.wsMessage, c.link.id, bytes)) {
      why = "the tracker is busy, retry";
    }
    if (why !== null) {
      this.#refuse(c.link, {
        reason: why,
        action: infoHash === null ? "scrape" : "announce",
        infoHash,
      });
      return;
    }
    let contacted = this.#contacted.get(c);
    if (contacted === undefined) this.#contacted.set(c, contacted = new Set());
    contacted.add(owner);
  }

  /** A message another worker's connection sent about a torrent of this worker. */
  received(from: number, id: number, utf8: Uint8Array): void {
    const key = from * 0x80000000 + id;
    let link = this.#remote.get(key);
    if (link === undefined) this.#remote.set(key, link = { worker: from, id });
    const m = parseWsMessage(decoder.decode(utf8), WS_LIMITS);
    // Handed here unparsed (an announce by its info_hash): its errors are told from here.
    if (m.kind === "error") this.#refuse(link, m);
    else if (m.kind === "announce" && this.#o.shards!.map.of(m.infoHash) !== this.#o.worker) {
      // Handed here by the first of two info_hash names (see announceHashOf): not this worker's.
      this.#refuse(link, { reason: DUPLICATE_NAMES, action: "announce", infoHash: null });
    } else if (m.kind === "announce") this.#announce(m, link, performance.now());
    // A scrape without hashes comes here only as a full scrape the sender's worker admitted.
    else if (m.kind === "scrape" && m.infoHashes.length === 0) this.#fullScrape(link);
    else if (m.kind === "scrape") this.#scrape(link, m.infoHashes);
  }

  /** A message the owner of a torrent sends to connection `id` of this worker. */
  delivered(id: number, utf8: Uint8Array): void {
    // Framed as it came: the ring's bytes are copied into the frame, never decoded.
    this.#conns.get(id)?.sendUtf8(utf8);
  }

  /** Connection `id` of worker `from` closed: its peers here go. */
  remoteClosed(from: number, id: number): void {
    const key = from * 0x80000000 + id;
    const link = this.#remote.get(key);
    if (link === undefined) return;
    this.#remote.delete(key);
    this.#o.logic.wsClosed(link);
  }

  #announce(a: WsAnnounce, from: WsLink, nowMs: number): void {
    const o = this.#o;
    const out = o.logic.wsAnnounce(a, from, nowMs);
    if (out === null || out.refused !== null) {
      const reason = out === null ? NOT_AUTHORIZED : out.refused!;
      this.deliver(from, writeError({ reason, action: "announce", infoHash: a.infoHash }));
      return;
    }
    // An announce that carries an answer gets no reply of its own (as bittorrent-tracker does).
    if (a.answer === null) {
      this.deliver(
        from,
        writeAnnounceReply(a.hashKey, out.complete, out.incomplete, o.intervalSeconds),
      );
    }
    for (let i = 0; i < out.targets.length; i++) {
      if (this.deliver(out.targets[i].conn, writeOffer(a.hashKey, a.peerKey, a.offers[i]))) {
        o.counters.wsOffersRelayed++;
      }
    }
    o.counters.wsOffersLimited += out.limited;
    if (a.answer !== null) {
      const to = o.logic.wsAnswerTarget(a.hashKey, a.answer.toPeerKey, nowMs);
      if (to === LIMITED) o.counters.wsAnswersLimited++;
      else {
        const text = writeAnswer(a.hashKey, a.peerKey, a.answer.offerId, a.answer.answer);
        if (to !== null && this.deliver(to, text)) o.counters.wsAnswersRelayed++;
        else o.counters.wsAnswersUndelivered++;
      }
    }
  }

  /** A scrape: this worker's torrents answered here, each other owner's handed to it. */
  #routeScrape(c: WsConnection, s: WsScrape): void {
    const o = this.#o;
    o.counters.wsScrapes++;
    if (s.infoHashes.length === 0) return this.#routeFullScrape(c);
    if (o.shards === null) return this.#scrape(c.link, s.infoHashes);
    const byOwner = new Map<number, Uint8Array[]>();
    for (const h of s.infoHashes) {
      const owner = o.shards.map.of(h);
      let list = byOwner.get(owner);
      if (list === undefined) byOwner.set(owner, list = []);
      list.push(h);
    }
    for (const [owner, hashes] of byOwner) {
      if (owner === o.worker) this.#scrape(c.link, hashes);
      else {
        const text = JSON.stringify({
          action: "scrape",
          info_hash: hashes.map((h) => toBinaryString(h)),
        });
        this.#forward(c, owner, encoder.encode(text), null);
      }
    }
  }

  /**
   * A scrape without info_hash: when full scrapes are on and the connection's last one is older
   * than the interval, every worker answers with its busiest torrents; else a failure reason.
   */
  #routeFullScrape(c: WsConnection): void {
    const o = this.#o;
    const name = `name the torrents to scrape in info_hash (at most ${WS_LIMITS.scrapeHashesMax})`;
    let why: string | null = null;
    if (!o.fullScrape) why = `${name}: full scrapes are off`;
    else if (
      o.fullScrapeIntervalSeconds > 0 && c.fullScrapedMs >= 0 &&
      c.readMs - c.fullScrapedMs < o.fullScrapeIntervalSeconds * 1000
    ) {
      why = `one full scrape per ${o.fullScrapeIntervalSeconds} seconds; ${name}`;
    }
    if (why !== null) {
      this.#refuse(c.link, { reason: why, action: "scrape", infoHash: null });
      return;
    }
    c.fullScrapedMs = c.readMs;
    const workers = o.shards?.map.count ?? 1;
    for (let w = 0; w < workers; w++) {
      if (w === o.worker) this.#fullScrape(c.link);
      else this.#forward(c, w, FULL_SCRAPE_UTF8, null);
    }
  }

  /** This worker's share of a full scrape, to `to`. */
  #fullScrape(to: WsLink): void {
    const o = this.#o;
    const now = performance.now();
    if (this.#fullScrapeText === null || now - this.#fullScrapeAt >= FULL_SCRAPE_CACHE_MS) {
      const workers = o.shards?.map.count ?? 1;
      const k = Math.max(10, Math.floor(FULL_SCRAPE_TORRENTS_MAX / workers));
      this.#fullScrapeText = writeScrapeReply(o.logic.wsTop(k));
      this.#fullScrapeAt = now;
    }
    this.deliver(to, this.#fullScrapeText);
  }

  #scrape(to: WsLink, hashes: readonly Uint8Array[]): void {
    const o = this.#o;
    const entries: WsScrapeEntry[] = hashes.map((infoHash) => ({
      hashKey: toBinaryString(infoHash),
      ...(o.logic.wsScrape(infoHash) ?? { complete: 0, incomplete: 0, downloaded: 0 }),
    }));
    this.deliver(to, writeScrapeReply(entries));
  }
}

/** The limits of a connection: the configured message rate, the frame and queue bounds. */
export function wsConnectionLimits(messagesPerSecond: number): WsConnectionLimits {
  return {
    messageBytesMax: DEFAULTS.wsMessageBytesMax,
    fragmentsMax: 16,
    sendBufferBytesMax: DEFAULTS.wsSendBufferBytesMax,
    messagesPerSecond,
  };
}
