/**
 * UDP listener on `Deno.listenDatagram`: one receive loop per socket with one reused receive
 * buffer and one reused reply buffer. Each datagram is handled to completion before the next is
 * read, so the buffers are never shared between two requests.
 */

import { LIMITS } from "../types.ts";
import { parseIp } from "../util/ip.ts";
import { UDP_REPLY_BYTES_MAX, UdpHandler } from "./udp_handler.ts";
import { ThrottledLog } from "../util/throttled_log.ts";

/** Options for {@link serveUdp}. */
export interface ServeUdpOptions {
  host: string;
  port: number;
  handler: UdpHandler;
  /** Seconds since the epoch. */
  clock: () => number;
  /** Logs an unexpected error. */
  log: (line: string) => void;
  /** Counts datagrams whose reply could not be sent. */
  onDroppedReplies?: (n: number) => void;
}

/** A bound UDP socket serving BEP 15, portable or batched (udp_batch.ts): one shape for both. */
export interface UdpListener {
  readonly addr: Deno.NetAddr;
  /** Settles when the socket is closed and its loop ended. */
  readonly done: Promise<void>;
  /** Closes the socket. */
  close(): void;
}

/** Binds and starts the receive loop. Throws when the address cannot be bound. */
export function serveUdp(o: ServeUdpOptions): UdpListener {
  const socket = Deno.listenDatagram({ hostname: o.host, port: o.port, transport: "udp" });
  const done = receiveLoop(socket, o);
  return {
    addr: socket.addr as Deno.NetAddr,
    done,
    close() {
      try {
        socket.close();
      } catch { /* already closed */ }
    },
  };
}

async function receiveLoop(socket: Deno.DatagramConn, o: ServeUdpOptions): Promise<void> {
  const buf = new Uint8Array(LIMITS.udpDatagramBytesMax);
  const out = new Uint8Array(UDP_REPLY_BYTES_MAX);
  const ip = new Uint8Array(16);
  // A failure that repeats with every datagram logs a line per period at most, with a count.
  const failures = new ThrottledLog(o.log);
  let lastHost = "";
  while (true) {
    let data: Uint8Array;
    let addr: Deno.Addr;
    try {
      [data, addr] = await socket.receive(buf);
    } catch (error) {
      if (error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted) {
        return;
      }
      failures.failed("UDP receive", error, true);
      continue;
    }
    try {
      const host = (addr as Deno.NetAddr).hostname;
      // Consecutive datagrams often come from the same client: skip re-parsing its address.
      if (host !== lastHost) {
        if (!parseIp(host, ip)) {
          lastHost = "";
          continue;
        }
        lastHost = host;
      }
      const n = o.handler.handle(data, data.length, ip, o.clock(), out);
      if (n > 0) {
        try {
          await socket.send(out.subarray(0, n), addr);
        } catch (error) {
          if (error instanceof Deno.errors.BadResource) return;
          // The client's address cannot be sent to (a forged source port 0, a route the host
          // lacks) or the send buffer is full: counted, not logged, since a stranger decides
          // how often that happens; the loop goes on.
          o.onDroppedReplies?.(1);
        }
      }
    } catch (error) {
      if (error instanceof Deno.errors.BadResource) return;
      failures.failed("UDP request", error);
    }
  }
}
