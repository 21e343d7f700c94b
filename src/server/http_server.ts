/**
 * HTTP listener on `Deno.serve` (hyper): keep-alive included, which opentracker lacks (§3.1).
 * Adapts requests to {@link HttpHandler} and copies its reply into a `Response`.
 */

import { Counters, HTTP_ERROR } from "../stats/counters.ts";
import { parseIp } from "../util/ip.ts";
import { HttpHandler, HttpReply } from "./http_handler.ts";
import { ERROR_PAGE } from "../protocol/http_response.ts";

/** Options for {@link serveHttp}. */
export interface ServeHttpOptions {
  host: string;
  port: number;
  handler: HttpHandler;
  counters: Counters;
  /** Seconds since the epoch. */
  clock: () => number;
  /** Logs an unexpected error (never bad input). */
  log: (line: string) => void;
}

const TEXT_PLAIN: HeadersInit = [["content-type", "text/plain"]];
const TEXT_HTML: HeadersInit = [["content-type", "text/html"]];

/** Starts serving; resolves the bound address once listening. */
export function serveHttp(o: ServeHttpOptions): { server: Deno.HttpServer; addr: Deno.NetAddr } {
  const ip = new Uint8Array(16);
  const internalError = () =>
    new Response(ERROR_PAGE.serverError.body, {
      status: 500,
      statusText: ERROR_PAGE.serverError.reason,
      headers: TEXT_HTML,
    });
  const server = Deno.serve({
    hostname: o.host,
    port: o.port,
    reusePort: false,
    onListen: () => {},
    onError: (error) => {
      o.log(`HTTP handler failed: ${error instanceof Error ? error.stack : String(error)}`);
      o.counters.httpErrors[HTTP_ERROR.server500]++;
      return internalError();
    },
  }, (req, info) => {
    const remote = info.remoteAddr as Deno.NetAddr;
    if (!parseIp(remote.hostname, ip)) {
      o.log(`HTTP client address not understood: "${remote.hostname}"`);
      return internalError();
    }
    const reply = o.handler.handle(req.method, req.url, ip, req.headers, o.clock());
    if (reply instanceof Promise) return reply.then(toResponse);
    return toResponse(reply);
  });
  return { server, addr: server.addr };
}

/** A `Response` with a copy of the reply's body (the handler reuses its buffers). */
function toResponse(r: HttpReply): Response {
  if (r.stream !== null) {
    const headers: [string, string][] = [[
      "content-type",
      r.contentType ?? "application/octet-stream",
    ]];
    if (r.contentEncoding !== null) headers.push(["content-encoding", r.contentEncoding]);
    return new Response(r.stream, { status: 200, headers });
  }
  const body = r.body.slice();
  if (r.location !== null) {
    return new Response(body, {
      status: r.status,
      statusText: r.reason,
      headers: [["location", r.location]],
    });
  }
  return new Response(body, {
    status: r.status,
    statusText: r.reason,
    headers: r.contentType === "text/html" ? TEXT_HTML : TEXT_PLAIN,
  });
}
