/**
 * The HTTP tracker routes: announce and scrape. Parse the query (protocol/http_request.ts), ask
 * the tracker logic, write opentracker's bencoded body (protocol/http_response.ts) with the peers
 * straight into the reply buffer.
 */

import {
  FAILURE_NO_INFO_HASH,
  FAILURE_NOT_AUTHORIZED,
  writeAnnounceBody,
  writeScrapeEntry,
  writeScrapeHead,
  writeScrapeTail,
  writeStopBody,
} from "../protocol/http_response.ts";
import { putAscii } from "../protocol/http_response.ts";
import { HttpRequestParser, PARSE } from "../protocol/http_request.ts";
import { HTTP_ERROR, PROTOCOL } from "../stats/counters.ts";
import { AnnounceOutcome, TrackerLogic } from "../logic/tracker_logic.ts";
import { AnnounceRequest, LIMITS } from "../types.ts";
import { isV4Mapped } from "../util/ip.ts";
import {
  fromOf,
  HTTP_ANNOUNCE_BYTES,
  readHttpAnnounce,
  requestIdOf,
  writeHttpAnnounce,
  writeHttpAnnounceConn,
} from "../protocol/shard_message.ts";
import {
  copyReply,
  ERROR_PAGE,
  HANDED_OVER,
  HttpReply,
  ReplyWriter,
  separateReply,
} from "./http_reply.ts";
import { gatheredCounts, ScrapeGather, ShardLink } from "./shard_link.ts";
import { Detachable } from "./conn_io.ts";

/** Announce and scrape over HTTP. */
export class TrackerRoutes {
  readonly #logic: TrackerLogic;
  readonly #w: ReplyWriter;
  readonly #req = new AnnounceRequest();
  readonly #outcome: AnnounceOutcome;
  readonly #counts = { seeders: 0, leechers: 0, downloaded: 0 };
  readonly #order = new Int32Array(LIMITS.httpScrapeHashesMax);
  readonly #shards: ShardLink | null;
  readonly #forwarded = new AnnounceRequest();

  /** `shards`: with several workers, this worker's links; other workers' torrents go there. */
  constructor(logic: TrackerLogic, writer: ReplyWriter, shards: ShardLink | null = null) {
    this.#logic = logic;
    this.#w = writer;
    this.#outcome = logic.newOutcome();
    this.#shards = shards;
  }

  /**
   * An announce whose target `parser` routed; `ip` is the client (16 bytes). `connection`: when
   * this is the connection's last request (and its descriptor can be handed over), an announce of
   * another worker's torrent goes there with the connection, and {@link HANDED_OVER} is returned.
   */
  announce(
    parser: HttpRequestParser,
    ip: Uint8Array,
    nowSeconds: number,
    connection: Detachable | null = null,
  ): HttpReply | Promise<HttpReply> {
    const w = this.#w;
    const req = this.#req;
    req.ip.set(ip);
    const parsed = parser.parseAnnounce(req);
    if (parsed === PARSE.badParameter) return w.error(ERROR_PAGE.badRequest);
    if (parsed === PARSE.badCompact) return w.error(ERROR_PAGE.badRequest, HTTP_ERROR.compact400);
    if (parsed === PARSE.noInfoHash) return w.text(FAILURE_NO_INFO_HASH);
    const link = this.#shards;
    if (link !== null) {
      const owner = link.map.of(req.infoHash, 0);
      if (owner !== link.index) {
        return connection === null
          ? this.#forward(link, owner, req)
          : this.#handOver(link, owner, req, connection);
      }
    }
    return w.ok(this.#answer(req, nowSeconds, w.out));
  }

  /** Writes the body of the announce `req` into `out`; returns its length. */
  #answer(req: AnnounceRequest, nowSeconds: number, out: Uint8Array): number {
    const outcome = this.#outcome;
    this.#logic.announce(req, PROTOCOL.http, nowSeconds, outcome);
    if (outcome.refused) return putAscii(out, 0, FAILURE_NOT_AUTHORIZED);
    if (outcome.stopped) {
      return writeStopBody(out, 0, outcome, outcome.interval, !isV4Mapped(req.ip, 0));
    }
    return writeAnnounceBody(out, 0, outcome);
  }

  /** Hands the announce to the worker that owns its torrent and waits for the body. */
  #forward(link: ShardLink, owner: number, req: AnnounceRequest): HttpReply | Promise<HttpReply> {
    let resolve!: (r: HttpReply) => void;
    const reply = new Promise<HttpReply>((r) => resolve = r);
    const id = link.expectHttp((body) => {
      // No answer in time (a full ring dropped it): the client may retry.
      resolve(body === null ? this.#unavailable() : separateReply(body));
    });
    if (id < 0) return this.#w.error(ERROR_PAGE.unavailable);
    const at = link.reserve(owner, HTTP_ANNOUNCE_BYTES);
    if (at < 0) {
      link.forgetHttp(id);
      return this.#w.error(ERROR_PAGE.unavailable);
    }
    writeHttpAnnounce(link.buffer(owner), at, link.index, id, req);
    link.flush();
    return reply;
  }

  /**
   * Hands the announce and its connection to the worker that owns its torrent: it replies on the
   * connection and closes it. Nothing comes back, and this worker need not wake for a reply.
   */
  #handOver(
    link: ShardLink,
    owner: number,
    req: AnnounceRequest,
    connection: Detachable,
  ): HttpReply {
    const at = link.reserve(owner, HTTP_ANNOUNCE_BYTES);
    if (at < 0) return this.#w.error(ERROR_PAGE.unavailable);
    // The reserved record goes out with the next flush whatever happens, so it is always written
    // whole. A connection that cannot be detached (the session never asks then) sends -1: the
    // owner's write to it fails, and this worker's session closes the connection.
    let fd = -1;
    try {
      fd = connection.detach();
    } catch { /* see above */ }
    writeHttpAnnounceConn(link.buffer(owner), at, link.index, fd, req);
    link.flush();
    return HANDED_OVER;
  }

  /** A scrape of torrents that several workers own: asks them, then writes the body. */
  #gatherScrape(
    link: ShardLink,
    hashes: Uint8Array,
    n: number,
    nowSeconds: number,
  ): HttpReply | Promise<HttpReply> {
    // The distinct hashes in ascending order, copied: the parser's buffer is reused.
    const order = this.#order;
    const sorted = new Uint8Array(20 * n);
    let m = 0;
    for (let k = 0; k < n; k++) {
      const at = order[k] * 20;
      if (k > 0 && compareHash(hashes, order[k - 1] * 20, at) === 0) continue;
      sorted.set(hashes.subarray(at, at + 20), 20 * m++);
    }
    let resolve!: (r: HttpReply) => void;
    const reply = new Promise<HttpReply>((r) => resolve = r);
    const asked = link.gatherScrape(
      m,
      sorted,
      (k) => 20 * k,
      (h, o, c) => this.#logic.scrape(h, o, nowSeconds, c),
      (done: ScrapeGather | null) => {
        if (done === null) return resolve(this.#unavailable());
        const out = new Uint8Array(64 + 128 * m);
        const counts = { seeders: 0, leechers: 0, downloaded: 0 };
        let off = writeScrapeHead(out, 0);
        for (let k = 0; k < m; k++) {
          if (gatheredCounts(done, k, counts)) {
            off = writeScrapeEntry(out, off, sorted, 20 * k, counts);
          }
        }
        resolve(separateReply(out.subarray(0, writeScrapeTail(out, off))));
      },
    );
    if (!asked) return this.#w.error(ERROR_PAGE.unavailable);
    link.flush();
    return reply;
  }

  /** A 503 in a reply of its own (answers that come after an await). */
  #unavailable(): HttpReply {
    return copyReply(this.#w.error(ERROR_PAGE.unavailable));
  }

  /** Answers an HTTP announce another worker received (the record at `data[at]`). */
  answerForwarded(data: Uint8Array, at: number, nowSeconds: number): void {
    const length = this.#answerRecord(data, at, nowSeconds);
    this.#shards!.replyHttp(fromOf(data, at), requestIdOf(data, at), this.#w.out, length);
  }

  /** Writes the body for the HTTP announce record at `data[at]` into the reply buffer. */
  #answerRecord(data: Uint8Array, at: number, nowSeconds: number): number {
    readHttpAnnounce(data, at, this.#forwarded);
    return this.#answer(this.#forwarded, nowSeconds, this.#w.out);
  }

  /**
   * Answers an HTTP announce that another worker handed over with its connection (the record at
   * `data[at]`): the reply to write on the descriptor {@link requestIdOf} names.
   */
  answerHandedOver(data: Uint8Array, at: number, nowSeconds: number): HttpReply {
    return this.#w.ok(this.#answerRecord(data, at, nowSeconds));
  }

  /**
   * A scrape. Unlike opentracker, entries are sorted by hash and duplicates dropped, so that the
   * `files` dictionary is valid bencode; unknown torrents are omitted, as upstream.
   */
  scrape(
    parser: HttpRequestParser,
    ip: Uint8Array,
    nowSeconds: number,
  ): HttpReply | Promise<HttpReply> {
    const w = this.#w;
    if (parser.parseScrape() !== PARSE.ok) return w.error(ERROR_PAGE.badRequest);
    this.#logic.countScrape(PROTOCOL.http, ip);
    const hashes = parser.scrapeHashes;
    const n = parser.scrapeCount;
    const order = this.#order;
    for (let i = 0; i < n; i++) {
      let j = i;
      while (j > 0 && compareHash(hashes, order[j - 1] * 20, i * 20) > 0) {
        order[j] = order[j - 1];
        j--;
      }
      order[j] = i;
    }
    const link = this.#shards;
    if (link !== null) {
      for (let k = 0; k < n; k++) {
        if (link.map.of(hashes, order[k] * 20) !== link.index) {
          return this.#gatherScrape(link, hashes, n, nowSeconds);
        }
      }
    }
    const out = w.out;
    const counts = this.#counts;
    let off = writeScrapeHead(out, 0);
    for (let k = 0; k < n; k++) {
      const at = order[k] * 20;
      if (k > 0 && compareHash(hashes, order[k - 1] * 20, at) === 0) continue;
      if (this.#logic.scrape(hashes, at, nowSeconds, counts)) {
        off = writeScrapeEntry(out, off, hashes, at, counts);
      }
    }
    return w.ok(writeScrapeTail(out, off));
  }
}

function compareHash(b: Uint8Array, x: number, y: number): number {
  for (let i = 0; i < 20; i++) {
    const d = b[x + i] - b[y + i];
    if (d !== 0) return d;
  }
  return 0;
}
