/**
 * One HTTP request in, one reply out: opentracker's routing, announce and scrape (§3). No socket
 * code here; `http_server.ts` reads request heads off the connections and writes the replies.
 *
 * The reply is left in a reused {@link HttpReply} whose body is a view of a scratch buffer: the
 * server copies it before the next request.
 */

import { ERROR_PAGE, ErrorPage } from "../protocol/http_response.ts";
import {
  FAILURE_NO_INFO_HASH,
  FAILURE_NOT_AUTHORIZED,
  putAscii,
  writeAnnounceBody,
  writeScrapeEntry,
  writeScrapeHead,
  writeScrapeTail,
  writeStopBody,
} from "../protocol/http_response.ts";
import { HttpRequestParser, PARSE, ROUTE } from "../protocol/http_request.ts";
import { RequestHead } from "../protocol/http1.ts";
import { ACTION_KIND, Counters, HTTP_ERROR, PROTOCOL, requestIndex } from "../stats/counters.ts";
import { renderScanned, renderStats, SCANNED_MODES, StatsSource } from "../stats/render.ts";
import { StatsScanner } from "../stats/scan.ts";
import { MetricsSource, renderMetrics } from "../stats/metrics.ts";
import { FullScrapeFormat, TPBS_FORMATS } from "../protocol/full_scrape.ts";
import { acceptsGzip } from "../protocol/accept_encoding.ts";
import { formatIp } from "../util/ip.ts";
import { Woodpeckers } from "../stats/woodpeckers.ts";
import { ClientAddress } from "./client_address.ts";
import { announceInterval, IntervalOptions } from "../swarm/interval.ts";
import { AnnounceResult, REPLY, ScrapeCounts, Swarm } from "../swarm/swarm.ts";
import { AccessControl } from "../swarm/access.ts";
import { LivesyncOutbox } from "../protocol/livesync.ts";
import { tellAnnounce, tellStop } from "./livesync_handler.ts";
import { AnnounceRequest, EVENT, LIMITS } from "../types.ts";
import { isV4Mapped } from "../util/ip.ts";
import { Prng } from "../util/random.ts";

/** A reply, reused between requests. */
export class HttpReply {
  status = 200;
  /** Reason phrase of the status line. */
  reason = "OK";
  contentType: string | null = "text/plain";
  /** `Location` header for 302, else null. */
  location: string | null = null;
  /** Body bytes (a view of a scratch buffer, valid until the next request). */
  body: Uint8Array = new Uint8Array(0);
  /** A streamed body (full scrape, statedump) instead of {@link body}; chunked on the wire. */
  stream: ReadableStream<Uint8Array> | null = null;
  /** `Content-Encoding` of the stream, or null. */
  contentEncoding: string | null = null;
}

/** Options for {@link HttpHandler}. */
export interface HttpHandlerOptions {
  swarm: Swarm;
  /** Closed mode; announces of refused torrents get the §3.7 failure reason. */
  access: AccessControl;
  counters: Counters;
  /** Live sync: where announces and stops are queued for the cluster (§8.3), or null. */
  livesync?: LivesyncOutbox | null;
  prng: Prng;
  interval: IntervalOptions;
  parser: HttpRequestParser;
  /** 302 target for `GET /`, or null for 404. */
  redirectUrl: string | null;
  /** Resolves the client address behind trusted proxies. */
  clientAddress: ClientAddress;
  /** Whether a client may read /stats (restricted stats, §6.1). */
  statsAllowed: (ip: Uint8Array) => boolean;
  /** Totals and counters for /stats, read at request time. */
  statsSource: () => StatsSource;
  /** Sliced, cached scans for the modes that need every torrent. */
  scanner: StatsScanner;
  /** Fast re-announcers per network (`woodpeckers`). */
  woodpeckers: Woodpeckers;
  /** Figures for /metrics, read at request time. */
  metricsSource: () => MetricsSource;
  /** Full scrape (`GET /scrape`, `tpbs`, `statedump`); null when switched off. */
  fullScrape: FullScrapeOptions | null;
  /** Logs one line per full scrape, as opentracker does. */
  log: (line: string) => void;
}

/** How full scrapes are served. */
export interface FullScrapeOptions {
  /** gzip when the client accepts it. */
  gzip: boolean;
  /** Per-client minimum interval between full scrapes (opentracker's modest full scrapes); 0 = off. */
  intervalSeconds: number;
  /**
   * The stream of the whole swarm in a format (gzip-compressed when asked), or null when as
   * many full scrapes as allowed are running.
   */
  open: (format: FullScrapeFormat, gzip: boolean) => ReadableStream<Uint8Array> | null;
}

/** Clients remembered for the modest full-scrape rule; the oldest are forgotten first. */
const MODEST_TABLE_ENTRIES_MAX = 65536;

const ERROR_SLOT: Record<number, number> = {
  400: HTTP_ERROR.param400,
  402: HTTP_ERROR.payment402,
  403: HTTP_ERROR.access403,
  404: HTTP_ERROR.notFound404,
  500: HTTP_ERROR.server500,
};

/** Handles HTTP requests for one tracker. */
export class HttpHandler {
  readonly #o: HttpHandlerOptions;
  readonly #req = new AnnounceRequest();
  readonly #result = new AnnounceResult();
  readonly #counts = new ScrapeCounts();
  readonly #out = new Uint8Array(LIMITS.httpRequestBytesMax + 24 * LIMITS.numwantCeiling);
  readonly reply: HttpReply = new HttpReply();
  readonly #order = new Int32Array(LIMITS.httpScrapeHashesMax);
  readonly #client = new Uint8Array(16);
  readonly #modest = new Map<string, number>();

  constructor(options: HttpHandlerOptions) {
    this.#o = options;
  }

  /**
   * Handles the request `head` from the socket address `socketIp` (16 bytes). Returns
   * {@link reply}, or a promise of a separate reply for the modes that wait for a scan.
   */
  handle(
    head: RequestHead,
    socketIp: Uint8Array,
    nowSeconds: number,
  ): HttpReply | Promise<HttpReply> {
    const ip = this.#client;
    this.#o.clientAddress.resolve(
      socketIp,
      head.forwardedCount > 0 ? head.forwardedFor() : null,
      ip,
    );
    if (!head.isGet) return this.#error(ERROR_PAGE.badRequest, HTTP_ERROR.parse400);
    const parser = this.#o.parser;
    switch (parser.route(head.buf, head.targetStart, head.targetEnd)) {
      case ROUTE.root:
        return this.#root();
      case ROUTE.announce:
        return this.#announce(ip, nowSeconds);
      case ROUTE.scrape:
        return this.#scrape(nowSeconds);
      case ROUTE.stats:
        return this.#stats(ip, head, nowSeconds);
      case ROUTE.fullScrape:
        return this.#fullScrape("ben", ip, head, nowSeconds);
      case ROUTE.metrics:
        if (!this.#o.statsAllowed(ip)) return this.#error(ERROR_PAGE.accessDenied);
        return this.#ok(putAscii(this.#out, 0, renderMetrics(this.#o.metricsSource())));
      case ROUTE.badRequest:
        return this.#error(ERROR_PAGE.badRequest);
      default:
        return this.#error(ERROR_PAGE.notFound);
    }
  }

  /** Sets an error page reply (§3.10) and counts it. */
  #error(page: ErrorPage, slot: number | undefined = ERROR_SLOT[page.status]): HttpReply {
    // opentracker's herr slots; a 503 (ours) is counted by its cause instead.
    if (slot !== undefined) this.#o.counters.httpErrors[slot]++;
    const r = this.reply;
    r.status = page.status;
    r.reason = page.reason;
    r.contentType = "text/html";
    r.location = null;
    r.body = this.#out.subarray(0, putAscii(this.#out, 0, page.body));
    return r;
  }

  #ok(length: number): HttpReply {
    const r = this.reply;
    r.status = 200;
    r.reason = "OK";
    r.contentType = "text/plain";
    r.location = null;
    r.body = this.#out.subarray(0, length);
    return r;
  }

  #root(): HttpReply {
    const url = this.#o.redirectUrl;
    if (url === null) return this.#error(ERROR_PAGE.notFound);
    this.#o.counters.httpErrors[HTTP_ERROR.redirect302]++;
    const r = this.reply;
    r.status = 302;
    r.reason = "Found";
    r.contentType = null;
    r.location = url;
    r.body = this.#out.subarray(0, 0);
    return r;
  }

  #announce(ip: Uint8Array, nowSeconds: number): HttpReply {
    const o = this.#o;
    const req = this.#req;
    req.ip.set(ip);
    const parsed = o.parser.parseAnnounce(req);
    if (parsed === PARSE.badParameter) return this.#error(ERROR_PAGE.badRequest);
    if (parsed === PARSE.badCompact) {
      return this.#error(ERROR_PAGE.badRequest, HTTP_ERROR.compact400);
    }
    if (parsed === PARSE.noInfoHash) {
      return this.#ok(putAscii(this.#out, 0, FAILURE_NO_INFO_HASH));
    }
    o.counters.tcpAnnounces++;
    o.counters
      .requests[requestIndex(PROTOCOL.http, !isV4Mapped(req.ip, 0), ACTION_KIND.announce)]++;
    o.counters.numwants[req.numwant > 200 ? 200 : req.numwant]++;
    const r = this.#result;
    if (req.event === EVENT.stopped) {
      o.swarm.stop(req, r);
      if (o.livesync) tellStop(o.livesync, req);
      const interval = announceInterval(o.prng, o.interval);
      return this.#ok(writeStopBody(this.#out, 0, r, interval, !isV4Mapped(req.ip, 0)));
    }
    if (!o.access.allowed(req.infoHash, 0)) {
      o.counters.httpRefused++;
      return this.#ok(putAscii(this.#out, 0, FAILURE_NOT_AUTHORIZED));
    }
    o.swarm.announce(req, Math.floor(nowSeconds / 60), REPLY.bothFamilies, false, r);
    if (o.livesync) tellAnnounce(o.livesync, req, r);
    if (r.completed) o.counters.completed++;
    if (r.renewedAgeMinutes >= 0) {
      o.counters.renew[r.renewedAgeMinutes]++;
      if (r.renewedAgeMinutes >= 1 && r.renewedAgeMinutes <= 19) o.woodpeckers.record(req.ip);
    }
    const interval = announceInterval(o.prng, o.interval, r.familyPeers, r.probation);
    return this.#ok(writeAnnounceBody(this.#out, 0, r, interval));
  }

  /** A streamed full scrape in `format` (§3.9), gzip when allowed and asked for. */
  #fullScrape(
    format: FullScrapeFormat,
    ip: Uint8Array,
    head: RequestHead,
    nowSeconds: number,
  ): HttpReply {
    const o = this.#o;
    const fs = o.fullScrape;
    if (fs === null) return this.#error(ERROR_PAGE.serverError);
    const modest = fs.intervalSeconds > 0 && format !== "statedump";
    const key = formatIp(ip);
    if (modest) {
      const last = this.#modest.get(key);
      if (last !== undefined && nowSeconds - last < fs.intervalSeconds) {
        return this.#error(ERROR_PAGE.paymentRequired);
      }
    }
    const gzip = fs.gzip && acceptsGzip(head.acceptEncoding());
    const stream = fs.open(format, gzip);
    if (stream === null) {
      // As many full scrapes as allowed are streaming; this one may come back soon.
      o.counters.fullScrapesRefused++;
      return this.#error(ERROR_PAGE.unavailable);
    }
    if (modest) {
      this.#modest.delete(key);
      if (this.#modest.size >= MODEST_TABLE_ENTRIES_MAX) {
        this.#modest.delete(this.#modest.keys().next().value!);
      }
      this.#modest.set(key, nowSeconds);
    }
    o.counters.fullScrapes++;
    const uptime = o.statsSource().uptimeSeconds;
    const minutes = String(Math.floor(uptime / 60)).padStart(8, "0");
    o.log(`[${minutes}] scrp:  ${key} - FULL SCRAPE${format === "ben" ? "" : ` (${format})`}`);
    const r = new HttpReply();
    r.contentType = "application/octet-stream";
    r.contentEncoding = gzip ? "gzip" : null;
    r.stream = stream;
    return r;
  }

  #stats(ip: Uint8Array, head: RequestHead, nowSeconds: number): HttpReply | Promise<HttpReply> {
    const o = this.#o;
    o.counters.requests[requestIndex(PROTOCOL.http, !isV4Mapped(ip, 0), ACTION_KIND.other)]++;
    if (!o.statsAllowed(ip)) return this.#error(ERROR_PAGE.accessDenied);
    if (o.parser.parseStats() !== PARSE.ok) return this.#error(ERROR_PAGE.badRequest);
    const mode = o.parser.statsMode;
    if (mode === "tpbs" || mode === "statedump") {
      if (o.fullScrape === null) return this.#error(ERROR_PAGE.serverError);
      if (mode === "statedump") return this.#fullScrape("statedump", ip, head, nowSeconds);
      // opentracker hangs on tpbs without a known format (§3.9, §11 item 5); we answer 400.
      const format = o.parser.statsFormat;
      if (!TPBS_FORMATS.has(format)) return this.#error(ERROR_PAGE.badRequest);
      return this.#fullScrape(format as FullScrapeFormat, ip, head, nowSeconds);
    }
    if (SCANNED_MODES.has(mode)) return this.#scanned(mode);
    if (mode === "woodpeckers") return this.#ok(putAscii(this.#out, 0, o.woodpeckers.render()));
    const r = renderStats(mode, o.statsSource());
    if ("status" in r) {
      return this.#error(r.status === 400 ? ERROR_PAGE.badRequest : ERROR_PAGE.serverError);
    }
    return this.#ok(putAscii(this.#out, 0, r.body));
  }

  /** A scanned mode: answered when the (cached or fresh) snapshot is ready, in its own reply. */
  async #scanned(mode: string): Promise<HttpReply> {
    const snap = await this.#o.scanner.snapshot();
    const r = new HttpReply();
    r.body = new TextEncoder().encode(renderScanned(mode, this.#o.statsSource(), snap));
    return r;
  }

  /**
   * Scrape (§3.8) with one fix (§11 item 9): entries are sorted by hash and duplicates dropped,
   * so that the `files` dictionary is valid bencode. Unknown torrents are omitted, as upstream.
   */
  #scrape(nowSeconds: number): HttpReply {
    const o = this.#o;
    const p = o.parser;
    if (p.parseScrape() !== PARSE.ok) return this.#error(ERROR_PAGE.badRequest);
    o.counters.tcpScrapes++;
    o.counters
      .requests[requestIndex(PROTOCOL.http, !isV4Mapped(this.#client, 0), ACTION_KIND.scrape)]++;
    const hashes = p.scrapeHashes;
    const n = p.scrapeCount;
    const order = this.#order;
    for (let i = 0; i < n; i++) {
      let j = i;
      while (j > 0 && compareHash(hashes, order[j - 1] * 20, i * 20) > 0) {
        order[j] = order[j - 1];
        j--;
      }
      order[j] = i;
    }
    const out = this.#out;
    const counts = this.#counts;
    const now = Math.floor(nowSeconds / 60);
    let off = writeScrapeHead(out, 0);
    for (let k = 0; k < n; k++) {
      const at = order[k] * 20;
      if (k > 0 && compareHash(hashes, order[k - 1] * 20, at) === 0) continue;
      if (o.swarm.scrape(hashes, at, now, counts)) {
        off = writeScrapeEntry(out, off, hashes, at, counts);
      }
    }
    return this.#ok(writeScrapeTail(out, off));
  }
}

function compareHash(b: Uint8Array, x: number, y: number): number {
  for (let i = 0; i < 20; i++) {
    const d = b[x + i] - b[y + i];
    if (d !== 0) return d;
  }
  return 0;
}
