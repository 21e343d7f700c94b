/**
 * Batched UDP through Deno FFI (`listen.udp.batch on`, needs `--allow-ffi`): `recvmmsg` and
 * `sendmmsg` move up to {@link BATCH_DATAGRAMS} datagrams per call, so the ≈ 10 µs async op
 * that `Deno.listenDatagram` pays per datagram is paid once per batch.
 *
 * The socket is in the isolate's epoll set (epoll_loop.ts, with the TCP sockets and the other
 * workers' wake-ups): when it is readable, `recvmmsg(MSG_DONTWAIT)` and `sendmmsg(MSG_DONTWAIT)`
 * run synchronously on the event loop, batch after batch, until the socket is drained or
 * {@link BATCHES_PER_REPORT} batches were served; the loop reports it again at its next turn.
 * Synchronous receive calls keep `errno` readable on this thread.
 *
 * Memory rules: every buffer the kernel reads or writes through a raw pointer (datagrams,
 * replies, addresses, iovecs, headers) is allocated once here and kept reachable from the
 * returned listener; the kernel uses them only during the synchronous calls. Linux x86_64 and
 * aarch64 layouts (LP64).
 */

import { LIMITS } from "../types.ts";
import { FORWARD_UDP_HEAD_BYTES, writeForwardUdpHead } from "../protocol/shard_message.ts";
import { reuseportProgram } from "../logic/shards.ts";
import {
  addressOf,
  boundSocket,
  EAGAIN,
  EBADF,
  EINTR,
  ENOBUFS,
  ENOMEM,
  ENOTSOCK,
  errno,
  failure,
  openLibc,
  SOCKADDR_BYTES,
  sockaddrIp,
  SOL_SOCKET,
} from "./libc.ts";
import { epoll, EPOLLIN } from "./epoll_loop.ts";
import { ShardLink } from "./shard_link.ts";
import { UDP_FORWARD, UDP_GATHER, UDP_REPLY_BYTES_MAX, UdpHandler } from "./udp_handler.ts";
import { UdpListener } from "./udp_server.ts";
import { ThrottledLog, timesSince } from "../util/throttled_log.ts";

/** Datagrams per recvmmsg/sendmmsg call (Linux's UIO_MAXIOV is 1024; 64 amortise the op). */
export const BATCH_DATAGRAMS = 64;
/** Batches served each time the epoll loop reports the socket readable. */
const BATCHES_PER_REPORT = 4;

const SOCK_DGRAM = 2;
const SO_RCVBUF = 8;
const SO_ATTACH_REUSEPORT_CBPF = 51;
const MSG_DONTWAIT = 0x40;

/** Sizes of the structures (LP64 Linux). */
const MMSGHDR_BYTES = 64; // struct msghdr (56) + msg_len (4) + padding
const IOVEC_BYTES = 16;
const NAME_BYTES = SOCKADDR_BYTES;
const RECV_SLOT_BYTES = LIMITS.udpDatagramBytesMax;

/** `sendmmsg` errors that concern the socket, not one message: nothing more goes now. */
const SOCKET_ERRORS = new Set([EAGAIN, ENOBUFS, ENOMEM, EBADF, ENOTSOCK]);

/**
 * Sends messages `[0, count)` through `sendmmsg`, given as `send(from, k)` (sends messages
 * `[from, from + k)`, returns how many went, or -1 with the error in `error()`), and returns how
 * many were dropped. `sendmmsg` stops at the first message that fails and reports its error only
 * when it is the first of the call, so:
 *
 * - a full send buffer (or another error of the socket) drops the rest: UDP clients retransmit,
 *   and a blocking send would stall every other client;
 * - an error of one message drops only that one, and the next call starts after it. Such an
 *   error is the sender's doing: a datagram with a forged source port 0 makes its reply fail
 *   with EINVAL, one to an address the host may not send to with EPERM or ENETUNREACH, and a
 *   stranger sending those must not cost the other clients in the same batch their replies.
 */
export function sendAll(
  send: (from: number, k: number) => number,
  error: () => number,
  count: number,
): number {
  let at = 0;
  let dropped = 0;
  while (at < count) {
    const r = send(at, count - at);
    if (r > 0) {
      at += r;
      continue;
    }
    const e = r < 0 ? error() : EAGAIN;
    if (e === EINTR) continue;
    if (SOCKET_ERRORS.has(e)) return dropped + count - at;
    at++;
    dropped++;
  }
  return dropped;
}

/** Options for {@link serveUdpBatched}. */
export interface BatchedUdpOptions {
  host: string;
  port: number;
  handler: UdpHandler;
  clock: () => number;
  log: (line: string) => void;
  /** Counts datagrams whose reply the kernel did not take (send buffer full, bad address). */
  onDroppedReplies?: (n: number) => void;
  /**
   * With several workers: the links to the others, and this socket's index among the worker's
   * UDP listeners (every worker binds the same listeners in the same order, with SO_REUSEPORT).
   */
  shards?: { link: ShardLink; listener: number } | null;
}

/** A batched listener also answers datagrams that other workers received (`tracker.workers`). */
export interface BatchedUdpListener extends UdpListener {
  /** Answers the forwarded datagram of the record at `data[at, at + len)`; sent by {@link flushQueued}. */
  answerForwarded(data: Uint8Array, at: number, len: number): void;
  /** Sends the queued replies (forwarded datagrams, gathered scrapes). */
  flushQueued(): void;
}

/**
 * Gives the socket's SO_REUSEPORT group the program that delivers each announce to the socket of
 * the worker owning its torrent (logic/shards.ts): the workers bind in worker order, so socket k
 * of the group is worker k's. Every worker attaches the same program (the last one stays). When
 * the kernel refuses it, datagrams still reach a worker by the kernel's own hash and are handed
 * over: correct, only slower.
 */
function attachProgram(link: ShardLink, fd: number, log: (line: string) => void): void {
  const c = openLibc();
  const program = reuseportProgram(link.map);
  const fprog = new Uint8Array(16); // struct sock_fprog: u16 length, padding, pointer
  const v = new DataView(fprog.buffer);
  v.setUint16(0, program.length / 8, true);
  v.setBigUint64(8, addressOf(c, program), true);
  // The kernel copies the program during the call; `program` is alive until it returns.
  if (c.setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, fprog, 16) !== 0) {
    log(
      `${failure(c, "SO_ATTACH_REUSEPORT_CBPF").message}: UDP requests are handed between ` +
        "workers instead of reaching their owner directly",
    );
  }
}

/** Binds `host:port` and starts the batched loop. Throws when the socket cannot be bound. */
export function serveUdpBatched(o: BatchedUdpOptions): BatchedUdpListener {
  const c = openLibc();
  // A large receive buffer absorbs bursts. Every worker binds the same address; the kernel
  // spreads the datagrams by source hash. The tracker checks beforehand, without the option, that
  // no other process holds the port.
  const fd = boundSocket(c, SOCK_DGRAM, o.host, o.port, !!o.shards, [
    [SOL_SOCKET, SO_RCVBUF, 4 << 20],
  ]);
  const bindName = new Uint8Array(NAME_BYTES);
  if (o.shards) attachProgram(o.shards.link, fd, o.log);
  const lenBuf = new Uint8Array(4);
  new DataView(lenBuf.buffer).setUint32(0, NAME_BYTES, true);
  c.getsockname(fd, bindName, lenBuf);
  const port = new DataView(bindName.buffer).getUint16(2);

  // Buffers shared with the kernel, all reachable from `mem` for the socket's lifetime.
  const n = BATCH_DATAGRAMS;
  const mem = {
    data: new Uint8Array(n * RECV_SLOT_BYTES),
    replies: new Uint8Array(n * UDP_REPLY_BYTES_MAX),
    names: new Uint8Array(n * NAME_BYTES),
    recvIov: new Uint8Array(n * IOVEC_BYTES),
    sendIov: new Uint8Array(n * IOVEC_BYTES),
    recvHdr: new Uint8Array(n * MMSGHDR_BYTES),
    sendHdr: new Uint8Array(n * MMSGHDR_BYTES),
    // Replies to datagrams that other workers received, and to gathered scrapes.
    qReplies: new Uint8Array(n * UDP_REPLY_BYTES_MAX),
    qNames: new Uint8Array(n * NAME_BYTES),
    qIov: new Uint8Array(n * IOVEC_BYTES),
    qHdr: new Uint8Array(n * MMSGHDR_BYTES),
  };
  const hdrView = new DataView(mem.recvHdr.buffer);
  const sendView = new DataView(mem.sendHdr.buffer);
  const recvIovView = new DataView(mem.recvIov.buffer);
  const sendIovView = new DataView(mem.sendIov.buffer);
  const dataPtr = addressOf(c, mem.data);
  const replyPtr = addressOf(c, mem.replies);
  const namePtr = addressOf(c, mem.names);
  const recvIovPtr = addressOf(c, mem.recvIov);
  const sendIovPtr = addressOf(c, mem.sendIov);
  for (let i = 0; i < n; i++) {
    recvIovView.setBigUint64(i * IOVEC_BYTES, dataPtr + BigInt(i * RECV_SLOT_BYTES), true);
    recvIovView.setBigUint64(i * IOVEC_BYTES + 8, BigInt(RECV_SLOT_BYTES), true);
    const h = i * MMSGHDR_BYTES;
    hdrView.setBigUint64(h, namePtr + BigInt(i * NAME_BYTES), true); // msg_name
    hdrView.setBigUint64(h + 16, recvIovPtr + BigInt(i * IOVEC_BYTES), true); // msg_iov
    hdrView.setBigUint64(h + 24, 1n, true); // msg_iovlen
  }
  // Pointers of each slot, precomputed so a reply costs no BigInt allocation.
  const replySlotPtr = Array.from(
    { length: n },
    (_, i) => replyPtr + BigInt(i * UDP_REPLY_BYTES_MAX),
  );
  const nameSlotPtr = Array.from({ length: n }, (_, i) => namePtr + BigInt(i * NAME_BYTES));
  const sendIovSlotPtr = Array.from({ length: n }, (_, i) => sendIovPtr + BigInt(i * IOVEC_BYTES));
  const qView = new DataView(mem.qHdr.buffer);
  const qIovView = new DataView(mem.qIov.buffer);
  const qReplyPtr = addressOf(c, mem.qReplies);
  const qNamePtr = addressOf(c, mem.qNames);
  const qIovPtr = addressOf(c, mem.qIov);
  for (let i = 0; i < n; i++) {
    qIovView.setBigUint64(i * IOVEC_BYTES, qReplyPtr + BigInt(i * UDP_REPLY_BYTES_MAX), true);
    const h = i * MMSGHDR_BYTES;
    qView.setBigUint64(h, qNamePtr + BigInt(i * NAME_BYTES), true);
    qView.setBigUint64(h + 16, qIovPtr + BigInt(i * IOVEC_BYTES), true);
    qView.setBigUint64(h + 24, 1n, true);
  }
  let queued = 0;
  const fwdIp = new Uint8Array(16);
  // A failure that repeats with every batch logs a line per period at most, with a count.
  const failures = new ThrottledLog(o.log);

  const ip = new Uint8Array(16);
  let closed = false;
  const link = o.shards?.link ?? null;
  const listenerIndex = o.shards?.listener ?? 0;

  /** Hands datagram `d[0, size)` from the address at `mem.names[nameOff]` to worker `to`. */
  const forward = (to: number, d: Uint8Array, size: number, nameOff: number, nameLen: number) => {
    const at = link!.reserve(to, FORWARD_UDP_HEAD_BYTES + size);
    if (at < 0) return; // the owner's ring is full: dropped and counted; the client retries
    const b = link!.buffer(to);
    writeForwardUdpHead(b, at, listenerIndex, mem.names, nameOff, nameLen);
    b.set(d.subarray(0, size), at + FORWARD_UDP_HEAD_BYTES);
  };

  /** Receives and answers one batch; returns the datagrams received (0 when drained). */
  const batch = (): number => {
    for (let i = 0; i < n; i++) hdrView.setUint32(i * MMSGHDR_BYTES + 8, NAME_BYTES, true);
    const got = c.recvmmsg(fd, mem.recvHdr, n, MSG_DONTWAIT, null);
    if (got < 0) {
      const e = errno(c);
      if (e !== EAGAIN && e !== EINTR && !closed) {
        const why = failure(c, "recvmmsg").message;
        failures.report(performance.now(), (times) => `${why}${timesSince(times)}`);
      }
      return 0;
    }
    const now = o.clock();
    let replies = 0;
    for (let i = 0; i < got; i++) {
      const h = i * MMSGHDR_BYTES;
      const len = hdrView.getUint32(h + 56, true);
      const nameOff = i * NAME_BYTES;
      if (!sockaddrIp(mem.names, nameOff, ip)) continue;
      const dataOff = i * RECV_SLOT_BYTES;
      const outOff = i * UDP_REPLY_BYTES_MAX;
      const size = Math.min(len, RECV_SLOT_BYTES);
      const datagram = mem.data.subarray(dataOff, dataOff + size);
      const m = o.handler.handle(
        datagram,
        size,
        ip,
        now,
        mem.replies.subarray(outOff, outOff + UDP_REPLY_BYTES_MAX),
      );
      if (m === UDP_FORWARD) {
        forward(o.handler.owner, datagram, size, nameOff, hdrView.getUint32(h + 8, true));
        continue;
      }
      if (m === UDP_GATHER) {
        const nameLen = hdrView.getUint32(h + 8, true);
        const name = mem.names.slice(nameOff, nameOff + nameLen);
        o.handler.gatherScrape(datagram, size, ip, now, (reply) => {
          if (closed) return;
          const j = queued;
          mem.qReplies.set(reply, j * UDP_REPLY_BYTES_MAX);
          queueReply(j, reply.length, name, 0, nameLen);
          flushQueued();
        });
        continue;
      }
      if (m <= 0) continue;
      const j = replies++;
      sendIovView.setBigUint64(j * IOVEC_BYTES, replySlotPtr[i], true);
      sendIovView.setBigUint64(j * IOVEC_BYTES + 8, BigInt(m), true);
      const s = j * MMSGHDR_BYTES;
      sendView.setBigUint64(s, nameSlotPtr[i], true);
      sendView.setUint32(s + 8, hdrView.getUint32(h + 8, true), true);
      sendView.setBigUint64(s + 16, sendIovSlotPtr[j], true);
      sendView.setBigUint64(s + 24, 1n, true);
    }
    send(mem.sendHdr, replies);
    if (link !== null) {
      // Publish the datagrams handed to other workers, then answer theirs.
      link.flush();
      link.drain();
    }
    return got;
  };

  /** Sends `count` prepared headers of `hdr`. */
  const send = (hdr: Uint8Array, count: number) => {
    const dropped = sendAll(
      (from, k) => c.sendmmsg(fd, hdr.subarray(from * MMSGHDR_BYTES), k, MSG_DONTWAIT),
      () => errno(c),
      count,
    );
    if (dropped > 0) o.onDroppedReplies?.(dropped);
  };

  /** Queues the reply `out[0, m)` of slot `j` to the address `name[nameOff, +nameLen)`. */
  const queueReply = (j: number, m: number, name: Uint8Array, nameOff: number, nameLen: number) => {
    mem.qNames.set(name.subarray(nameOff, nameOff + nameLen), j * NAME_BYTES);
    qIovView.setBigUint64(j * IOVEC_BYTES + 8, BigInt(m), true);
    qView.setUint32(j * MMSGHDR_BYTES + 8, nameLen, true);
    queued++;
    if (queued === n) flushQueued();
  };

  const flushQueued = () => {
    if (queued === 0) return;
    send(mem.qHdr, queued);
    queued = 0;
  };

  // Level-triggered: a socket that still holds datagrams after its batches is reported again at
  // the loop's next turn, after the other descriptors had theirs.
  const stopped = Promise.withResolvers<void>();
  epoll().add(fd, {
    onEvents() {
      for (let k = 0; k < BATCHES_PER_REPORT; k++) {
        try {
          if (batch() < n) break;
        } catch (error) {
          failures.failed("UDP batch", error);
          break;
        }
      }
    },
  }, EPOLLIN);

  return {
    addr: { transport: "udp", hostname: o.host, port },
    done: stopped.promise,
    answerForwarded(data, at, len) {
      if (closed) return;
      const nameLen = data[at + 2];
      if (!sockaddrIp(data, at + 4, fwdIp)) return;
      const j = queued;
      const size = len - FORWARD_UDP_HEAD_BYTES;
      const start = at + FORWARD_UDP_HEAD_BYTES;
      const m = o.handler.handle(
        data.subarray(start, start + size),
        size,
        fwdIp,
        o.clock(),
        mem.qReplies.subarray(j * UDP_REPLY_BYTES_MAX, (j + 1) * UDP_REPLY_BYTES_MAX),
        true,
      );
      if (m > 0) queueReply(j, m, data, at + 4, nameLen);
    },
    flushQueued,
    close() {
      if (closed) return;
      closed = true;
      epoll().unwatch(fd);
      // The kernel holds none of `mem`'s pointers between the synchronous calls.
      c.close(fd);
      stopped.resolve();
    },
  };
}
