/**
 * HTTP request targets: opentracker's routing (by the first characters of the path) and the
 * announce, scrape and stats query parameters, decoded binary-safely from the raw target bytes.
 *
 * Pure: no Deno APIs. Reuses one {@link UrlScanner} and one {@link AnnounceRequest}.
 */

import { AnnounceRequest, DEFAULTS, EVENT, LIMITS } from "../types.ts";
import { parseIp } from "../util/ip.ts";
import {
  CLASS_NAME,
  CLASS_PATH,
  CLASS_VALUE,
  decimal,
  parseDecimal,
  STOP,
  UrlScanner,
} from "./url_query.ts";

/** Where a request goes. */
export const ROUTE = {
  /** `GET /` with nothing after: 302 to the redirect URL, else 404. */
  root: 0,
  notFound: 1,
  announce: 2,
  scrape: 3,
  fullScrape: 4,
  stats: 5,
  /** 400 Invalid Request (parameter class). */
  badRequest: 6,
  /** Prometheus exposition (ours). */
  metrics: 7,
} as const;

/** Outcome of parsing a query. */
export const PARSE = {
  ok: 0,
  /** 200 with the "forgot to send your torrent's info_hash" failure reason. */
  noInfoHash: 1,
  /** 400 Invalid Request, counted as "400 Invalid Parameter". */
  badParameter: 2,
  /** 400 Invalid Request, counted as "400 Invalid Parameter (compact=0)". */
  badCompact: 3,
} as const;

/** Options for {@link HttpRequestParser}. */
export interface HttpRequestParserOptions {
  /** Stats path without leading slash. Default `stats`. */
  statsPath?: string;
  /** Whether `GET /scrape` without a query is a full scrape. Default false. */
  fullScrape?: boolean;
  /** Whether `ip=` overrides the client address (WANT_IP_FROM_QUERY_STRING). Default false. */
  ipFromQuery?: boolean;
  /** numwant when absent or negative. Default 50. */
  numwantDefault?: number;
  /** numwant cap. Default 200. */
  numwantMax?: number;
}

/** Parses request targets; one instance per server, reused for every request. */
export class HttpRequestParser {
  readonly scanner: UrlScanner = new UrlScanner(LIMITS.httpRequestBytesMax);
  readonly #name: UrlScanner = new UrlScanner(LIMITS.httpRequestBytesMax);
  #statsPath: string;
  #fullScrape: boolean;
  #ipFromQuery: boolean;
  #numwantDefault: number;
  #numwantMax: number;
  /** Index just past the `?` of the last routed target, or -1 when it had none. */
  queryStart = -1;
  /** Scraped hashes (20 bytes each), filled by {@link parseScrape}. */
  readonly scrapeHashes: Uint8Array = new Uint8Array(20 * LIMITS.httpScrapeHashesMax);
  scrapeCount = 0;
  /** Stats `mode` and `format` values of the last {@link parseStats} ("" when absent). */
  statsMode = "";
  statsFormat = "";

  constructor(options: HttpRequestParserOptions = {}) {
    this.#statsPath = options.statsPath ?? DEFAULTS.statsPath;
    this.#fullScrape = options.fullScrape ?? false;
    this.#ipFromQuery = options.ipFromQuery ?? false;
    this.#numwantDefault = options.numwantDefault ?? DEFAULTS.httpNumwantDefault;
    this.#numwantMax = options.numwantMax ?? DEFAULTS.httpNumwantMax;
  }

  /**
   * Routes the origin-form target `target[start, end)` (`start` at the first `/`). Sets
   * {@link queryStart}; later parse calls read the same target. Returns a {@link ROUTE} value.
   */
  route(target: Uint8Array, start: number, end = target.length): number {
    const s = this.scanner;
    let i = start;
    while (i < end && target[i] === 47 /* / */) i++;
    this.#target = target;
    this.#end = end;
    s.reset(target, i, end);
    const stop = s.decode(CLASS_PATH);
    this.queryStart = stop === STOP.question ? s.pos : -1;
    if (stop === STOP.error) return ROUTE.notFound;
    if (s.length === 0) return stop === STOP.end ? ROUTE.root : ROUTE.notFound;
    if (s.bytes[0] === 97 /* a */) {
      return stop === STOP.question ? ROUTE.announce : ROUTE.badRequest;
    }
    if (this.#fullScrape && stop === STOP.end && s.equals("scrape")) return ROUTE.fullScrape;
    if (s.startsWith("sc")) return stop === STOP.question ? ROUTE.scrape : ROUTE.badRequest;
    if (s.equals(this.#statsPath)) return ROUTE.stats;
    if (s.equals("metrics")) return ROUTE.metrics;
    return ROUTE.notFound;
  }

  #target: Uint8Array = new Uint8Array(0);
  #end = 0;
  #pos = 0;

  /**
   * Decodes the next `name=value` pair of the query into the name and value scanners. Names
   * without `=` (`&flag&`, `&&`) are skipped; a char outside its class is an error. Values of
   * names not in `known` are only skipped by opentracker, so their escapes are not checked.
   */
  #nextPair(known: readonly string[]): number {
    const name = this.#name;
    const value = this.scanner;
    while (true) {
      name.reset(this.#target, this.#pos, this.#end);
      if (name.atEnd()) return PAIR_END;
      const stop = name.decode(CLASS_NAME);
      if (stop === STOP.error) return PAIR_ERROR;
      if (stop === STOP.equals) {
        value.reset(this.#target, name.pos, this.#end);
        let isKnown = false;
        for (let k = 0; k < known.length && !isKnown; k++) isKnown = name.equals(known[k]);
        if (value.decode(CLASS_VALUE, !isKnown) === STOP.error) return PAIR_ERROR;
        this.#pos = value.pos;
        return PAIR_OK;
      }
      if (stop === STOP.end) return PAIR_END;
      this.#pos = name.pos + 1; // step over the unconsumed '&'
    }
  }

  #begin(): void {
    this.#pos = this.queryStart;
  }

  /**
   * Parses the announce query of the routed target (after {@link route} returned `announce`)
   * into `req`. `req.ip` must already hold the client address (it is replaced only by an
   * allowed `ip=`). Returns a {@link PARSE} value.
   */
  parseAnnounce(req: AnnounceRequest): number {
    this.#begin();
    req.port = 0;
    req.event = EVENT.none;
    req.seeding = false;
    req.numwant = this.#numwantDefault;
    req.hasPeerId = false;
    let haveHash = false;
    let stopped = false;
    let completed = false;
    const v = this.scanner;
    const n = this.#name;
    while (true) {
      const pair = this.#nextPair(ANNOUNCE_KEYS);
      if (pair === PAIR_END) break;
      if (pair === PAIR_ERROR) return PARSE.badParameter;
      if (n.equals("info_hash")) {
        if (haveHash || v.length !== 20) return PARSE.badParameter;
        req.infoHash.set(v.bytes.subarray(0, 20));
        haveHash = true;
      } else if (n.equals("port")) {
        // opentracker wraps negatives into ports (-1 is port 65535); we refuse them.
        if (!parseDecimal(v.bytes, v.length) || decimal.value < 0 || decimal.value > 65535) {
          return PARSE.badParameter;
        }
        req.port = decimal.value;
      } else if (n.equals("left")) {
        if (v.length === 0) return PARSE.badParameter;
        // Not a number counts as 0 (seeding), as in opentracker; but no 32-bit wrap.
        req.seeding = !parseDecimal(v.bytes, v.length) || decimal.zero;
      } else if (n.equals("event")) {
        if (v.equals("completed")) completed = true;
        else if (v.equals("stopped")) stopped = true;
      } else if (n.equals("numwant")) {
        if (!parseDecimal(v.bytes, v.length)) return PARSE.badParameter;
        const w = decimal.value;
        req.numwant = w < 0 ? this.#numwantDefault : w > this.#numwantMax ? this.#numwantMax : w;
      } else if (n.equals("compact") || n.equals("compact6")) {
        if (!parseDecimal(v.bytes, v.length)) return PARSE.badParameter;
        if (decimal.zero) return PARSE.badCompact;
      } else if (n.equals("peer_id")) {
        if (v.length !== 20) return PARSE.badParameter;
        // A byte loop rather than set(subarray()): no allocation per request.
        for (let i = 0; i < 20; i++) req.peerId[i] = v.bytes[i];
        req.hasPeerId = true;
      } else if (n.equals("ip") && this.#ipFromQuery) {
        if (!parseIp(latin1(v.bytes, v.length), req.ip)) return PARSE.badParameter;
      }
    }
    if (!haveHash) return PARSE.noInfoHash;
    req.event = stopped ? EVENT.stopped : completed ? EVENT.completed : EVENT.none;
    return PARSE.ok;
  }

  /**
   * Parses a scrape query into {@link scrapeHashes}/{@link scrapeCount}: only `info_hash` counts,
   * each must be 20 bytes, at least one is required, at most 64 are taken (as opentracker).
   */
  parseScrape(): number {
    this.#begin();
    this.scrapeCount = 0;
    const v = this.scanner;
    while (this.scrapeCount < LIMITS.httpScrapeHashesMax) {
      const pair = this.#nextPair(SCRAPE_KEYS);
      if (pair === PAIR_END) break;
      if (pair === PAIR_ERROR) return PARSE.badParameter;
      if (!this.#name.equals("info_hash")) continue;
      if (v.length !== 20) return PARSE.badParameter;
      this.scrapeHashes.set(v.bytes.subarray(0, 20), 20 * this.scrapeCount++);
    }
    return this.scrapeCount === 0 ? PARSE.badParameter : PARSE.ok;
  }

  /**
   * Parses a stats query: `mode` and `format` (as ASCII text); an `info_hash` is refused, as
   * opentracker refuses it.
   * A stats target without `?` has an empty query.
   */
  parseStats(): number {
    this.#begin();
    this.statsMode = "";
    this.statsFormat = "";
    if (this.queryStart < 0) return PARSE.ok;
    const v = this.scanner;
    while (true) {
      const pair = this.#nextPair(STATS_KEYS);
      if (pair === PAIR_END) break;
      if (pair === PAIR_ERROR) return PARSE.badParameter;
      if (this.#name.equals("info_hash")) return PARSE.badParameter;
      if (this.#name.equals("mode")) this.statsMode = latin1(v.bytes, v.length);
      else if (this.#name.equals("format")) this.statsFormat = latin1(v.bytes, v.length);
    }
    return PARSE.ok;
  }
}

const ANNOUNCE_KEYS = [
  "info_hash",
  "peer_id",
  "port",
  "left",
  "event",
  "numwant",
  "compact",
  "compact6",
  "ip",
];
const SCRAPE_KEYS = ["info_hash"];
const STATS_KEYS = ["mode", "format", "info_hash"];

const PAIR_OK = 0;
const PAIR_END = 1;
const PAIR_ERROR = 2;

/** Bytes as a string of char codes 0..255 (TextDecoder's "latin1" is windows-1252). */
function latin1(bytes: Uint8Array, length: number): string {
  let s = "";
  for (let i = 0; i < length; i++) s += String.fromCharCode(bytes[i]);
  return s;
}
