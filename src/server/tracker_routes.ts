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
import { HttpRequestParser, PARSE } from "../protocol/http_request.ts";
import { HTTP_ERROR, PROTOCOL } from "../stats/counters.ts";
import { AnnounceOutcome, TrackerLogic } from "../logic/tracker_logic.ts";
import { AnnounceRequest, LIMITS } from "../types.ts";
import { isV4Mapped } from "../util/ip.ts";
import { ERROR_PAGE, HttpReply, ReplyWriter } from "./http_reply.ts";

/** Announce and scrape over HTTP. */
export class TrackerRoutes {
  readonly #logic: TrackerLogic;
  readonly #w: ReplyWriter;
  readonly #req = new AnnounceRequest();
  readonly #outcome: AnnounceOutcome;
  readonly #counts = { seeders: 0, leechers: 0, downloaded: 0 };
  readonly #order = new Int32Array(LIMITS.httpScrapeHashesMax);

  constructor(logic: TrackerLogic, writer: ReplyWriter) {
    this.#logic = logic;
    this.#w = writer;
    this.#outcome = logic.newOutcome();
  }

  /** An announce whose target `parser` routed; `ip` is the client (16 bytes). */
  announce(parser: HttpRequestParser, ip: Uint8Array, nowSeconds: number): HttpReply {
    const w = this.#w;
    const req = this.#req;
    req.ip.set(ip);
    const parsed = parser.parseAnnounce(req);
    if (parsed === PARSE.badParameter) return w.error(ERROR_PAGE.badRequest);
    if (parsed === PARSE.badCompact) return w.error(ERROR_PAGE.badRequest, HTTP_ERROR.compact400);
    if (parsed === PARSE.noInfoHash) return w.text(FAILURE_NO_INFO_HASH);
    const outcome = this.#outcome;
    this.#logic.announce(req, PROTOCOL.http, nowSeconds, outcome);
    if (outcome.refused) return w.text(FAILURE_NOT_AUTHORIZED);
    if (outcome.stopped) {
      return w.ok(writeStopBody(w.out, 0, outcome, outcome.interval, !isV4Mapped(req.ip, 0)));
    }
    return w.ok(writeAnnounceBody(w.out, 0, outcome));
  }

  /**
   * A scrape. Unlike opentracker, entries are sorted by hash and duplicates dropped, so that the
   * `files` dictionary is valid bencode; unknown torrents are omitted, as upstream.
   */
  scrape(parser: HttpRequestParser, ip: Uint8Array, nowSeconds: number): HttpReply {
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
