/**
 * HTTP/1.x framing as opentracker speaks it: request heads are found and read from raw bytes
 * (no strings on the hot path), response heads are written byte for byte as opentracker writes
 * them. The tracker serves only `GET`, never reads a request body, and answers every request
 * with one of four head shapes:
 *
 * | reply            | head                                                                              |
 * | ---------------- | --------------------------------------------------------------------------------- |
 * | success          | `HTTP/1.1 200 OK`, `Content-Type: <type>`, `Content-Length: <n>`                   |
 * | error page       | `HTTP/1.0 <code> <title>`, `Content-Type: text/html`, `Content-Length: <n>`        |
 * | redirect         | `HTTP/1.0 302 Found`, `Content-Length: 0`, `Location: <url>`                       |
 * | streamed (full scrape) | `HTTP/1.1 200 OK`, `Content-Type: <type>`, [`Content-Encoding: gzip`], `Transfer-Encoding: chunked` |
 *
 * A request head ends at the first empty line: `\n\n`, `\r\n\r\n` or `\r\n\n` (opentracker does
 * not recognise a lone `\n\r\n`, and neither do we).
 *
 * Pure: no Deno APIs.
 */

/** Most `X-Forwarded-For` header lines remembered per request (the last ones win). */
const FORWARDED_LINES_MAX = 8;

/**
 * Index just past the empty line that ends the head in `buf[from, end)`, or -1 when the head
 * is not complete yet. `from` may point into the head (a resumed scan); it must not point past
 * a `\n` whose successor was not seen yet, so callers resume at most 2 bytes before `end`.
 */
export function findHeadEnd(buf: Uint8Array, from: number, end: number): number {
  for (let i = byteAt(buf, 10, from, end); i >= 0; i = byteAt(buf, 10, i + 1, end)) {
    if (i + 1 < end && buf[i + 1] === 10) return i + 2;
    if (i + 2 < end && buf[i + 1] === 13 && buf[i + 2] === 10) return i + 3;
  }
  return -1;
}

/**
 * Index of the first `byte` in `buf[from, end)`, or -1. A loop rather than `indexOf`: a typed
 * array's `indexOf` enters the runtime's C++ on every call (about 110 ns against 25 ns for a
 * line of a request head, measured), and it would search on past `end` into stale bytes.
 */
function byteAt(buf: Uint8Array, byte: number, from: number, end: number): number {
  for (let i = from; i < end; i++) if (buf[i] === byte) return i;
  return -1;
}

const GET_PREFIX = [71, 69, 84, 32, 47]; // "GET /"

/**
 * True when the first bytes of a request, `buf[start, end)`, can still begin `GET /`, the only
 * request line the tracker serves. Lets the server answer garbage at once instead of waiting
 * for an empty line that never comes.
 */
export function mayBeGet(buf: Uint8Array, start: number, end: number): boolean {
  const n = Math.min(end - start, GET_PREFIX.length);
  for (let i = 0; i < n; i++) if (buf[start + i] !== GET_PREFIX[i]) return false;
  return true;
}

/** Lower-cases an ASCII letter code. */
function lower(c: number): number {
  return c >= 65 && c <= 90 ? c | 32 : c;
}

/** True when `buf[at..]` starts with the lower-case ASCII `word`, ignoring case. */
function startsWithWord(buf: Uint8Array, at: number, end: number, word: string): boolean {
  if (end - at < word.length) return false;
  for (let i = 0; i < word.length; i++) {
    if (lower(buf[at + i]) !== word.charCodeAt(i)) return false;
  }
  return true;
}

/** True when `buf[start, end)` holds the lower-case ASCII `word` anywhere, ignoring case. */
function containsWord(buf: Uint8Array, start: number, end: number, word: string): boolean {
  for (let at = start; at + word.length <= end; at++) {
    if (startsWithWord(buf, at, end, word)) return true;
  }
  return false;
}

function isBlank(c: number): boolean {
  return c === 32 || c === 9;
}

/**
 * One request head, read in place from the connection's buffer. Reused for every request of a
 * connection; valid until the buffer is compacted (after the reply is written).
 */
export class RequestHead {
  /** The buffer the offsets refer to. */
  buf: Uint8Array = new Uint8Array(0);
  /** The request line starts with exactly `GET /` (opentracker's only accepted form). */
  isGet = false;
  /** Request target `buf[targetStart, targetEnd)`, starting at its first `/`. */
  targetStart = 0;
  targetEnd = 0;
  /** The version token is `HTTP/1.1` or later (persistent connections by default). */
  http11 = false;
  /** The client asked to keep the connection open (HTTP/1.1 without `close`, or `keep-alive`). */
  keepAlive = false;
  /** The request announces a body (Content-Length > 0 or Transfer-Encoding), never read. */
  hasBody = false;
  /** An `Accept` header names `text/html` (a browser: the stats path shows the status page). */
  acceptsHtml = false;
  /** `Accept-Encoding` value range, or start -1. */
  acceptEncodingStart = -1;
  acceptEncodingEnd = -1;
  /**
   * A WebSocket opening handshake: `Upgrade: websocket` with `upgrade` among the Connection
   * tokens. Its `Sec-WebSocket-Key` and `Sec-WebSocket-Version` values are ranges (start -1 when
   * absent); the server checks them.
   */
  upgradeWebSocket = false;
  wsKeyStart = -1;
  wsKeyEnd = -1;
  wsVersionStart = -1;
  wsVersionEnd = -1;
  /** `X-Forwarded-For` value ranges, in order (start, end pairs). */
  readonly forwarded: Int32Array = new Int32Array(2 * FORWARDED_LINES_MAX);
  forwardedCount = 0;

  /**
   * Reads the head `buf[start, end)` (`end` from {@link findHeadEnd}). Never throws: anything
   * that is not `GET /` leaves {@link isGet} false.
   */
  parse(buf: Uint8Array, start: number, end: number): void {
    this.buf = buf;
    this.isGet = false;
    this.http11 = false;
    this.keepAlive = false;
    this.hasBody = false;
    this.acceptEncodingStart = this.acceptEncodingEnd = -1;
    this.acceptsHtml = false;
    this.wsKeyStart =
      this.wsKeyEnd =
      this.wsVersionStart =
      this.wsVersionEnd =
        -1;
    this.forwardedCount = 0;
    let upgradeWebSocket = false;
    let lineEnd = byteAt(buf, 10, start, end);
    if (lineEnd < 0) lineEnd = end;
    // Request line: opentracker accepts exactly "GET /" (case-sensitive), nothing else.
    if (
      lineEnd - start >= 5 && buf[start] === 71 && buf[start + 1] === 69 &&
      buf[start + 2] === 84 && buf[start + 3] === 32 && buf[start + 4] === 47
    ) {
      this.isGet = true;
      this.targetStart = start + 4;
      let i = start + 4;
      while (i < lineEnd && buf[i] !== 32 && buf[i] !== 13) i++;
      this.targetEnd = i;
      while (i < lineEnd && buf[i] === 32) i++;
      // "HTTP/1.1" or any later version; HTTP/1.0 and missing versions are not persistent.
      if (lineEnd - i >= 8 && startsWithWord(buf, i, lineEnd, "http/1.")) {
        const minor = buf[i + 7];
        this.http11 = minor >= 49 && minor <= 57;
      } else if (lineEnd - i >= 6 && startsWithWord(buf, i, lineEnd, "http/") && buf[i + 5] > 49) {
        this.http11 = buf[i + 5] <= 57;
      }
    }
    let close = false;
    let keepAlive = false;
    let connectionUpgrade = false;
    for (let line = lineEnd + 1; line < end;) {
      let next = byteAt(buf, 10, line, end);
      if (next < 0) next = end;
      const colon = byteAt(buf, 58, line, next);
      if (colon > line) {
        let vs = colon + 1;
        let ve = next;
        while (vs < ve && isBlank(buf[vs])) vs++;
        while (ve > vs && (isBlank(buf[ve - 1]) || buf[ve - 1] === 13)) ve--;
        const nameLength = colon - line;
        switch (lower(buf[line])) {
          case 99: // c
            if (nameLength === 10 && startsWithWord(buf, line, colon, "connection")) {
              const t = connectionTokens(buf, vs, ve);
              close ||= (t & TOKEN_CLOSE) !== 0;
              keepAlive ||= (t & TOKEN_KEEP_ALIVE) !== 0;
              connectionUpgrade ||= (t & TOKEN_UPGRADE) !== 0;
            } else if (nameLength === 14 && startsWithWord(buf, line, colon, "content-length")) {
              this.hasBody ||= !(ve - vs === 1 && buf[vs] === 48);
            }
            break;
          case 120: // x
            if (nameLength === 15 && startsWithWord(buf, line, colon, "x-forwarded-for")) {
              if (this.forwardedCount === FORWARDED_LINES_MAX) {
                this.forwarded.copyWithin(0, 2);
                this.forwardedCount--;
              }
              this.forwarded[2 * this.forwardedCount] = vs;
              this.forwarded[2 * this.forwardedCount + 1] = ve;
              this.forwardedCount++;
            }
            break;
          case 97: // a
            if (nameLength === 15 && startsWithWord(buf, line, colon, "accept-encoding")) {
              this.acceptEncodingStart = vs;
              this.acceptEncodingEnd = ve;
            } else if (nameLength === 6 && startsWithWord(buf, line, colon, "accept")) {
              this.acceptsHtml ||= containsWord(buf, vs, ve, "text/html");
            }
            break;
          case 116: // t
            if (nameLength === 17 && startsWithWord(buf, line, colon, "transfer-encoding")) {
              this.hasBody = true;
            }
            break;
          case 117: // u
            if (nameLength === 7 && startsWithWord(buf, line, colon, "upgrade")) {
              upgradeWebSocket ||= ve - vs === 9 && startsWithWord(buf, vs, ve, "websocket");
            }
            break;
          case 115: // s
            if (nameLength === 17 && startsWithWord(buf, line, colon, "sec-websocket-key")) {
              this.wsKeyStart = vs;
              this.wsKeyEnd = ve;
            } else if (
              nameLength === 21 && startsWithWord(buf, line, colon, "sec-websocket-version")
            ) {
              this.wsVersionStart = vs;
              this.wsVersionEnd = ve;
            }
            break;
        }
      }
      line = next + 1;
    }
    this.keepAlive = !this.hasBody && (this.http11 ? !close : keepAlive);
    this.upgradeWebSocket = upgradeWebSocket && connectionUpgrade && this.isGet;
  }

  /** The `X-Forwarded-For` lines joined with commas (as RFC 9110 combines them), or null. */
  forwardedFor(): string | null {
    if (this.forwardedCount === 0) return null;
    let s = "";
    for (let k = 0; k < this.forwardedCount; k++) {
      if (k > 0) s += ",";
      s += ascii(this.buf, this.forwarded[2 * k], this.forwarded[2 * k + 1]);
    }
    return s;
  }

  /** The `Accept-Encoding` value, or null. */
  acceptEncoding(): string | null {
    return this.acceptEncodingStart < 0
      ? null
      : ascii(this.buf, this.acceptEncodingStart, this.acceptEncodingEnd);
  }
}

const TOKEN_CLOSE = 1;
const TOKEN_KEEP_ALIVE = 2;
const TOKEN_UPGRADE = 4;

/** The `close`, `keep-alive` and `upgrade` tokens of a Connection value (a comma list). */
function connectionTokens(buf: Uint8Array, start: number, end: number): number {
  let found = 0;
  let i = start;
  while (i < end) {
    while (i < end && (isBlank(buf[i]) || buf[i] === 44)) i++;
    let j = i;
    while (j < end && buf[j] !== 44) j++;
    let k = j;
    while (k > i && isBlank(buf[k - 1])) k--;
    if (k - i === 5 && startsWithWord(buf, i, k, "close")) found |= TOKEN_CLOSE;
    else if (k - i === 10 && startsWithWord(buf, i, k, "keep-alive")) found |= TOKEN_KEEP_ALIVE;
    else if (k - i === 7 && startsWithWord(buf, i, k, "upgrade")) found |= TOKEN_UPGRADE;
    i = j + 1;
  }
  return found;
}

/** Bytes as a string of char codes (header values are ASCII in practice). */
export function ascii(buf: Uint8Array, start: number, end: number): string {
  let s = "";
  for (let i = start; i < end; i++) s += String.fromCharCode(buf[i]);
  return s;
}

function putText(out: Uint8Array, off: number, text: string): number {
  for (let i = 0; i < text.length; i++) out[off + i] = text.charCodeAt(i);
  return off + text.length;
}

function putDecimal(out: Uint8Array, off: number, n: number): number {
  return putText(out, off, String(n));
}

/** Upper bound of a head written by the functions below, with `text` its variable text. */
export function headBytesMax(text: string): number {
  return 128 + text.length;
}

/** Writes opentracker's success head; returns the end offset. */
export function writeOkHead(
  out: Uint8Array,
  off: number,
  contentType: string,
  contentLength: number,
): number {
  off = putText(out, off, "HTTP/1.1 200 OK\r\nContent-Type: ");
  off = putText(out, off, contentType);
  off = putText(out, off, "\r\nContent-Length: ");
  off = putDecimal(out, off, contentLength);
  return putText(out, off, "\r\n\r\n");
}

/** Writes opentracker's error-page head: HTTP/1.0, text/html. */
export function writeErrorHead(
  out: Uint8Array,
  off: number,
  status: number,
  reason: string,
  contentLength: number,
): number {
  off = putText(out, off, "HTTP/1.0 ");
  off = putDecimal(out, off, status);
  off = putText(out, off, " ");
  off = putText(out, off, reason);
  off = putText(out, off, "\r\nContent-Type: text/html\r\nContent-Length: ");
  off = putDecimal(out, off, contentLength);
  return putText(out, off, "\r\n\r\n");
}

/** Writes opentracker's redirect head for `GET /`: no body, no Content-Type. */
export function writeRedirectHead(out: Uint8Array, off: number, location: string): number {
  off = putText(out, off, "HTTP/1.0 302 Found\r\nContent-Length: 0\r\nLocation: ");
  off = putText(out, off, location);
  return putText(out, off, "\r\n\r\n");
}

/** Writes the head of a chunked reply (full scrapes). */
export function writeChunkedHead(
  out: Uint8Array,
  off: number,
  contentType: string,
  contentEncoding: string | null,
): number {
  off = putText(out, off, "HTTP/1.1 200 OK\r\nContent-Type: ");
  off = putText(out, off, contentType);
  if (contentEncoding !== null) {
    off = putText(out, off, "\r\nContent-Encoding: ");
    off = putText(out, off, contentEncoding);
  }
  return putText(out, off, "\r\nTransfer-Encoding: chunked\r\n\r\n");
}

/** Bytes a chunk of `n` data bytes takes on the wire. */
export function chunkBytes(n: number): number {
  return n.toString(16).length + 4 + n;
}

/** Frames `data` as one chunk (`<hex>\r\n<data>\r\n`) at `out[off]`; returns the end offset. */
export function writeChunk(out: Uint8Array, off: number, data: Uint8Array): number {
  off = putText(out, off, data.length.toString(16));
  out[off++] = 13;
  out[off++] = 10;
  out.set(data, off);
  off += data.length;
  out[off++] = 13;
  out[off++] = 10;
  return off;
}

/** The last chunk of a chunked reply. */
export const LAST_CHUNK: Uint8Array = Uint8Array.of(48, 13, 10, 13, 10);
