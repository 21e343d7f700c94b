/**
 * The C library through Deno FFI, opened once and only when `--allow-ffi` is granted: the
 * batched UDP path (recvmmsg/sendmmsg) and the descriptor limit (getrlimit) use it. Linux
 * LP64 (x86_64, aarch64) layouts.
 */

const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  recvmmsg: { parameters: ["i32", "buffer", "u32", "i32", "pointer"], result: "i32" },
  sendmmsg: { parameters: ["i32", "buffer", "u32", "i32"], result: "i32" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  close: { parameters: ["i32"], result: "i32" },
  getrlimit: { parameters: ["i32", "buffer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
} as const;

/** The libc functions the tracker calls. */
export type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let libc: Libc | null = null;

/** Opens libc (once). Throws when FFI is not granted. */
export function openLibc(): Libc {
  libc ??= Deno.dlopen("libc.so.6", SYMBOLS).symbols;
  return libc;
}

/** True when FFI is granted, so that {@link openLibc} can succeed. */
export function ffiGranted(): boolean {
  return Deno.permissions.querySync({ name: "ffi" }).state === "granted";
}

/** The calling thread's errno. */
export function errno(c: Libc): number {
  const p = c.__errno_location();
  return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32();
}

/** An Error naming `what` and the text of the current errno. */
export function failure(c: Libc, what: string): Error {
  const e = errno(c);
  const s = c.strerror(e);
  const text = s === null ? `errno ${e}` : new Deno.UnsafePointerView(s).getCString();
  return new Error(`${what}: ${text}`);
}

const RLIMIT_NOFILE = 7;

/**
 * The process's descriptor limit (the soft RLIMIT_NOFILE, which Deno raises to the hard limit
 * at start), or null when FFI is not granted or the call fails.
 */
export function descriptorLimit(): number | null {
  if (!ffiGranted()) return null;
  const c = openLibc();
  const rlimit = new BigUint64Array(2);
  if (c.getrlimit(RLIMIT_NOFILE, new Uint8Array(rlimit.buffer)) !== 0) return null;
  // RLIM_INFINITY is all ones; any real limit fits a double exactly.
  return rlimit[0] > 1n << 40n ? Number.MAX_SAFE_INTEGER : Number(rlimit[0]);
}
