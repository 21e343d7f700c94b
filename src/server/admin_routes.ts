/**
 * The HTTP routes for operators rather than clients: `/stats` in every opentracker mode,
 * `/metrics` (Prometheus) and full scrapes (`GET /scrape`, `mode=tpbs`, `mode=statedump`), all
 * behind the stats permission where one is configured.
 */

import { SampleRing } from "../stats/samples.ts";
import { samplesJson, statusPage } from "../stats/status_page.ts";
import { acceptsGzip } from "../protocol/accept_encoding.ts";
import { FullScrapeFormat, TPBS_FORMATS } from "../protocol/full_scrape.ts";
import { RequestHead } from "../protocol/http1.ts";
import { HttpRequestParser, PARSE } from "../protocol/http_request.ts";
import { Counters } from "../stats/counters.ts";
import { MetricsSource, renderMetrics } from "../stats/metrics.ts";
import { renderScanned, renderStats, SCANNED_MODES, StatsSource } from "../stats/render.ts";
import { Snapshot } from "../stats/snapshot.ts";
import { Woodpeckers } from "../stats/woodpeckers.ts";
import { StatsScanner } from "../logic/stats_scan.ts";
import { Admission } from "../logic/full_scrape_admission.ts";
import { formatIp } from "../util/ip.ts";
import { copyReply, ERROR_PAGE, HttpReply, ReplyWriter, separateReply } from "./http_reply.ts";

/** How full scrapes are served. */
export interface FullScrapeOptions {
  /** gzip when the client accepts it. */
  gzip: boolean;
  /**
   * Whether `client` may start a full scrape now (`modest`: the per-client interval applies);
   * logic/full_scrape_admission.ts, asked through the main isolate with several workers.
   */
  admit: (client: string, modest: boolean, nowSeconds: number) => Admission | Promise<Admission>;
  /**
   * The stream of the whole swarm in a format (gzip-compressed when asked), or null when as
   * many full scrapes as allowed are running; `ended` runs once when it closes, fails or is
   * cancelled (the admission is released then).
   */
  open: (
    format: FullScrapeFormat,
    gzip: boolean,
    ended: () => void,
  ) => ReadableStream<Uint8Array> | null;
  /** Releases an admission whose stream could not be opened. */
  release: () => void;
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
  /** The last hour of figures, for the status page (`mode=html`, `mode=samples`). */
  samples: SampleRing;
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

/** Stats, metrics and full scrapes. */
export class AdminRoutes {
  readonly #o: AdminRoutesOptions;
  readonly #w: ReplyWriter;

  constructor(options: AdminRoutesOptions, writer: ReplyWriter) {
    this.#o = options;
    this.#w = writer;
  }

  /** `/metrics`. */
  metrics(ip: Uint8Array): HttpReply | Promise<HttpReply> {
    if (!this.#o.statsAllowed(ip)) return this.#w.error(ERROR_PAGE.accessDenied);
    const refresh = this.#o.refresh;
    if (refresh) {
      return refresh().then(() => copyReply(this.#w.text(renderMetrics(this.#o.metricsSource()))));
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
    // The live status page: asked for by name, or by a browser asking for the stats path alone.
    if (mode === "html" || (mode === "" && head.acceptsHtml)) {
      return separateReply(statusPage(), "text/html; charset=utf-8");
    }
    if (mode === "samples") return this.#samples();
    const refresh = o.refresh;
    if (refresh) {
      if (mode === "woodpeckers" && o.woodpeckersAll) {
        return o.woodpeckersAll().then((text) => separateReply(new TextEncoder().encode(text)));
      }
      if (SCANNED_MODES.has(mode)) return refresh().then(() => this.#scanned(mode));
      if (mode !== "statedump" && mode !== "tpbs") {
        // After the await: copied out of the shared reply in the same turn.
        return refresh().then(() => copyReply(this.#counted(mode)));
      }
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
    return this.#counted(mode);
  }

  /** The status page's data: the figures of the moment, the last hour, the top torrents. */
  async #samples(): Promise<HttpReply> {
    const o = this.#o;
    await o.refresh?.();
    const snap = await (o.scanAll ?? (() => o.scanner.snapshot()))();
    const json = samplesJson(o.metricsSource(), o.samples, snap);
    return separateReply(new TextEncoder().encode(json), "application/json");
  }

  /** A mode rendered from the counters (into the shared reply). */
  #counted(mode: string): HttpReply {
    const r = renderStats(mode, this.#o.statsSource());
    if (!("status" in r)) return this.#w.text(r.body);
    return this.#w.error(r.status === 400 ? ERROR_PAGE.badRequest : ERROR_PAGE.serverError);
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
  ): HttpReply | Promise<HttpReply> {
    const fs = this.#o.fullScrape;
    if (fs === null) return this.#w.error(ERROR_PAGE.serverError);
    const key = formatIp(ip);
    const admission = fs.admit(key, format !== "statedump", nowSeconds);
    const gzip = fs.gzip && acceptsGzip(head.acceptEncoding());
    if (typeof admission === "string") return this.#startFullScrape(admission, format, key, gzip);
    // Asked across workers: the reply is written after the await, in a reply of its own.
    return admission.then((a) => {
      const r = this.#startFullScrape(a, format, key, gzip);
      return r.stream !== null ? r : copyReply(r);
    });
  }

  #startFullScrape(
    admission: Admission,
    format: FullScrapeFormat,
    key: string,
    gzip: boolean,
  ): HttpReply {
    const o = this.#o;
    const fs = o.fullScrape!;
    if (admission === "modest") return this.#w.error(ERROR_PAGE.paymentRequired);
    const stream = admission === "ok" ? fs.open(format, gzip, fs.release) : null;
    if (stream === null) {
      if (admission === "ok") fs.release();
      // As many full scrapes as allowed are streaming; this one may come back soon.
      o.counters.fullScrapesRefused++;
      return this.#w.error(ERROR_PAGE.unavailable);
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
