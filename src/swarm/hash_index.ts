/**
 * The one keyed index of 20-byte info_hashes, shared by the torrent table and the access-list
 * set: keys live in dense, stable slots (a freed slot is reused, never moved), found through an
 * open-addressing `Int32Array` (linear probing, backward-shift deletion, at most half full).
 * The hash mixes all 20 bytes with secret per-process words (hash20.ts), so that nobody can
 * choose info_hashes that pile into one probe chain. About 33 bytes per key and no object per
 * key: a million info_hashes cost tens of megabytes, not hundreds.
 *
 * Owners that keep columns per slot (the torrent table) pass `onGrow`, called with the new slot
 * capacity before a slot past the old one is handed out.
 *
 * Pure and synchronous. Must not import anything outside swarm/, types.ts and util/.
 */

import { LIMITS } from "../types.ts";
import { assert } from "../util/assert.ts";
import { hash20 } from "./hash20.ts";

/** Slots of 20-byte keys with a keyed open-addressing index. */
export class HashIndex20 {
  #keys: Uint8Array;
  #codes: Uint32Array;
  #used: Uint8Array;
  #table: Int32Array;
  #mask: number;
  #free: number[] = [];
  #next = 0;
  #size = 0;
  readonly #seed: Uint32Array;
  readonly #onGrow: ((capacity: number) => void) | null;

  /**
   * `seed`: four 32-bit words from a CSPRNG. `expected`: keys to size for up front. `onGrow`:
   * called with the new capacity when the slot columns grow.
   */
  constructor(
    seed: Uint32Array,
    expected = 16,
    onGrow: ((capacity: number) => void) | null = null,
  ) {
    this.#seed = seed;
    this.#onGrow = onGrow;
    const cap = Math.max(16, expected);
    this.#keys = new Uint8Array(cap * 20);
    this.#codes = new Uint32Array(cap);
    this.#used = new Uint8Array(cap);
    let size = 32;
    while (size < cap * 2) size *= 2;
    this.#table = new Int32Array(size);
    this.#mask = size - 1;
  }

  /** Keys held. */
  get size(): number {
    return this.#size;
  }

  /** Slots allocated (the length of per-slot columns). */
  get capacity(): number {
    return this.#codes.length;
  }

  /** One past the highest slot ever handed out: the range a full scan visits. */
  get slotCount(): number {
    return this.#next;
  }

  /** The key bytes of every slot (`slot * 20`); replaced when the index grows. */
  get keys(): Uint8Array {
    return this.#keys;
  }

  /** Bytes held by the index's arrays. */
  get bytes(): number {
    return this.#keys.byteLength + this.#codes.byteLength + this.#used.byteLength +
      this.#table.byteLength;
  }

  /** True when `slot` holds a key. */
  used(slot: number): boolean {
    return slot < this.#next && this.#used[slot] === 1;
  }

  #same(slot: number, h: Uint8Array, o: number): boolean {
    const k = this.#keys;
    const b = slot * 20;
    for (let i = 0; i < 20; i++) if (k[b + i] !== h[o + i]) return false;
    return true;
  }

  /** Slot of the key `h[o..o+20)`, or -1. */
  find(h: Uint8Array, o = 0): number {
    const code = hash20(this.#seed, h, o);
    const t = this.#table;
    for (let i = code & this.#mask;; i = (i + 1) & this.#mask) {
      const e = t[i];
      if (e === 0) return -1;
      if (this.#codes[e - 1] === code && this.#same(e - 1, h, o)) return e - 1;
    }
  }

  /** Inserts `h[o..o+20)`, which must be absent; returns its slot. */
  insert(h: Uint8Array, o = 0): number {
    if ((this.#size + 1) * 2 > this.#table.length) this.#rehash(this.#table.length * 2);
    let slot = this.#free.pop();
    if (slot === undefined) {
      if (this.#next === this.#codes.length) this.#grow(this.#codes.length * 2);
      slot = this.#next++;
    }
    this.#keys.set(h.subarray(o, o + 20), slot * 20);
    const code = hash20(this.#seed, h, o);
    this.#codes[slot] = code;
    this.#used[slot] = 1;
    const t = this.#table;
    let i = code & this.#mask;
    while (t[i] !== 0) i = (i + 1) & this.#mask;
    t[i] = slot + 1;
    this.#size++;
    return slot;
  }

  /** Removes the key of `slot`; the slot is reused by a later insert. */
  remove(slot: number): void {
    // Backward-shift deletion keeps linear probing correct without tombstones.
    const t = this.#table;
    const mask = this.#mask;
    let i = this.#codes[slot] & mask;
    while (t[i] !== slot + 1) i = (i + 1) & mask;
    let j = i;
    while (true) {
      j = (j + 1) & mask;
      const e = t[j];
      if (e === 0) break;
      const home = this.#codes[e - 1] & mask;
      const between = i <= j ? (i < home && home <= j) : (i < home || home <= j);
      if (between) continue;
      t[i] = e;
      i = j;
    }
    t[i] = 0;
    this.#used[slot] = 0;
    this.#free.push(slot);
    this.#size--;
  }

  /** Removes every key (the capacity stays). */
  clear(): void {
    this.#table.fill(0);
    this.#used.fill(0);
    this.#free = [];
    this.#next = 0;
    this.#size = 0;
  }

  #grow(capacity: number): void {
    assert(capacity <= LIMITS.torrentsMax, `index capacity ${capacity} exceeds the limit`);
    const keys = new Uint8Array(capacity * 20);
    keys.set(this.#keys);
    this.#keys = keys;
    const codes = new Uint32Array(capacity);
    codes.set(this.#codes);
    this.#codes = codes;
    const used = new Uint8Array(capacity);
    used.set(this.#used);
    this.#used = used;
    this.#onGrow?.(capacity);
  }

  #rehash(size: number): void {
    const t = new Int32Array(size);
    const mask = size - 1;
    for (let slot = 0; slot < this.#next; slot++) {
      if (this.#used[slot] === 0) continue;
      let i = this.#codes[slot] & mask;
      while (t[i] !== 0) i = (i + 1) & mask;
      t[i] = slot + 1;
    }
    this.#table = t;
    this.#mask = mask;
  }
}
