/**
 * TCP through Deno FFI to the C library (Linux): listeners and connections on non-blocking
 * descriptors watched by the isolate's epoll loop (epoll_loop.ts). Deno's own TCP pays an async
 * op per read and per write (about 10 µs each, measured); here one `epoll_wait` reports every
 * ready descriptor at once, and the reads, writes and accepts are synchronous calls on the event
 * loop (a system call each, no op). The objects look like `Deno.Listener` and `Deno.Conn`
 * to the HTTP server ({@link TcpConn}), so the sessions, limits and deadlines are the same code.
 *
 * Edge-triggered: a descriptor is reported when it becomes readable or writable. A read or an
 * accept is tried at once; when the call would block it waits for the next edge, which the
 * kernel reports after that moment. A connection joins the epoll set only when it first has to
 * wait: a request already there at the accept, answered with a reply the socket takes at once,
 * costs accept, read, send and close and nothing else. TLS listeners stay on `Deno.listenTls`.
 *
 * Memory: `read` and `write` take the caller's buffer synchronously; the kernel keeps no pointer.
 */

import { formatIp, isV4Mapped } from "../util/ip.ts";
import {
  AF_INET6,
  boundSocket,
  EAGAIN,
  EINTR,
  errno,
  failure,
  Libc,
  openLibc,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCKADDR_BYTES,
  sockaddrIp,
  SOL_SOCKET,
} from "./libc.ts";
import { TcpConn, writeNowOrLater } from "./conn_io.ts";
import {
  epoll,
  EPOLLERR,
  EPOLLET,
  EPOLLHUP,
  EPOLLIN,
  EPOLLOUT,
  EPOLLRDHUP,
  Watched,
} from "./epoll_loop.ts";

const SOCK_STREAM = 1;
const SO_REUSEADDR = 2;
const IPPROTO_TCP = 6;
const TCP_NODELAY = 1;
const ECONNRESET = 104;
const EPIPE = 32;
const SHUT_WR = 1;
const MSG_NOSIGNAL = 0x4000;
const NAME_BYTES = SOCKADDR_BYTES;
const LISTEN_BACKLOG = 4096;
/** Edge-triggered: in, out and the peer's end. */
const WATCH_EVENTS = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;

/** Where a closing connection's unread input goes. */
const drain = new Uint8Array(4096);

/** The error a failed call on a connection rejects with: Deno's kinds, as its own TCP would. */
function connError(c: Libc, what: string): Error {
  const e = errno(c);
  const message = failure(c, what).message;
  if (e === ECONNRESET) return new Deno.errors.ConnectionReset(message);
  if (e === EPIPE) return new Deno.errors.BrokenPipe(message);
  return new Error(message);
}

/** The port of a sockaddr (IPv4 or IPv6: big-endian at byte 2). */
function portOf(name: Uint8Array): number {
  return (name[2] << 8) | name[3];
}

/** The address `ip` as Deno writes it (`v6`: it came in a sockaddr of the IPv6 family). */
function netAddr(ip: Uint8Array, v6: boolean, port: number): Deno.NetAddr {
  // An IPv4 client of a dual-stack listener comes as IPv6 `::ffff:a.b.c.d`, and Deno says so.
  const mapped = v6 && isV4Mapped(ip, 0);
  return { transport: "tcp", hostname: (mapped ? "::ffff:" : "") + formatIp(ip), port };
}

/** One accepted connection. */
class FdConn implements TcpConn, Watched {
  /** The client's address, from the accept's sockaddr (its text only made when asked for). */
  readonly remoteIp: Uint8Array = new Uint8Array(16);
  readonly #v6: boolean;
  readonly #port: number;
  readonly #c: Libc;
  readonly #fd: number;
  #closed = false;
  /** Given up by {@link detach}: the descriptor is someone else's. */
  #detached = false;
  /** epoll reported the client's end (or an error): reads go on until they see it. */
  #peerClosed = false;
  #readable = true;
  /**
   * Input may wait unread (for the close): cleared only by a read that would block, set by every
   * report of input. A short read clears {@link #readable} but not this: bytes that came after it
   * and were not reported yet still get read away before the close.
   */
  #unread = true;
  #writable = true;
  /**
   * In the epoll set. A connection joins it only when a read or a write has to wait: a request
   * that is there at the accept and a reply the socket takes at once need no epoll_ctl (adding
   * reports the state at that moment, so nothing that arrived before is missed).
   */
  #watched = false;
  #reader:
    | { buf: Uint8Array; resolve: (n: number | null) => void; reject: (e: Error) => void }
    | null = null;
  #writer: { buf: Uint8Array; resolve: (n: number) => void; reject: (e: Error) => void } | null =
    null;

  /** `name`: the client's sockaddr, as accept wrote it. */
  constructor(c: Libc, fd: number, name: Uint8Array) {
    this.#c = c;
    this.#fd = fd;
    sockaddrIp(name, 0, this.remoteIp);
    this.#v6 = (name[0] | (name[1] << 8)) === AF_INET6;
    this.#port = portOf(name);
  }

  get remoteAddr(): Deno.NetAddr {
    return netAddr(this.remoteIp, this.#v6, this.#port);
  }

  /**
   * Tries a read now: bytes read, 0 at the end, -1 when it would block; throws on an error. It
   * keeps {@link #readable}: false when the read would block, and after a read shorter than the
   * buffer, which emptied the socket: the next read waits for epoll's next edge (new bytes make
   * one) instead of asking again only to hear that it would block. Not after the client's FIN was
   * reported: that edge has passed, and the next read must see the end.
   */
  #tryRead(buf: Uint8Array): number {
    while (true) {
      const n = Number(this.#c.read(this.#fd, buf, BigInt(buf.length)));
      if (n > 0 && n < buf.length && !this.#peerClosed) this.#readable = false;
      if (n >= 0) return n;
      const e = errno(this.#c);
      if (e === EINTR) continue;
      if (e === EAGAIN) {
        this.#readable = this.#unread = false;
        return -1;
      }
      throw connError(this.#c, "read");
    }
  }

  /**
   * Tries a write now, as {@link #tryRead} reads, keeping {@link #writable} (a short write filled
   * the socket's buffer).
   */
  #tryWrite(buf: Uint8Array): number {
    while (true) {
      const n = Number(this.#c.send(this.#fd, buf, BigInt(buf.length), MSG_NOSIGNAL));
      if (n >= 0) {
        if (n < buf.length) this.#writable = false;
        return n;
      }
      const e = errno(this.#c);
      if (e === EINTR) continue;
      if (e === EAGAIN) {
        this.#writable = false;
        return -1;
      }
      throw connError(this.#c, "write");
    }
  }

  read(buf: Uint8Array): Promise<number | null> {
    if (this.#closed) return Promise.reject(new Deno.errors.BadResource("connection closed"));
    if (this.#readable) {
      try {
        const n = this.#tryRead(buf);
        if (n > 0) return Promise.resolve(n);
        if (n === 0) return Promise.resolve(null);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return this.#wait((resolve, reject) => this.#reader = { buf, resolve, reject });
  }

  /** Joins the epoll set (once) and waits: `keep` holds on to what the next report settles. */
  #wait<T>(keep: (resolve: (v: T) => void, reject: (e: Error) => void) => void): Promise<T> {
    if (!this.#watched) {
      try {
        epoll().add(this.#fd, this, WATCH_EVENTS);
      } catch (error) {
        return Promise.reject(error);
      }
      this.#watched = true;
    }
    return new Promise(keep);
  }

  readNow(buf: Uint8Array): number | null {
    if (this.#closed) throw new Deno.errors.BadResource("connection closed");
    if (!this.#readable || this.#reader !== null) return 0;
    const n = this.#tryRead(buf);
    return n > 0 ? n : n === 0 ? null : 0;
  }

  write(buf: Uint8Array): Promise<number> {
    if (this.#closed) return Promise.reject(new Deno.errors.BadResource("connection closed"));
    if (buf.length === 0) return Promise.resolve(0);
    if (this.#writable) {
      try {
        const n = this.#tryWrite(buf);
        if (n >= 0) return Promise.resolve(n);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return this.#wait((resolve, reject) => this.#writer = { buf, resolve, reject });
  }

  writeNow(buf: Uint8Array): number {
    if (this.#closed) throw new Deno.errors.BadResource("connection closed");
    if (!this.#writable || this.#writer !== null || buf.length === 0) return 0;
    return Math.max(this.#tryWrite(buf), 0);
  }

  onEvents(mask: number): void {
    if (mask & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
      if (mask & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) this.#peerClosed = true;
      this.#readable = this.#unread = true;
      const r = this.#reader;
      if (r !== null) {
        try {
          const n = this.#tryRead(r.buf);
          if (n >= 0) {
            this.#reader = null;
            r.resolve(n === 0 ? null : n);
          }
        } catch (error) {
          this.#reader = null;
          r.reject(error as Error);
        }
      }
    }
    if (mask & (EPOLLOUT | EPOLLHUP | EPOLLERR)) {
      this.#writable = true;
      const w = this.#writer;
      if (w !== null) {
        try {
          const n = this.#tryWrite(w.buf);
          if (n >= 0) {
            this.#writer = null;
            w.resolve(n);
          }
        } catch (error) {
          this.#writer = null;
          w.reject(error as Error);
        }
      }
    }
  }

  endOfInput(): void {
    this.#unread = false;
  }

  closeWrite(): Promise<void> {
    if (!this.#closed) this.#c.shutdown(this.#fd, SHUT_WR);
    return Promise.resolve();
  }

  detach(): number {
    if (this.#closed) throw new Deno.errors.BadResource("connection closed");
    if (this.#reader !== null || this.#writer !== null) throw new Error("detach while waiting");
    this.#closed = this.#detached = true;
    if (this.#watched) epoll().unwatch(this.#fd);
    return this.#fd;
  }

  close(): void {
    // After a detach the session's usual close is expected: quietly nothing (an error object per
    // handed-over connection would cost more than the rest of its hand-over).
    if (this.#detached) return;
    if (this.#closed) throw new Deno.errors.BadResource("connection closed");
    this.#closed = true;
    if (this.#watched) epoll().remove(this.#fd);
    // Bytes the client sent and nobody read make the kernel answer the close with a reset, and
    // the client loses the reply before it: what has arrived is read away first (bounded; not
    // when the last read found nothing and no edge came since).
    if (this.#unread) {
      for (let k = 0; k < 16 && this.#c.read(this.#fd, drain, BigInt(drain.length)) > 0; k++);
    }
    this.#c.close(this.#fd);
    if (this.#reader === null && this.#writer === null) return;
    const error = new Deno.errors.BadResource("connection closed");
    this.#reader?.reject(error);
    this.#writer?.reject(error);
    this.#reader = this.#writer = null;
  }
}

/** Replies that {@link replyAndClose} still writes (a socket that did not take one at once). */
const LATE_REPLIES_MAX = 1024;
/** How long such a reply may take to be read before its connection is closed without it. */
const LATE_REPLY_TIMEOUT_MS = 30_000;
let lateReplies = 0;

/** The sockaddr a handed-over connection is adopted with: its peer's address is not asked for. */
const UNNAMED = new Uint8Array(NAME_BYTES);

/**
 * Writes `reply` (a buffer the caller reuses) to the connection `fd` that another worker handed
 * over with its last request, then closes it. A fresh connection takes a reply of this size at
 * once; otherwise the rest is written, from a copy, as the socket drains (at most
 * {@link LATE_REPLIES_MAX} such connections, each closed after {@link LATE_REPLY_TIMEOUT_MS});
 * a client that went away just ends.
 */
export function replyAndClose(fd: number, reply: Uint8Array): void {
  if (fd < 0) return; // the sender could not detach the connection (it closes it)
  const conn = new FdConn(openLibc(), fd, UNNAMED);
  // Taken after its last request: the close need not look for input to read away.
  conn.endOfInput();
  const close = () => {
    try {
      conn.close();
    } catch { /* closed already */ }
  };
  let rest: Promise<void> | null = null;
  try {
    // No room for another wait: what the socket takes now.
    if (lateReplies >= LATE_REPLIES_MAX) conn.writeNow(reply);
    else rest = writeNowOrLater(conn, reply, false);
  } catch { /* the client went away */ }
  if (rest === null) return close();
  lateReplies++;
  // Closing rejects the write that waits.
  const timer = setTimeout(close, LATE_REPLY_TIMEOUT_MS);
  rest.catch(() => {}).finally(() => {
    lateReplies--;
    clearTimeout(timer);
    close();
  });
}

/** A listening socket whose accepted connections are {@link FdConn}s. */
export class FdListener implements Watched {
  readonly addr: Deno.NetAddr;
  readonly #c: Libc;
  readonly #fd: number;
  readonly #name = new Uint8Array(NAME_BYTES);
  readonly #nameLength = new Uint8Array(4);
  #acceptable = true;
  #closed = false;
  #waiter: { resolve: (c: TcpConn) => void; reject: (e: Error) => void } | null = null;

  /** Binds and listens; throws `Deno.errors.AddrInUse` or another error as `Deno.listen` does. */
  constructor(host: string, port: number, reusePort: boolean) {
    const c = this.#c = openLibc();
    // As Deno.listen: the address may be rebound at once after a restart. TCP_NODELAY as Deno's
    // accepted connections have it, set once here: Linux gives it to every accepted socket (one
    // call per connection fewer).
    const fd = boundSocket(c, SOCK_STREAM, host, port, reusePort, [
      [SOL_SOCKET, SO_REUSEADDR, 1],
      [IPPROTO_TCP, TCP_NODELAY, 1],
    ]);
    if (c.listen(fd, LISTEN_BACKLOG) !== 0) {
      const error = failure(c, `listen ${host}:${port}`);
      c.close(fd);
      throw error;
    }
    const name = new Uint8Array(NAME_BYTES);
    new DataView(this.#nameLength.buffer).setUint32(0, NAME_BYTES, true);
    c.getsockname(fd, name, this.#nameLength);
    this.addr = { transport: "tcp", hostname: host, port: portOf(name) };
    this.#fd = fd;
    epoll().add(fd, this, WATCH_EVENTS);
  }

  /** The next connection; rejects with `BadResource` once the listener is closed. */
  accept(): Promise<TcpConn> {
    if (this.#closed) return Promise.reject(new Deno.errors.BadResource("listener closed"));
    if (this.#acceptable) {
      try {
        const conn = this.#tryAccept();
        if (conn !== null) return Promise.resolve(conn);
      } catch (error) {
        return Promise.reject(error);
      }
      this.#acceptable = false;
    }
    return new Promise((resolve, reject) => this.#waiter = { resolve, reject });
  }

  #tryAccept(): TcpConn | null {
    const c = this.#c;
    while (true) {
      new DataView(this.#nameLength.buffer).setUint32(0, NAME_BYTES, true);
      const fd = c.accept4(this.#fd, this.#name, this.#nameLength, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd >= 0) {
        return new FdConn(c, fd, this.#name);
      }
      const e = errno(c);
      if (e === EINTR) continue;
      if (e === EAGAIN) return null;
      // The message carries "(os error N)" as Deno's does: the server tells EMFILE by it.
      throw new Error(`${failure(c, "accept").message} (os error ${e})`);
    }
  }

  onEvents(): void {
    this.#acceptable = true;
    const w = this.#waiter;
    if (w === null) return;
    try {
      const conn = this.#tryAccept();
      if (conn === null) {
        this.#acceptable = false;
        return;
      }
      this.#waiter = null;
      w.resolve(conn);
    } catch (error) {
      this.#waiter = null;
      w.reject(error as Error);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    epoll().remove(this.#fd);
    this.#c.close(this.#fd);
    this.#waiter?.reject(new Deno.errors.BadResource("listener closed"));
    this.#waiter = null;
  }
}
