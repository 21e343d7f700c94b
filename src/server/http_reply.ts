/**
 * An HTTP reply as the routes produce it and the server writes it: status, reason, content
 * type and a body that is a view of a scratch buffer (valid until the next request), or a
 * stream. {@link ReplyWriter} fills the shared reply and counts error pages the way opentracker's
 * `herr` statistics do.
 */

import { ERROR_PAGE, ErrorPage, putAscii } from "../protocol/http_response.ts";
import { Counters, HTTP_ERROR } from "../stats/counters.ts";
import { LIMITS } from "../types.ts";

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

/**
 * What the routes return for a request whose connection went to another worker with it (the
 * request was the connection's last): that worker replies and closes; nothing is written here.
 */
export const HANDED_OVER: HttpReply = new HttpReply();

/** The `herr` slot of each error page's status (opentracker's failed[] order). */
const ERROR_SLOT: Record<number, number> = {
  400: HTTP_ERROR.param400,
  402: HTTP_ERROR.payment402,
  403: HTTP_ERROR.access403,
  404: HTTP_ERROR.notFound404,
  500: HTTP_ERROR.server500,
};

/** Bytes the scratch buffer holds: a request's worth plus the largest peer list. */
const SCRATCH_BYTES = LIMITS.httpRequestBytesMax + 24 * LIMITS.numwantCeiling;

/** Fills the one reused reply of an HTTP frontend. */
export class ReplyWriter {
  /** Where bodies are written. */
  readonly out: Uint8Array = new Uint8Array(SCRATCH_BYTES);
  readonly reply: HttpReply = new HttpReply();
  readonly #counters: Counters;

  constructor(counters: Counters) {
    this.#counters = counters;
  }

  /** A 200 whose body is `out[0, length)`. */
  ok(length: number, contentType = "text/plain"): HttpReply {
    const r = this.reply;
    r.status = 200;
    r.reason = "OK";
    r.contentType = contentType;
    r.location = null;
    r.stream = null;
    r.contentEncoding = null;
    r.body = this.out.subarray(0, length);
    return r;
  }

  /** A 200 with the ASCII `text` as its body. */
  text(text: string, contentType = "text/plain"): HttpReply {
    return this.ok(putAscii(this.out, 0, text), contentType);
  }

  /**
   * An error page, counted in `herr` slot `slot` (by default the one of its status; a 503, ours,
   * is counted by its cause instead).
   */
  error(page: ErrorPage, slot: number | undefined = ERROR_SLOT[page.status]): HttpReply {
    if (slot !== undefined) this.#counters.httpErrors[slot]++;
    const r = this.ok(putAscii(this.out, 0, page.body), "text/html");
    r.status = page.status;
    r.reason = page.reason;
    return r;
  }

  /** A 302 to `location` (opentracker's redirect of `GET /`). */
  redirect(location: string): HttpReply {
    this.#counters.httpErrors[HTTP_ERROR.redirect302]++;
    const r = this.ok(0);
    r.status = 302;
    r.reason = "Found";
    r.contentType = null;
    r.location = location;
    return r;
  }
}

/** A reply of its own (for replies produced after an await), not the shared one. */
export function separateReply(body: Uint8Array, contentType = "text/plain"): HttpReply {
  const r = new HttpReply();
  r.body = body;
  r.contentType = contentType;
  return r;
}

/**
 * A copy of `r` that stays valid after the shared reply is reused: how a reply written by the
 * shared writer is returned after an await (only body replies; a stream is never shared).
 */
export function copyReply(r: HttpReply): HttpReply {
  const c = separateReply(r.body.slice(), r.contentType ?? "text/plain");
  c.contentType = r.contentType;
  c.status = r.status;
  c.reason = r.reason;
  c.location = r.location;
  return c;
}

export { ERROR_PAGE };
