/**
 * The C library through Deno FFI, opened once and only when FFI is granted for one of
 * {@link LIBC_PATHS} (or unscoped): the batched UDP path (recvmmsg/sendmmsg), TCP on epoll, the
 * descriptor limit (getrlimit) and giving freed memory back (malloc_trim) use it. Linux LP64 (x86_64, aarch64) layouts.
 */

import { LIBC_PATHS } from "../types.ts";
import { parseIp } from "../util/ip.ts";

const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  recvmmsg: { parameters: ["i32", "buffer", "u32", "i32", "pointer"], result: "i32" },
  sendmmsg: { parameters: ["i32", "buffer", "u32", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  getrlimit: { parameters: ["i32", "buffer"], result: "i32" },
  // The epoll loop (epoll_loop.ts): epoll_wait is the one call that blocks, on its own thread.
  epoll_create1: { parameters: ["i32"], result: "i32" },
  epoll_ctl: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  epoll_wait: { parameters: ["i32", "buffer", "i32", "i32"], result: "i32", nonblocking: true },
  // The same call on the event loop's own thread: what is ready now, or a short wait, no hop.
  epoll_wait_now: {
    name: "epoll_wait",
    parameters: ["i32", "buffer", "i32", "i32"],
    result: "i32",
  },
  listen: { parameters: ["i32", "i32"], result: "i32" },
  accept4: { parameters: ["i32", "buffer", "buffer", "i32"], result: "i32" },
  send: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  shutdown: { parameters: ["i32", "i32"], result: "i32" },
  // glibc's: hands the allocator's free memory back to the system (server/memory_giveback.ts).
  // Optional: another C library may not have it.
  malloc_trim: { parameters: ["usize"], result: "i32", optional: true },
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
  strnlen: { parameters: ["pointer", "usize"], result: "usize" },
  // Deno's pointer API (UnsafePointer, UnsafePointerView) needs an unscoped --allow-ffi, which
  // would let the process load any library. Two C functions stand in for it under the grant
  // scoped to this file: memmove(b, b, 0) returns the address of `b`, and memcpy copies from a
  // pointer the C library returned (errno, an error text) into a buffer.
  addressOf: { name: "memmove", parameters: ["buffer", "buffer", "usize"], result: "u64" },
  copyFrom: { name: "memcpy", parameters: ["buffer", "pointer", "usize"], result: "pointer" },
} as const;

/** Linux constants the socket code shares (x86_64 and aarch64 agree on these). */
export const AF_INET = 2;
export const AF_INET6 = 10;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SO_REUSEPORT = 15;
export const IPPROTO_IPV6 = 41;
export const IPV6_V6ONLY = 26;
export const EAGAIN = 11;
export const EINTR = 4;
export const EBADF = 9;
export const ENOMEM = 12;
export const ENOTSOCK = 88;
export const ENOBUFS = 105;
export const EADDRINUSE = 98;
/** Bytes of a sockaddr_in6, which holds a sockaddr_in (16) too. */
export const SOCKADDR_BYTES = 28;

/** The libc functions the tracker calls. */
export type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let libc: Libc | null = null;
/** Why the C library could not be opened, once tried. */
let unavailable: string | null = null;

/**
 * Opens the C library (once), by the first path of {@link LIBC_PATHS} that FFI is granted for
 * and that exists. Throws, saying why, when there is none.
 */
export function openLibc(): Libc {
  if (libc !== null) return libc;
  if (unavailable !== null) throw new Error(unavailable);
  const tried: string[] = [];
  for (const path of LIBC_PATHS) {
    if (Deno.permissions.querySync({ name: "ffi", path }).state !== "granted") continue;
    try {
      libc = Deno.dlopen(path, SYMBOLS).symbols;
      return libc;
    } catch (error) {
      tried.push(`${path}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  unavailable = tried.length === 0
    ? `FFI to the C library is not granted (start with --allow-ffi=${LIBC_PATHS.join(",")})`
    : `no C library could be opened (${tried.join("; ")})`;
  throw new Error(unavailable);
}

/** True when {@link openLibc} succeeds: on Linux, with FFI granted for the C library. */
export function libcAvailable(): boolean {
  if (Deno.build.os !== "linux") return false;
  try {
    openLibc();
    return true;
  } catch {
    return false;
  }
}

/** Why {@link libcAvailable} is false, or null when it is true. */
export function libcUnavailableReason(): string | null {
  if (Deno.build.os !== "linux") return `the batched path needs Linux (this is ${Deno.build.os})`;
  return libcAvailable() ? null : unavailable;
}

/** The calling thread's errno. */
export function errno(c: Libc): number {
  const p = c.__errno_location();
  if (p === null) return 0;
  c.copyFrom(errnoBytes, p, 4n);
  return new DataView(errnoBytes.buffer).getInt32(0, true);
}

const errnoBytes = new Uint8Array(4);

/** The address of `buf`'s bytes, for the structures the kernel reads (iovecs, headers). */
export function addressOf(c: Libc, buf: Uint8Array): bigint {
  return c.addressOf(buf, buf, 0n);
}

/** An Error naming `what` and the text of the current errno. */
export function failure(c: Libc, what: string): Error {
  const e = errno(c);
  const s = c.strerror(e);
  let text = `errno ${e}`;
  if (s !== null) {
    const bytes = new Uint8Array(Number(c.strnlen(s, 255n)));
    c.copyFrom(bytes, s, BigInt(bytes.length));
    text = new TextDecoder().decode(bytes);
  }
  return new Error(`${what}: ${text}`);
}

const RLIMIT_NOFILE = 7;

/**
 * The process's descriptor limit (the soft RLIMIT_NOFILE, which Deno raises to the hard limit
 * at start), or null when FFI is not granted or the call fails.
 */
export function descriptorLimit(): number | null {
  if (!libcAvailable()) return null;
  const c = openLibc();
  const rlimit = new BigUint64Array(2);
  if (c.getrlimit(RLIMIT_NOFILE, new Uint8Array(rlimit.buffer)) !== 0) return null;
  // RLIM_INFINITY is all ones; any real limit fits a double exactly.
  return rlimit[0] > 1n << 40n ? Number.MAX_SAFE_INTEGER : Number(rlimit[0]);
}

/**
 * Reads the address of the sockaddr at `name[off..]` into `into` (16 bytes, IPv4 v4-mapped);
 * false for a family other than IPv4 and IPv6.
 */
export function sockaddrIp(name: Uint8Array, off: number, into: Uint8Array): boolean {
  const family = name[off] | (name[off + 1] << 8);
  if (family === AF_INET) {
    into.fill(0, 0, 10);
    into[10] = into[11] = 0xff;
    for (let i = 0; i < 4; i++) into[12 + i] = name[off + 4 + i];
    return true;
  }
  if (family === AF_INET6) {
    for (let i = 0; i < 16; i++) into[i] = name[off + 8 + i];
    return true;
  }
  return false;
}

/** Writes `host:port` as a sockaddr into `name`; returns its length. */
export function writeSockaddr(host: string, port: number, name: Uint8Array): number {
  const v = new DataView(name.buffer, name.byteOffset, name.byteLength);
  const ip = new Uint8Array(16);
  if (!parseIp(host, ip)) throw new Error(`not an IP address: ${host}`);
  name.fill(0);
  v.setUint16(2, port);
  if (!host.includes(":")) {
    v.setUint16(0, AF_INET, true);
    name.set(ip.subarray(12, 16), 4);
    return 16;
  }
  v.setUint16(0, AF_INET6, true);
  name.set(ip, 8);
  return 28;
}

/**
 * A non-blocking socket of `type` bound to `host:port`: "::" dual-stack as Deno binds it,
 * `options` ([level, name, value] integers) set before the bind, SO_REUSEPORT when asked. Throws
 * `Deno.errors.AddrInUse` when the address is taken, another error naming the call otherwise
 * (the socket is closed then).
 */
export function boundSocket(
  c: Libc,
  type: number,
  host: string,
  port: number,
  reusePort: boolean,
  options: readonly (readonly [number, number, number])[] = [],
): number {
  const v6 = host.includes(":");
  const name = new Uint8Array(SOCKADDR_BYTES);
  const length = writeSockaddr(host, port, name);
  const fd = c.socket(v6 ? AF_INET6 : AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw failure(c, "socket");
  const int = new Uint8Array(4);
  const set = (level: number, option: number, value: number) => {
    new DataView(int.buffer).setInt32(0, value, true);
    return c.setsockopt(fd, level, option, int, 4) === 0;
  };
  if (v6) set(IPPROTO_IPV6, IPV6_V6ONLY, 0);
  for (const [level, option, value] of options) set(level, option, value);
  if (reusePort && !set(SOL_SOCKET, SO_REUSEPORT, 1)) {
    const error = failure(c, "setsockopt SO_REUSEPORT");
    c.close(fd);
    throw error;
  }
  if (c.bind(fd, name, length) !== 0) {
    const inUse = errno(c) === EADDRINUSE;
    const error = failure(c, `bind ${host}:${port}`);
    c.close(fd);
    throw inUse ? new Deno.errors.AddrInUse(error.message) : error;
  }
  return fd;
}
