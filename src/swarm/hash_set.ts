/**
 * A set of 20-byte info_hashes with constant-time lookup: keys packed in one Uint8Array and an
 * open-addressing Int32Array index (linear probing, backward-shift deletion), hashed with a
 * keyed mix of all 20 bytes so that chosen hashes cannot pile into one probe chain.
 * About 28 bytes per key plus growth slack, no object per key: a 1,000,000-hash whitelist costs
 * tens of megabytes, not hundreds.
 *
 * Pure and synchronous.
 */

import { hash20 } from "./hash20.ts";

/** A growable set of 20-byte keys. */
export class HashSet20 {
  #keys: Uint8Array;
  #codes: Uint32Array;
  #table: Int32Array;
  #mask: number;
  #count = 0;
  readonly #seed: Uint32Array;

  /** `seed`: four 32-bit words from a CSPRNG. `expected`: keys to size for up front. */
  constructor(seed: Uint32Array, expected = 16) {
    this.#seed = seed;
    const cap = Math.max(16, expected);
    this.#keys = new Uint8Array(cap * 20);
    this.#codes = new Uint32Array(cap);
    let size = 32;
    while (size < cap * 2) size *= 2;
    this.#table = new Int32Array(size);
    this.#mask = size - 1;
  }

  /** Number of keys. */
  get size(): number {
    return this.#count;
  }

  /** Bytes held by the set's arrays. */
  get bytes(): number {
    return this.#keys.byteLength + this.#codes.byteLength + this.#table.byteLength;
  }

  #hash(h: Uint8Array, o: number): number {
    return hash20(this.#seed, h, o);
  }

  #same(slot: number, h: Uint8Array, o: number): boolean {
    const k = this.#keys;
    const b = slot * 20;
    for (let i = 0; i < 20; i++) if (k[b + i] !== h[o + i]) return false;
    return true;
  }

  /** Index position of key `h[o..o+20)` (code `code`), or -1. */
  #find(h: Uint8Array, o: number, code: number): number {
    const t = this.#table;
    for (let i = code & this.#mask;; i = (i + 1) & this.#mask) {
      const e = t[i];
      if (e === 0) return -1;
      if (this.#codes[e - 1] === code && this.#same(e - 1, h, o)) return i;
    }
  }

  /** True when the set holds `h[o..o+20)`. */
  has(h: Uint8Array, o = 0): boolean {
    return this.#find(h, o, this.#hash(h, o)) >= 0;
  }

  /** Adds `h[o..o+20)`; returns false when it was present already. */
  add(h: Uint8Array, o = 0): boolean {
    const code = this.#hash(h, o);
    if (this.#find(h, o, code) >= 0) return false;
    if (this.#count === this.#codes.length) this.#growKeys();
    if ((this.#count + 1) * 2 > this.#table.length) this.#rehash(this.#table.length * 2);
    const slot = this.#count++;
    this.#keys.set(h.subarray(o, o + 20), slot * 20);
    this.#codes[slot] = code;
    this.#place(slot);
    return true;
  }

  /** Removes `h[o..o+20)`; returns false when it was absent. */
  delete(h: Uint8Array, o = 0): boolean {
    const code = this.#hash(h, o);
    const at = this.#find(h, o, code);
    if (at < 0) return false;
    const slot = this.#table[at] - 1;
    this.#unplace(at);
    // Keep keys dense: move the last key into the freed slot.
    const last = this.#count - 1;
    if (slot !== last) {
      const lastAt = this.#find(this.#keys, last * 20, this.#codes[last]);
      this.#keys.copyWithin(slot * 20, last * 20, last * 20 + 20);
      this.#codes[slot] = this.#codes[last];
      this.#table[lastAt] = slot + 1;
    }
    this.#count = last;
    return true;
  }

  /** Removes every key. */
  clear(): void {
    this.#table.fill(0);
    this.#count = 0;
  }

  #place(slot: number): void {
    const t = this.#table;
    let i = this.#codes[slot] & this.#mask;
    while (t[i] !== 0) i = (i + 1) & this.#mask;
    t[i] = slot + 1;
  }

  #unplace(at: number): void {
    const t = this.#table;
    const mask = this.#mask;
    let i = at;
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
  }

  #growKeys(): void {
    const keys = new Uint8Array(this.#keys.length * 2);
    keys.set(this.#keys);
    this.#keys = keys;
    const codes = new Uint32Array(this.#codes.length * 2);
    codes.set(this.#codes);
    this.#codes = codes;
  }

  #rehash(size: number): void {
    this.#table = new Int32Array(size);
    this.#mask = size - 1;
    for (let slot = 0; slot < this.#count; slot++) this.#place(slot);
  }
}
