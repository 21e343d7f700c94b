/**
 * The one definition of the tracker's Deno permission set, used by `deno task start` (checked by
 * a test against deno.json), by the integration tests and by `deno task compile`
 * (scripts/compile.ts embeds it). This sandbox replaces opentracker's chroot and setuid.
 *
 * - net: unscoped, because every UDP `send()` is checked per destination (platform notes).
 * - read: the configuration and the files it names (lists, FIFOs, state files), and from source
 *   the tracker's `src/` (workers' modules).
 * - write: the state directory (and FIFOs, which are opened read-write).
 * - ffi scoped to the C library's file ({@link LIBC_PATHS}), for the batched UDP path and the
 *   descriptor limit; `ffi: false` leaves it out (then UDP takes the portable path).
 * - env: only the two names npm `ws` (WebSocket frames) reads when it loads, to decide whether to
 *   look for its optional native helpers ({@link WS_ENV}); no other variable, no run or sys.
 * - and one V8 flag, `--expose-gc`: after a burst of announces the tracker collects and gives the
 *   freed memory back to the system (server/memory_giveback.ts).
 *
 * Pure: builds argument lists only.
 */

import { LIBC_PATHS } from "../types.ts";

/** The environment variables npm `ws` reads at load (its answer to them changes nothing here). */
export const WS_ENV = ["WS_NO_BUFFER_UTIL", "WS_NO_UTF_8_VALIDATE"] as const;

/** Directories the sandbox opens. */
export interface PermissionDirs {
  readonly read: readonly string[];
  readonly write: readonly string[];
  /** Grants FFI to the C library (the batched UDP path). Default true. */
  readonly ffi?: boolean;
  /**
   * The tracker's `src/` directory when it runs from source (`deno run`): Deno reads a worker's
   * module through the read permission (`tracker.workers` above 1). A compiled executable
   * embeds it and needs none.
   */
  readonly source?: string;
}

/** For `deno task start` from a checkout: the working directory. */
export const RUN_DIRS: PermissionDirs = { read: ["."], write: ["."] };

/** For an installed tracker: its configuration and state directories. */
export const INSTALL_DIRS: PermissionDirs = {
  read: ["/etc/opentracker", "/var/lib/opentracker"],
  write: ["/var/lib/opentracker"],
};

/** `deno run`/`deno compile` flags for `dirs`. */
export function permissionFlags(dirs: PermissionDirs): string[] {
  const flags = ["--allow-net"];
  const read = dirs.source === undefined ? dirs.read : [...dirs.read, dirs.source];
  if (read.length > 0) flags.push(`--allow-read=${read.join(",")}`);
  if (dirs.write.length > 0) flags.push(`--allow-write=${dirs.write.join(",")}`);
  if (dirs.ffi !== false) flags.push(`--allow-ffi=${LIBC_PATHS.join(",")}`);
  flags.push(`--allow-env=${WS_ENV.join(",")}`);
  flags.push("--v8-flags=--expose-gc");
  return flags;
}
