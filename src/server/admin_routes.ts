/**
 * The HTTP routes for operators rather than clients: `/stats` in every opentracker mode,
 * `/metrics` (Prometheus) and full scrapes (`GET /scrape`, `mode=tpbs`, `mode=statedump`), all
 * behind the stats permission where one is configured.
 */

import { acceptsGzip } from "../protocol/accept_encoding.ts";
import { FullScrapeFormat, TPBS_FORMATS } from "../protocol/full_scrape.ts";
import { RequestHead } from "../protocol/http1.ts";
import { HttpRequestParser, PARSE } from "../protocol/http_request.ts";
import { Counters, HTTP_ERROR } from "../stats/counters.ts";
import { MetricsSource, renderMetrics } from "../stats/metrics.ts";
import { renderScanned, renderStats, SCANNED_MODES, StatsSource } from "../stats/render.ts";
import { Snapshot } from "../stats/snapshot.ts";
import { Woodpeckers } from "../stats/woodpeckers.ts";
import { StatsScanner } from "../logic/stats_scan.ts";
import { formatIp } from "../util/ip.ts";
import { ERROR_PAGE, HttpReply, ReplyWriter, separateReply } from "./http_reply.ts";

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

/** Options for {@link AdminRoutes}. */
export interface AdminRoutesOptions {
  counters: Counters;
  /** Whether a client may read /stats and /metrics (opentracker's restricted stats). */
  statsAllowed: (ip: Uint8Array) => boolean;
  /** Totals and counters for /stats, read at request time. */
  statsSource: () => StatsSource;
  /** Figures for /metrics, read at request time. */
  metricsSource: () => MetricsSource;
  /** Sliced, cached scans for the modes that need every torrent. */
  scanner: StatsScanner;
  /** Fast re-announcers per network (`woodpeckers`). */
  woodpeckers: Woodpeckers;
  /** Full scrape (`GET /scrape`, `tpbs`, `statedump`); null when switched off. */
  fullScrape: FullScrapeOptions | null;
  /** Logs one line per full scrape, as opentracker does. */
  log: (line: string) => void;
  /**
   * With several workers: brings every worker's figures in before `statsSource` and
   * `metricsSource` are read (they then describe the whole tracker).
   */
  refresh?: (() => Promise<void>) | null;
  /** With several workers: the scan of every worker, merged (instead of `scanner`'s). */
  scanAll?: (() => Promise<Snapshot>) | null;
  /** With several workers: the `woodpeckers` text of every worker's counts. */
  woodpeckersAll?: (() => Promise<string>) | null;
}

/** Clients remembered for the per-client full-scrape interval; the oldest are forgotten first. */
const MODEST_TABLE_ENTRIES_MAX = 65536;

/** Stats, metrics and full scrapes. */
export class AdminRoutes {
  readonly #o: AdminRoutesOptions;
  readonly #w: ReplyWriter;
  readonly #modest = new Map<string, number>();

  constructor(options: AdminRoutesOptions, writer: ReplyWriter) {
    this.#o = options;
    this.#w = writer;
  }

  /** `/metrics`. */
  metrics(ip: Uint8Array): HttpReply | Promise<HttpReply> {
    if (!this.#o.statsAllowed(ip)) return this.#w.error(ERROR_PAGE.accessDenied);
    const refresh = this.#o.refresh;
    if (refresh) {
      return refresh().then(() =>
        separateReply(new TextEncoder().encode(renderMetrics(this.#o.metricsSource())))
      );
    }
    return this.#w.text(renderMetrics(this.#o.metricsSource()));
  }

  /** `/stats?mode=…` (its target routed by `parser`). */
  stats(
    parser: HttpRequestParser,
    ip: Uint8Array,
    head: RequestHead,
    nowSeconds: number,
  ): HttpReply | Promise<HttpReply> {
    const o = this.#o;
    const w = this.#w;
    if (!o.statsAllowed(ip)) return w.error(ERROR_PAGE.accessDenied);
    if (parser.parseStats() !== PARSE.ok) return w.error(ERROR_PAGE.badRequest);
    const mode = parser.statsMode;
    const refresh = o.refresh;
    if (refresh) {
      if (mode === "woodpeckers" && o.woodpeckersAll) {
        return o.woodpeckersAll().then((text) => separateReply(new TextEncoder().encode(text)));
      }
      if (SCANNED_MODES.has(mode)) return refresh().then(() => this.#scanned(mode));
      if (mode !== "statedump" && mode !== "tpbs") return refresh().then(() => this.#counted(mode));
    }
    if (mode === "tpbs" || mode === "statedump") {
      if (o.fullScrape === null) return w.error(ERROR_PAGE.serverError);
      if (mode === "statedump") return this.fullScrape("statedump", ip, head, nowSeconds);
      // opentracker hangs on tpbs without a known format; we answer 400.
      const format = parser.statsFormat;
      if (!TPBS_FORMATS.has(format)) return w.error(ERROR_PAGE.badRequest);
      return this.fullScrape(format as FullScrapeFormat, ip, head, nowSeconds);
    }
    if (SCANNED_MODES.has(mode)) return this.#scanned(mode);
    if (mode === "woodpeckers") return w.text(o.woodpeckers.render());
    const r = renderStats(mode, o.statsSource());
    if ("status" in r) {
      return w.error(r.status === 400 ? ERROR_PAGE.badRequest : ERROR_PAGE.serverError);
    }
    return w.text(r.body);
  }

  /** A mode rendered from the counters, after an await: in its own reply. */
  #counted(mode: string): HttpReply {
    const r = renderStats(mode, this.#o.statsSource());
    if (!("status" in r)) return separateReply(new TextEncoder().encode(r.body));
    const page = r.status === 400 ? ERROR_PAGE.badRequest : ERROR_PAGE.serverError;
    this.#o.counters.httpErrors[r.status === 400 ? HTTP_ERROR.param400 : HTTP_ERROR.server500]++;
    const reply = separateReply(new TextEncoder().encode(page.body), "text/html");
    reply.status = page.status;
    reply.reason = page.reason;
    return reply;
  }

  /** A scanned mode: answered when the (cached or fresh) snapshot is ready, in its own reply. */
  async #scanned(mode: string): Promise<HttpReply> {
    const snap = await (this.#o.scanAll ?? (() => this.#o.scanner.snapshot()))();
    return separateReply(
      new TextEncoder().encode(renderScanned(mode, this.#o.statsSource(), snap)),
    );
  }

  /** A streamed full scrape in `format`, gzip when allowed and asked for. */
  fullScrape(
    format: FullScrapeFormat,
    ip: Uint8Array,
    head: RequestHead,
    nowSeconds: number,
  ): HttpReply {
    const o = this.#o;
    const fs = o.fullScrape;
    if (fs === null) return this.#w.error(ERROR_PAGE.serverError);
    const modest = fs.intervalSeconds > 0 && format !== "statedump";
    const key = formatIp(ip);
    if (modest) {
      const last = this.#modest.get(key);
      if (last !== undefined && nowSeconds - last < fs.intervalSeconds) {
        return this.#w.error(ERROR_PAGE.paymentRequired);
      }
    }
    const gzip = fs.gzip && acceptsGzip(head.acceptEncoding());
    const stream = fs.open(format, gzip);
    if (stream === null) {
      // As many full scrapes as allowed are streaming; this one may come back soon.
      o.counters.fullScrapesRefused++;
      return this.#w.error(ERROR_PAGE.unavailable);
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
}
