/**
 * The HTTP/1.1 server on `Deno.listen`: accepts connections, reads request heads, hands them to
 * {@link HttpRoutes} and writes opentracker's exact reply bytes, with keep-alive (opentracker
 * closes after every reply) and pipelining.
 *
 * It is our own rather than `Deno.serve` because a tracker on the open internet needs what
 * `Deno.serve` cannot give: an accept that fails with "too many open files" must not end the
 * process (it backs off and keeps serving), and every connection is held to the limits of
 * {@link ConnectionTable} (global and per-address caps, request, idle and write deadlines).
 * Measured side by side, the two serve the same rate (docs/benchmarks.md).
 *
 * Per connection: one read buffer (1 KiB, grown up to the 8 KiB request limit while a head is
 * incomplete, shrunk back when idle; kept for the next connection when it ends). A reply is
 * written from one buffer of the server when the socket takes it at once, else from a copy.
 */

import { LIMITS } from "../types.ts";
import { Counters, HTTP_ERROR } from "../stats/counters.ts";
import { parseIp } from "../util/ip.ts";
import {
  findHeadEnd,
  headBytesMax,
  LAST_CHUNK,
  mayBeGet,
  RequestHead,
  writeChunk,
  writeChunkedHead,
  writeErrorHead,
  writeOkHead,
  writeRedirectHead,
} from "../protocol/http1.ts";
import { ERROR_PAGE, ErrorPage } from "../protocol/http_response.ts";
import { HANDED_OVER, HttpReply } from "./http_reply.ts";
import { HttpRoutes } from "./http_routes.ts";
import { addressKey, CONN_STATE, ConnectionTable, Tracked } from "./connections.ts";
import {
  connectionEnded,
  Detachable,
  TcpConn,
  TcpListener,
  writeAll,
  writeNowOrLater,
} from "./conn_io.ts";
import { FdListener, replyAndClose } from "./fd_tcp.ts";
import { isWebSocketPath, WsHub } from "./ws_hub.ts";
import { ThrottledLog, timesSince } from "../util/throttled_log.ts";

/** First read buffer of a connection; typical announces are 300–600 bytes. */
const READ_BYTES_INITIAL = 1024;
/** How often deadlines are checked: connections close at most this late. */
const SWEEP_INTERVAL_MS = 250;
/**
 * Longest pause of an accept loop after failures (doubling from 10 ms). Short: descriptors of
 * closed connections come free within a few turns of the event loop, and a long pause would
 * leave clients waiting in the kernel's queue; ten failed accepts a second cost nothing.
 */
const ACCEPT_BACKOFF_MS_MAX = 100;

/** Options for {@link HttpServer}. */
export interface HttpServerOptions {
  routes: HttpRoutes;
  counters: Counters;
  connections: ConnectionTable;
  /** Seconds since the epoch, for the routes. */
  clock: () => number;
  /** Logs unexpected errors and accept failures (never bad input). */
  log: (line: string) => void;
  /** Takes WebSocket upgrades on `/announce` and `/`; null: they are plain HTTP requests. */
  ws?: WsHub | null;
  /** Plain TCP listeners on epoll through FFI (fd_tcp.ts) instead of `Deno.listen`. */
  epoll?: boolean;
}

/** A bound listener. */
export interface HttpListener {
  readonly addr: Deno.NetAddr;
  /** Settles when the accept loop ended. */
  readonly done: Promise<void>;
}

/** "Too many open files" for the process (EMFILE) or the system (ENFILE). */
function isDescriptorExhaustion(error: unknown): boolean {
  return error instanceof Error && /os error 2[34]\b/.test(error.message);
}

/** The most bytes {@link writeReply} writes for `r`. */
function replyBytesMax(r: HttpReply): number {
  return r.location !== null
    ? headBytesMax(r.location)
    : headBytesMax((r.contentType ?? "") + r.reason) + r.body.length;
}

/** Writes the wire bytes of a reply without a stream into `out` (room for {@link replyBytesMax}). */
function writeReply(out: Uint8Array, r: HttpReply): number {
  if (r.location !== null) return writeRedirectHead(out, 0, r.location);
  const off = r.status === 200
    ? writeOkHead(out, 0, r.contentType ?? "text/plain", r.body.length)
    : writeErrorHead(out, 0, r.status, r.reason, r.body.length);
  out.set(r.body, off);
  return off + r.body.length;
}

/** The wire bytes of a reply without a stream (head and body in one buffer of their own). */
export function replyBytes(r: HttpReply): Uint8Array {
  const out = new Uint8Array(replyBytesMax(r));
  return out.subarray(0, writeReply(out, r));
}

function errorPageBytes(page: ErrorPage): Uint8Array {
  const r = new HttpReply();
  r.status = page.status;
  r.reason = page.reason;
  r.contentType = "text/html";
  r.body = Uint8Array.from(page.body, (c) => c.charCodeAt(0));
  return replyBytes(r);
}

/**
 * Writes replies without a stream. To a connection that takes a whole reply at once (fd_tcp's,
 * `writeNow`) the reply is written from one reused buffer, with no allocation; what the socket
 * did not take, and every reply to other connections, is written from a copy of its own.
 */
export class ReplyOut {
  #out = new Uint8Array(16 * 1024);

  /** Null when `conn` took all of `reply`, else the write of the rest. */
  write(conn: TcpConn, reply: HttpReply): Promise<void> | null {
    // The next reply reuses the buffer while a rest waits: not owned.
    return writeNowOrLater(conn, this.#bytes(reply), false);
  }

  /**
   * Writes `reply` on the connection `fd` another worker handed over with its last request, and
   * closes it.
   */
  writeAndClose(fd: number, reply: HttpReply): void {
    replyAndClose(fd, this.#bytes(reply));
  }

  /** The wire bytes of `reply` in the reused buffer. */
  #bytes(reply: HttpReply): Uint8Array {
    const need = replyBytesMax(reply);
    // Bounded: a body is at most the routes' scratch buffer.
    if (need > this.#out.length) this.#out = new Uint8Array(need);
    return this.#out.subarray(0, writeReply(this.#out, reply));
  }
}

const REQUEST_TOO_LARGE = errorPageBytes(ERROR_PAGE.serverError);
const NOT_GET = errorPageBytes(ERROR_PAGE.badRequest);
const INTERNAL_ERROR = REQUEST_TOO_LARGE;
/**
 * Read buffers (and request heads) of ended sessions kept for new ones: a connection per request
 * would otherwise allocate (and the collector free) one outside the heap every time.
 */
const SPARE_READ_BUFFERS_MAX = 256;

/** The HTTP side of one tracker: its listeners, its connections and their deadlines. */
export class HttpServer {
  readonly #o: HttpServerOptions;
  readonly #table: ConnectionTable;
  readonly #listeners: TcpListener[] = [];
  /** The TLS listeners, rebound with a new certificate by {@link replaceCertificate}. */
  readonly #tlsListeners: { host: string; port: number; listener: TcpListener }[] = [];
  readonly #sweeper: ReturnType<typeof setInterval>;
  /** Sessions running; {@link close} waits for none to be left. */
  #sessions = 0;
  #sessionsEnded: (() => void) | null = null;
  readonly #spareBuffers: Uint8Array[] = [];
  readonly #spareHeads: RequestHead[] = [];
  readonly #replies = new ReplyOut();
  #closed = false;
  readonly #acceptLog: ThrottledLog;
  readonly #failureLog: ThrottledLog;

  /**
   * Replies to an announce another worker handed over with its connection (descriptor `fd`, its
   * last request) and closes the connection.
   */
  replyHandedOver(fd: number, reply: HttpReply): void {
    this.#replies.writeAndClose(fd, reply);
  }

  constructor(options: HttpServerOptions) {
    this.#o = options;
    this.#table = options.connections;
    this.#acceptLog = new ThrottledLog(options.log);
    this.#failureLog = new ThrottledLog(options.log);
    this.#sweeper = setInterval(() => {
      this.#table.sweep(performance.now());
    }, SWEEP_INTERVAL_MS);
  }

  /**
   * Binds `host:port` and starts accepting. Throws when the address cannot be bound. With
   * `reusePort` (several workers) every worker binds the same address and the kernel spreads
   * the connections. With `tls` (PEM certificate chain and key) it serves HTTPS.
   */
  listen(
    host: string,
    port: number,
    reusePort = false,
    tls: { cert: string; key: string } | null = null,
  ): HttpListener {
    // With TLS the handshake happens on the connection's first read, inside the request deadline.
    // A TLS listener always shares its port (SO_REUSEPORT): a new certificate comes with a new
    // listener beside it, then the old one closes (the caller checked that no other process
    // holds the port).
    const listener: TcpListener = tls !== null
      ? Deno.listenTls({ hostname: host, port, transport: "tcp", reusePort: true, ...tls })
      : this.#o.epoll
      ? new FdListener(host, port, reusePort)
      : Deno.listen({ hostname: host, port, transport: "tcp", reusePort });
    this.#listeners.push(listener);
    const addr = listener.addr as Deno.NetAddr;
    if (tls !== null) this.#tlsListeners.push({ host, port: addr.port, listener });
    return { addr, done: this.#acceptLoop(listener) };
  }

  /**
   * Serves every TLS listener with a new certificate: binds a listener with it beside each one,
   * then closes the old (connections it had not accepted yet are reset: clients retry; those it
   * accepted go on). Throws, changing nothing it has not replaced yet, when the new pair is
   * refused. Returns the number of listeners replaced.
   */
  replaceCertificate(tls: { cert: string; key: string }): number {
    let n = 0;
    for (const t of this.#tlsListeners) {
      const listener = Deno.listenTls({
        hostname: t.host,
        port: t.port,
        transport: "tcp",
        reusePort: true,
        ...tls,
      });
      const old = t.listener;
      t.listener = listener;
      this.#listeners[this.#listeners.indexOf(old)] = listener;
      void this.#acceptLoop(listener);
      try {
        old.close();
      } catch { /* already closed */ }
      n++;
    }
    return n;
  }

  /** Stops accepting, closes every connection and waits until their sessions ended. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweeper);
    for (const l of this.#listeners) {
      try {
        l.close();
      } catch { /* already closed */ }
    }
    this.#table.closeAll();
    if (this.#sessions > 0) {
      await new Promise<void>((resolve) => this.#sessionsEnded = resolve);
    }
    await this.#o.ws?.drained();
  }

  async #acceptLoop(listener: TcpListener): Promise<void> {
    let backoffMs = 0;
    while (!this.#closed) {
      // At the cap, new connections wait in the kernel's queue until one of ours has gone.
      const room = this.#table.whenRoom();
      if (room !== null) {
        await room;
        continue;
      }
      let conn: TcpConn;
      try {
        conn = await listener.accept();
        backoffMs = 0;
      } catch (error) {
        if (this.#closed || error instanceof Deno.errors.BadResource) return;
        this.#acceptFailed(error);
        backoffMs = Math.min(ACCEPT_BACKOFF_MS_MAX, backoffMs === 0 ? 10 : backoffMs * 2);
        await new Promise((r) => setTimeout(r, backoffMs));
        continue;
      }
      this.#sessions++;
      void this.#serve(conn);
    }
  }

  /**
   * An accept failed (the kernel keeps the connection queued). Out of descriptors: lower the
   * connection cap and free a reserve by evicting idle connections. Logged once per period.
   */
  #acceptFailed(error: unknown): void {
    this.#table.counters.acceptErrors++;
    const exhausted = isDescriptorExhaustion(error);
    if (exhausted) this.#table.descriptorsExhausted();
    const why = error instanceof Error ? error.message : String(error);
    this.#acceptLog.report(
      performance.now(),
      (n) =>
        `HTTP accept failed${timesSince(n)}: ${why}` +
        (exhausted
          ? `; connection cap lowered to ${this.#table.ceiling}, ` +
            `${this.#table.open} connections open; UDP and open connections are still served`
          : ""),
    );
  }

  /** Serves one accepted connection; counted in {@link #sessions}, which it takes one from. */
  async #serve(conn: TcpConn): Promise<void> {
    this.#o.counters.tcpAccepts++;
    let t: Tracked | null = null;
    let handedOver = false;
    const buf = this.#spareBuffers.pop() ?? new Uint8Array(READ_BYTES_INITIAL);
    const head = this.#spareHeads.pop() ?? new RequestHead();
    try {
      const ip = this.#clientIp(conn);
      if (ip !== null) t = this.#table.admit(addressKey(ip), () => conn.close(), performance.now());
      if (t !== null) handedOver = await this.#session(conn, t, ip!, buf, head);
    } catch (error) {
      connectionEnded("HTTP", error, this.#table.counters, this.#failureLog);
    } finally {
      // A WebSocket releases its entry and closes its socket itself when it ends.
      if (!handedOver) {
        if (t !== null) this.#table.release(t);
        try {
          conn.close();
        } catch { /* closed by the table or the peer */ }
        // Not after a hand-over: the WebSocket's handshake may still read the head in it.
        if (this.#spareBuffers.length < SPARE_READ_BUFFERS_MAX) {
          this.#spareBuffers.push(buf);
          this.#spareHeads.push(head);
        }
      }
      if (--this.#sessions === 0 && this.#sessionsEnded !== null) this.#sessionsEnded();
    }
  }

  /** The client's address as 16 bytes, or null (logged) when it is not understood. */
  #clientIp(conn: TcpConn): Uint8Array | null {
    if (conn.remoteIp !== undefined) return conn.remoteIp;
    const ip = new Uint8Array(16);
    const hostname = (conn.remoteAddr as Deno.NetAddr).hostname;
    if (parseIp(hostname, ip)) return ip;
    this.#o.log(`HTTP client address not understood: "${hostname}"`);
    return null;
  }

  /**
   * Requests of one connection, in order, until it closes or may not be kept; true when it was
   * handed to the WebSocket hub (which then owns its table entry and socket). Reads into `first`
   * (or a larger buffer while a head does not fit); `head` is parsed anew for each request.
   */
  async #session(
    conn: TcpConn,
    t: Tracked,
    ip: Uint8Array,
    first: Uint8Array,
    head: RequestHead,
  ): Promise<boolean> {
    const table = this.#table;
    let buf = first;
    let start = 0; // first byte of the current request
    let end = 0; // end of the bytes read
    let scan = 0; // where the search for the end of the head resumes
    while (true) {
      const headEnd = findHeadEnd(buf, scan, end);
      if (headEnd < 0) {
        if (end - start >= LIMITS.httpRequestBytesMax) {
          // opentracker answers an over-long head with 500 and closes.
          this.#o.counters.httpErrors[HTTP_ERROR.server500]++;
          table.enter(t, CONN_STATE.writing, performance.now());
          await writeAll(conn, REQUEST_TOO_LARGE);
          return false;
        }
        if (!mayBeGet(buf, start, end)) {
          // The 400 opentracker sends once the head is complete, sent as soon as it is certain.
          this.#o.counters.httpErrors[HTTP_ERROR.parse400]++;
          table.enter(t, CONN_STATE.writing, performance.now());
          await writeAll(conn, NOT_GET);
          return false;
        }
        if (start === end) {
          // Nothing of the next request yet: drop a grown buffer while the connection idles.
          start = end = scan = 0;
          if (buf.length > READ_BYTES_INITIAL) buf = first;
        } else if (end === buf.length) {
          if (start > 0) {
            buf.copyWithin(0, start, end);
            end -= start;
            scan -= start;
            start = 0;
          } else {
            const grown = new Uint8Array(Math.min(2 * buf.length, LIMITS.httpRequestBytesMax));
            grown.set(buf.subarray(0, end));
            buf = grown;
          }
        }
        scan = Math.max(start, end - 2);
        // Part of a head is here: the request's deadline runs until the rest comes. Not entered
        // for a head that comes whole in one read: it is answered in the same turn.
        if (start < end && t.state !== CONN_STATE.request) {
          table.enter(t, CONN_STATE.request, performance.now());
        }
        // What has arrived already is read without a promise (fd_tcp's connections).
        const into = buf.subarray(end);
        let n = conn.readNow === undefined ? 0 : conn.readNow(into);
        if (n === 0) n = await conn.read(into);
        if (n === null) return false;
        end += n;
        continue;
      }
      head.parse(buf, start, headEnd);
      const ws = this.#o.ws ?? null;
      if (head.upgradeWebSocket && ws !== null && isWebSocketPath(head)) {
        // The connection is the WebSocket's from here (when the handshake is accepted); what
        // followed the head is its first bytes. This session and the one serving it end here: a
        // WebSocket may stay open for hours, and holds none of their frames and buffers.
        table.enter(t, CONN_STATE.writing, performance.now());
        return ws.upgrade(conn, t, head, buf.slice(headEnd, end));
      }
      let reply: HttpReply;
      try {
        // The connection's last request (nothing read after it): an announce of another worker's
        // torrent may take the connection there, which replies and closes it.
        const last = !head.keepAlive && end === headEnd && conn.detach !== undefined;
        const r = this.#o.routes.handle(
          head,
          ip,
          this.#o.clock(),
          last ? conn as Detachable : null,
        );
        if (r instanceof Promise) {
          table.enter(t, CONN_STATE.busy, performance.now());
          reply = await r;
        } else {
          reply = r;
        }
      } catch (error) {
        this.#o.log(`HTTP handler failed: ${error instanceof Error ? error.stack : error}`);
        this.#o.counters.httpErrors[HTTP_ERROR.server500]++;
        table.enter(t, CONN_STATE.writing, performance.now());
        await writeAll(conn, INTERNAL_ERROR);
        return false;
      }
      if (reply === HANDED_OVER) return false;
      // The body is a view of the routes' scratch buffer: copy it before any await.
      if (reply.stream !== null) {
        await this.#stream(conn, t, reply);
        return false;
      }
      const writing = this.#replies.write(conn, reply);
      if (writing !== null) {
        table.enter(t, CONN_STATE.writing, performance.now());
        await writing;
      }
      if (!head.keepAlive) {
        // The client asked to close after this request (HTTP/1.0, `Connection: close`): it sends
        // nothing more, and the close need not look for input to read away first.
        if (end === headEnd) conn.endOfInput?.();
        return false;
      }
      // Error pages and redirects carry HTTP/1.0 status lines: the connection ends with them.
      if (reply.status !== 200) return false;
      start = scan = headEnd;
      table.enter(t, start < end ? CONN_STATE.request : CONN_STATE.idle, performance.now());
    }
  }

  /** A chunked reply: each chunk is written before the next is produced. */
  async #stream(conn: TcpConn, t: Tracked, reply: HttpReply): Promise<void> {
    const table = this.#table;
    const reader = reply.stream!.getReader();
    try {
      const type = reply.contentType ?? "application/octet-stream";
      const head = new Uint8Array(headBytesMax(type));
      table.enter(t, CONN_STATE.writing, performance.now());
      await writeAll(
        conn,
        head.subarray(0, writeChunkedHead(head, 0, type, reply.contentEncoding)),
      );
      while (true) {
        table.enter(t, CONN_STATE.busy, performance.now());
        const { value, done } = await reader.read();
        table.enter(t, CONN_STATE.writing, performance.now());
        if (done) {
          await writeAll(conn, LAST_CHUNK);
          return;
        }
        if (value.length === 0) continue;
        const framed = new Uint8Array(value.length + 16);
        await writeAll(conn, framed.subarray(0, writeChunk(framed, 0, value)));
      }
    } finally {
      reader.cancel().catch(() => {});
    }
  }
}
