/**
 * What the TCP sessions (HTTP and WebSocket) share about a `Deno.Conn`: writing a whole buffer,
 * and telling a client that went away from a failure worth a log line.
 */

import { ThrottledLog } from "../util/throttled_log.ts";

/**
 * What the sessions use of a TCP connection: `Deno.Conn` has it, and so does fd_tcp.ts's
 * connection on epoll.
 */
export interface TcpConn {
  readonly remoteAddr: Deno.Addr;
  /**
   * The client's address as 16 bytes (IPv4 v4-mapped), when the connection has it without
   * parsing text (fd_tcp.ts's, from the accept's sockaddr).
   */
  readonly remoteIp?: Uint8Array;
  read(p: Uint8Array): Promise<number | null>;
  /**
   * Reads what has arrived, without waiting: the bytes read, 0 when nothing is waiting, null at
   * the end of the stream. Only a connection that can (fd_tcp.ts's) has it: a request that is
   * already there is served without a promise.
   */
  readNow?(p: Uint8Array): number | null;
  write(p: Uint8Array): Promise<number>;
  /**
   * Writes what the socket takes now, without waiting: the bytes written (0 when it would
   * block). Only a connection that can (fd_tcp.ts's) has it: with it a caller may write from a
   * buffer it reuses, since nothing of it is held after the call.
   */
  writeNow?(p: Uint8Array): number;
  /**
   * Says the client will send nothing more, so that {@link close} need not read away input it
   * may have sent (fd_tcp.ts's connection does that, at the cost of a read, so that a client's
   * extra bytes do not turn the close into a reset that loses the reply). A client that sends
   * anyway gets the reset.
   */
  endOfInput?(): void;
  /**
   * Gives up the connection without closing it: its descriptor, which the caller now owns (it
   * hands it to another worker). Only fd_tcp.ts's connections can; closed afterwards.
   */
  detach?(): number;
  closeWrite(): Promise<void>;
  close(): void;
}

/** A connection whose descriptor can be handed to another worker (fd_tcp.ts's). */
export type Detachable = Required<Pick<TcpConn, "detach">>;

/** A listener of either kind. */
export interface TcpListener {
  readonly addr: Deno.Addr;
  accept(): Promise<TcpConn>;
  close(): void;
}

/**
 * An error of the client's TLS on a TLS connection (Deno raises InvalidData for a corrupt record,
 * a handshake that is not TLS or too long, and the client's alerts; plain TCP never does).
 */
export function isTlsFault(error: unknown): boolean {
  return error instanceof Deno.errors.InvalidData;
}

/**
 * Accounts for a connection of `kind` ("HTTP", "WebSocket") that ended with `error`: the client
 * going away ends it quietly, its TLS is counted in `tlsErrors`, anything else in `failures` and
 * logged through `log` (at most a line per period: how often is a stranger's choice).
 */
export function connectionEnded(
  kind: string,
  error: unknown,
  counters: { tlsErrors: number; failures: number },
  log: ThrottledLog,
): void {
  if (error === null || isDisconnect(error)) return;
  if (isTlsFault(error)) {
    counters.tlsErrors++;
    return;
  }
  counters.failures++;
  log.failed(`${kind} connection`, error);
}

/** What ends a connection quietly: the peer went away, or the table closed it. */
export function isDisconnect(error: unknown): boolean {
  return error instanceof Deno.errors.BadResource ||
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.Interrupted ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.NotConnected ||
    error instanceof Deno.errors.UnexpectedEof;
}

/**
 * Writes `bytes` without waiting when the connection takes all of them (fd_tcp's `writeNow`):
 * null then; else the promise of writing the rest. Unless `owned`, `bytes` is a buffer the caller
 * reuses once this returns: what has to wait is copied first.
 */
export function writeNowOrLater(
  conn: TcpConn,
  bytes: Uint8Array,
  owned: boolean,
): Promise<void> | null {
  let rest = bytes;
  if (conn.writeNow !== undefined) {
    const n = conn.writeNow(bytes);
    if (n === bytes.length) return null;
    rest = bytes.subarray(n);
  }
  return writeAll(conn, owned ? rest : rest.slice());
}

/** Writes all of `data` (a write may take part of it). */
export async function writeAll(conn: TcpConn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}
