/**
 * The HTTP frontend: one request head in, one reply out. Resolves the client address (behind
 * trusted proxies), routes the target as opentracker does (by its first characters) and hands
 * it to the tracker routes (announce, scrape) or the admin routes (stats, metrics, full scrape).
 * No socket code: http_server.ts reads heads off connections and writes the replies.
 */

import { RequestHead } from "../protocol/http1.ts";
import { HttpRequestParser, ROUTE } from "../protocol/http_request.ts";
import { ACTION_KIND, Counters, HTTP_ERROR, PROTOCOL, requestIndex } from "../stats/counters.ts";
import { TrackerLogic } from "../logic/tracker_logic.ts";
import { isV4Mapped } from "../util/ip.ts";
import { AdminRoutes, AdminRoutesOptions } from "./admin_routes.ts";
import { ClientAddress } from "./client_address.ts";
import { Detachable } from "./conn_io.ts";
import { ERROR_PAGE, HttpReply, ReplyWriter } from "./http_reply.ts";
import { ShardLink } from "./shard_link.ts";
import { TrackerRoutes } from "./tracker_routes.ts";

/** Options for {@link HttpRoutes}. */
export interface HttpRoutesOptions {
  logic: TrackerLogic;
  counters: Counters;
  parser: HttpRequestParser;
  /** 302 target for `GET /`, or null for 404. */
  redirectUrl: string | null;
  /** Resolves the client address behind trusted proxies. */
  clientAddress: ClientAddress;
  admin: Omit<AdminRoutesOptions, "counters">;
  /** With several workers: this worker's links (announces and scrapes of others' torrents). */
  shards?: ShardLink | null;
}

/** Routes the HTTP requests of one tracker. */
export class HttpRoutes {
  readonly #o: HttpRoutesOptions;
  readonly #w: ReplyWriter;
  readonly #tracker: TrackerRoutes;
  readonly #admin: AdminRoutes;
  readonly #client = new Uint8Array(16);

  constructor(options: HttpRoutesOptions) {
    this.#o = options;
    this.#w = new ReplyWriter(options.counters);
    this.#tracker = new TrackerRoutes(options.logic, this.#w, options.shards ?? null);
    this.#admin = new AdminRoutes({ ...options.admin, counters: options.counters }, this.#w);
  }

  /** The shared reply most requests are answered in. */
  get reply(): HttpReply {
    return this.#w.reply;
  }

  /** Answers an HTTP announce another worker received (`tracker.workers`). */
  answerForwarded(data: Uint8Array, at: number, nowSeconds: number): void {
    this.#tracker.answerForwarded(data, at, nowSeconds);
  }

  /** Answers an HTTP announce another worker handed over with its connection: the reply. */
  answerHandedOver(data: Uint8Array, at: number, nowSeconds: number): HttpReply {
    return this.#tracker.answerHandedOver(data, at, nowSeconds);
  }

  /**
   * Handles the request `head` from the socket address `socketIp` (16 bytes). Returns the shared
   * reply, or a promise of a separate one for the modes that wait for a scan, or `HANDED_OVER`
   * when an announce went to another worker with `connection` (given for a connection's last
   * request: see TrackerRoutes.announce).
   */
  handle(
    head: RequestHead,
    socketIp: Uint8Array,
    nowSeconds: number,
    connection: Detachable | null = null,
  ): HttpReply | Promise<HttpReply> {
    const ip = this.#client;
    this.#o.clientAddress.resolve(
      socketIp,
      head.forwardedCount > 0 ? head.forwardedFor() : null,
      ip,
    );
    const w = this.#w;
    if (!head.isGet) return w.error(ERROR_PAGE.badRequest, HTTP_ERROR.parse400);
    const parser = this.#o.parser;
    switch (parser.route(head.buf, head.targetStart, head.targetEnd)) {
      case ROUTE.root:
        return this.#o.redirectUrl === null
          ? w.error(ERROR_PAGE.notFound)
          : w.redirect(this.#o.redirectUrl);
      case ROUTE.announce:
        return this.#tracker.announce(parser, ip, nowSeconds, connection);
      case ROUTE.scrape:
        return this.#tracker.scrape(parser, ip, nowSeconds);
      case ROUTE.stats:
        this.#o.counters
          .requests[requestIndex(PROTOCOL.http, !isV4Mapped(ip, 0), ACTION_KIND.other)]++;
        return this.#admin.stats(parser, ip, head, nowSeconds);
      case ROUTE.fullScrape:
        return this.#admin.fullScrape("ben", ip, head, nowSeconds);
      case ROUTE.metrics:
        return this.#admin.metrics(ip);
      case ROUTE.badRequest:
        return w.error(ERROR_PAGE.badRequest);
      default:
        return w.error(ERROR_PAGE.notFound);
    }
  }
}
