/**
 * Counts per key kept in one `SharedArrayBuffer` that every worker reads and changes at once:
 * the open HTTP connections of each address, whose cap (`listen.tcp.address_connections_max`) is
 * the tracker's and not each worker's (the kernel spreads one address's connections over every
 * worker's listener).
 *
 * Layout (Int32 words): a header (the 128-bit hash key, then the claim lock), then slots of
 * three words: the key's 64-bit keyed hash (two words; 0,0 = never used) and its count (-1 while
 * a worker rewrites the slot for another key). A key lives within {@link WINDOW_SLOTS} slots of
 * its home slot, so that every lookup reads at most that many slots; the table is sized to keep
 * at most a quarter of its slots live, and a key that finds no room in its window is refused
 * (counted by the caller) rather than searched for across the table.
 *
 * Concurrency: adding to and taking from a key that has a slot are lock-free (compare-exchange
 * on its count, which a slot in use never leaves while its count is above zero). Giving a key a
 * slot takes the claim lock, looks for the key again and then takes the first free slot of its
 * window (never used, or at zero), so that a key never holds two slots. The lock is held for a
 * few dozen reads, only on a key's first acquisition.
 *
 * Must not import Deno APIs.
 */

import { sipHash24, SipKey, sipOut } from "./siphash.ts";

/** Slots a key may be placed in from its home slot (and the most a lookup reads). */
export const WINDOW_SLOTS = 32;

const HEADER_WORDS = 8;
const LOCK = 4;
const SLOT_WORDS = 3;

/** Bytes of a table for at most `keys` keys with a count above zero at once. */
export function sharedCountsBytes(keys: number): number {
  return (HEADER_WORDS + slotsFor(keys) * SLOT_WORDS) * 4;
}

function slotsFor(keys: number): number {
  let slots = 64;
  while (slots < keys * 4) slots *= 2;
  return slots;
}

/** Makes a table for at most `keys` live keys, keyed with 16 random bytes. */
export function createSharedCounts(keys: number, hashKey: Uint8Array): SharedArrayBuffer {
  const buffer = new SharedArrayBuffer(sharedCountsBytes(keys));
  new Uint8Array(buffer, 0, 16).set(hashKey);
  return buffer;
}

/** One worker's view of a table made by {@link createSharedCounts}. */
export class SharedCounts {
  readonly #a: Int32Array;
  readonly #mask: number;
  readonly #key: SipKey;
  readonly #scratch = new Uint8Array(64);
  #hi = 0;
  #lo = 0;

  constructor(buffer: SharedArrayBuffer) {
    this.#a = new Int32Array(buffer);
    const slots = (this.#a.length - HEADER_WORDS) / SLOT_WORDS;
    if (slots < 1 || (slots & (slots - 1)) !== 0) throw new RangeError("not a shared count table");
    this.#mask = slots - 1;
    this.#key = new SipKey(new Uint8Array(buffer, 0, 16).slice());
  }

  /**
   * Adds one to `key` unless it holds `max` already. Returns "ok", "max", or "full" when the key
   * has no slot and its window has no room.
   */
  acquire(key: string, max: number): "ok" | "max" | "full" {
    this.#hash(key);
    const found = this.#increment(max);
    if (found !== "absent") return found;
    const a = this.#a;
    // First acquisition: claim a slot under the lock (another worker may claim it meanwhile).
    while (Atomics.compareExchange(a, LOCK, 0, 1) !== 0);
    try {
      const again = this.#increment(max);
      if (again !== "absent") return again;
      return this.#claim();
    } finally {
      Atomics.store(a, LOCK, 0);
    }
  }

  /** Takes one from `key`, which {@link acquire} gave "ok" for; false when it holds none. */
  release(key: string): boolean {
    this.#hash(key);
    const a = this.#a;
    for (let i = 0, s = this.#hi & this.#mask; i < WINDOW_SLOTS; i++, s = (s + 1) & this.#mask) {
      const w = HEADER_WORDS + s * SLOT_WORDS;
      // A slot with a count above zero keeps its key: this one cannot change under us.
      if (Atomics.load(a, w) === this.#hi && Atomics.load(a, w + 1) === this.#lo) {
        if (Atomics.load(a, w + 2) > 0) {
          Atomics.sub(a, w + 2, 1);
          return true;
        }
      }
    }
    return false;
  }

  /** The count of `key` now (0 when it has no slot). */
  count(key: string): number {
    this.#hash(key);
    const s = this.#find();
    return s < 0 ? 0 : Math.max(0, Atomics.load(this.#a, s + 2));
  }

  #hash(key: string): void {
    const b = key.length <= this.#scratch.length ? this.#scratch : new Uint8Array(key.length);
    for (let i = 0; i < key.length; i++) b[i] = key.charCodeAt(i);
    sipHash24(this.#key, b, 0, key.length);
    this.#hi = sipOut.hi | 0;
    // 0,0 marks a slot never used.
    this.#lo = (sipOut.lo | 0) === 0 && this.#hi === 0 ? 1 : sipOut.lo | 0;
  }

  /** The word index of the key's slot, or -1. */
  #find(): number {
    const a = this.#a;
    for (let i = 0, s = this.#hi & this.#mask; i < WINDOW_SLOTS; i++, s = (s + 1) & this.#mask) {
      const w = HEADER_WORDS + s * SLOT_WORDS;
      const hi = Atomics.load(a, w), lo = Atomics.load(a, w + 1);
      if (hi === this.#hi && lo === this.#lo) return w;
      // Keys are placed in the first free slot of the window and a slot once used is never
      // unused again: the key is not past a slot never used.
      if (hi === 0 && lo === 0 && Atomics.load(a, w + 2) === 0) return -1;
    }
    return -1;
  }

  #increment(max: number): "ok" | "max" | "absent" {
    const a = this.#a;
    for (;;) {
      const w = this.#find();
      if (w < 0) return "absent";
      const c = Atomics.load(a, w + 2);
      // Being rewritten for another key, or at zero and about to be: not this key's any more.
      if (c < 0) return "absent";
      if (c >= max) return "max";
      if (Atomics.compareExchange(a, w + 2, c, c + 1) !== c) continue;
      // The slot may have been given to another key between reading its key and the count.
      if (Atomics.load(a, w) === this.#hi && Atomics.load(a, w + 1) === this.#lo) return "ok";
      Atomics.sub(a, w + 2, 1);
    }
  }

  /** Under the claim lock: the first free slot of the window becomes the key's, at one. */
  #claim(): "ok" | "full" {
    const a = this.#a;
    for (let i = 0, s = this.#hi & this.#mask; i < WINDOW_SLOTS; i++, s = (s + 1) & this.#mask) {
      const w = HEADER_WORDS + s * SLOT_WORDS;
      // A slot at zero is free; -1 keeps incrementers off it while its key changes.
      if (Atomics.compareExchange(a, w + 2, 0, -1) !== 0) continue;
      Atomics.store(a, w, this.#hi);
      Atomics.store(a, w + 1, this.#lo);
      Atomics.store(a, w + 2, 1);
      return "ok";
    }
    return "full";
  }
}
