/**
 * Gives the memory the swarm no longer holds back to the system. The peer store's pages and the
 * columns a growing table replaced are typed arrays: their memory is freed only when V8 collects
 * them, and then it stays in the C allocator's free lists (glibc's raised mmap threshold puts
 * 1 MiB pages in its heap), so the process's resident size never comes down after a burst.
 * Measured on 1 M peers / 100 k torrents: 44 B per peer held without this, 24 B with it (docs/
 * benchmarks.md, "Memory given back").
 *
 * When to do it ({@link GiveBackPolicy}, pure, tested with an explicit clock): when the peer
 * store has released at least {@link RELEASED_BYTES_MIN} since the last time, or when it changed
 * and has then been still for {@link SETTLED_MS} (the end of a burst of growth, which leaves the
 * replaced columns behind); never more often than every {@link GIVE_BACK_GAP_MS}. What it does:
 * a full garbage collection when V8 exposes it (`--v8-flags=--expose-gc`, which the start task,
 * the compiled executable and the installed wrapper pass), then, {@link TRIM_DELAY_MS} later,
 * glibc's `malloc_trim(0)`; each costs a few milliseconds, once in a while.
 */

import { Libc, openLibc } from "./libc.ts";

/** Released bytes that call for giving memory back. */
export const RELEASED_BYTES_MIN = 4 << 20;
/** Stillness after a change that calls for it. */
export const SETTLED_MS = 20_000;
/** Least time between two. */
export const GIVE_BACK_GAP_MS = 10_000;
/** From the collection to the trim. */
export const TRIM_DELAY_MS = 1000;

/** When to give memory back, from the peer store's reserved bytes over time. */
export class GiveBackPolicy {
  #reserved = -1;
  #changedAt = 0;
  #highWater = 0;
  #givenAt = -Infinity;
  #givenReserved = -1;

  /** Whether to give memory back now; `reservedBytes` is the peer store's at `nowMs`. */
  due(nowMs: number, reservedBytes: number): boolean {
    if (reservedBytes !== this.#reserved) {
      if (this.#reserved < 0) this.#givenReserved = reservedBytes;
      this.#reserved = reservedBytes;
      this.#changedAt = nowMs;
      if (reservedBytes > this.#highWater) this.#highWater = reservedBytes;
    }
    if (nowMs - this.#givenAt < GIVE_BACK_GAP_MS) return false;
    const released = this.#highWater - reservedBytes >= RELEASED_BYTES_MIN;
    const settled = reservedBytes !== this.#givenReserved && nowMs - this.#changedAt >= SETTLED_MS;
    if (!released && !settled) return false;
    this.#givenAt = nowMs;
    this.#givenReserved = reservedBytes;
    this.#highWater = reservedBytes;
    return true;
  }
}

/** What this process can do to give memory back; null when it can do nothing. */
export function giveBackHere(): (() => void) | null {
  const gc = (globalThis as { gc?: () => void }).gc ?? null;
  let libc: Libc | null = null;
  try {
    libc = openLibc();
  } catch { /* no FFI: the collection alone */ }
  const trim = libc?.malloc_trim ?? null;
  if (gc === null && trim === null) return null;
  return () => {
    gc?.();
    if (trim === null) return;
    // V8 frees the collected typed arrays' memory on its own threads after the collection:
    // the trim a moment later finds it in the allocator's free lists. (Unreferenced: a stop
    // does not wait for it.)
    Deno.unrefTimer(setTimeout(() => trim(0n), TRIM_DELAY_MS));
  };
}
