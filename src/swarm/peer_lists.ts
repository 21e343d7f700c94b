/**
 * Peer lists: each torrent has two (list `2·slot` for IPv4, `2·slot + 1` for IPv6), each a block
 * of the {@link BlockStore} holding records sorted by address and port (binary search, memmove
 * insert), like opentracker's sorted vectors:
 *
 * | family | offset | size | field                                          |
 * | ------ | ------ | ---- | ---------------------------------------------- |
 * | v4     | 0      | 4    | IPv4 address (network order)                   |
 * | v4     | 4      | 2    | port (network order)                           |
 * | v4     | 6      | 1    | flags (PEER_FLAG)                              |
 * | v4     | 7      | 1    | age in minutes, relative to the list's base    |
 * | v6     | 0      | 16   | IPv6 address                                   |
 * | v6     | 16     | 2    | port                                           |
 * | v6     | 18     | 1    | flags                                          |
 * | v6     | 19     | 1    | age                                            |
 *
 * The first 6 or 18 bytes are the compact wire format, so selecting peers for a reply is a byte
 * copy straight into the caller's reply buffer. Blocks double when full and halve when less than
 * a quarter is used, as opentracker's vectors do.
 *
 * Pure and synchronous. Must not import anything outside swarm/, types.ts and util/.
 */

import { LIMITS, PEER_FLAG } from "../types.ts";
import { isV4Mapped } from "../util/ip.ts";
import { Prng } from "../util/random.ts";
import { BlockStore, classBytes, classFor } from "./block_store.ts";

/** Bytes of a stored peer record, by family (0: IPv4, 1: IPv6). */
export const RECORD_BYTES = [8, 20] as const;
/** Bytes of the compact wire form (address and port), by family. */
export const KEY_BYTES = [6, 18] as const;
const NO_BLOCK = 255;

/** The peer lists of every torrent, columns indexed by list id. */
export class PeerLists {
  readonly store: BlockStore = new BlockStore();
  #handle = new Uint32Array(0);
  #cls = new Uint8Array(0);
  #count = new Uint32Array(0);
  #seeds = new Uint32Array(0);
  /** The peer being looked up: its wire bytes, set by {@link setKey} or {@link setKeyFrom}. */
  readonly #key = new Uint8Array(18);

  /** Makes room for `lists` lists (two per torrent slot). */
  grow(lists: number): void {
    const copy = <T extends Uint8Array | Uint32Array>(old: T, make: (n: number) => T): T => {
      const next = make(lists);
      next.set(old as unknown as ArrayLike<number>);
      return next;
    };
    this.#handle = copy(this.#handle, (n) => new Uint32Array(n));
    this.#cls = copy(this.#cls, (n) => new Uint8Array(n));
    this.#count = copy(this.#count, (n) => new Uint32Array(n));
    this.#seeds = copy(this.#seeds, (n) => new Uint32Array(n));
  }

  /** Empties list `li` for a new torrent (its slot may be reused). */
  reset(li: number): void {
    this.#cls[li] = NO_BLOCK;
    this.#count[li] = 0;
    this.#seeds[li] = 0;
  }

  /** Frees the block of list `li` and empties it. */
  free(li: number): void {
    if (this.#cls[li] !== NO_BLOCK) this.store.free(this.#handle[li], this.#cls[li]);
    this.reset(li);
  }

  /** Peers in list `li`. */
  count(li: number): number {
    return this.#count[li];
  }

  /** Seeders in list `li`. */
  seeds(li: number): number {
    return this.#seeds[li];
  }

  /** Adds `d` to the seeders of list `li`. */
  addSeeds(li: number, d: number): void {
    this.#seeds[li] += d;
  }

  /** Sets the peer to look up from a 16-byte address and a port; returns its family. */
  setKey(ip: Uint8Array, port: number): number {
    const k = this.#key;
    if (isV4Mapped(ip, 0)) {
      k[0] = ip[12];
      k[1] = ip[13];
      k[2] = ip[14];
      k[3] = ip[15];
      k[4] = port >> 8;
      k[5] = port & 0xff;
      return 0;
    }
    k.set(ip, 0);
    k[16] = port >> 8;
    k[17] = port & 0xff;
    return 1;
  }

  /** Sets the peer to look up from a stored record of family `f` at `data[p..]`. */
  setKeyFrom(data: Uint8Array, p: number, f: number): void {
    this.#key.set(data.subarray(p, p + KEY_BYTES[f]));
  }

  /** Binary search of the key in list `li`: the index, or -(insertion point) - 1. */
  search(li: number): number {
    const n = this.#count[li];
    if (n === 0) return -1;
    const f = li & 1;
    const handle = this.#handle[li];
    const page = this.store.page(handle);
    const base = this.store.offset(handle);
    const rec = RECORD_BYTES[f];
    const keyLen = KEY_BYTES[f];
    const k = this.#key;
    let lo = 0;
    let hi = n - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const p = base + mid * rec;
      let cmp = 0;
      for (let i = 0; i < keyLen; i++) {
        cmp = page[p + i] - k[i];
        if (cmp !== 0) break;
      }
      if (cmp === 0) return mid;
      if (cmp < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return -lo - 1;
  }

  /** Offset in its page of record `at` of list `li`. */
  #at(li: number, at: number): number {
    return this.store.offset(this.#handle[li]) + at * RECORD_BYTES[li & 1];
  }

  /** The page that holds list `li` (valid until the list changes block). */
  pageOf(li: number): Uint8Array {
    return this.store.page(this.#handle[li]);
  }

  /** Offset in {@link pageOf} of record `at` of list `li`. */
  recordOffset(li: number, at: number): number {
    return this.store.offset(this.#handle[li]) + at * RECORD_BYTES[li & 1];
  }

  /** Flags of record `at` of list `li`. */
  flags(li: number, at: number): number {
    return this.store.page(this.#handle[li])[this.#at(li, at) + RECORD_BYTES[li & 1] - 2];
  }

  /** Moves list `li` into a block of class `cls` (grow or shrink). */
  #resize(li: number, cls: number): void {
    const store = this.store;
    const handle = store.alloc(cls);
    const oldCls = this.#cls[li];
    if (oldCls !== NO_BLOCK) {
      const old = this.#handle[li];
      const bytes = this.#count[li] * RECORD_BYTES[li & 1];
      const from = store.offset(old);
      store.page(handle).set(store.page(old).subarray(from, from + bytes), store.offset(handle));
      store.free(old, oldCls);
    }
    this.#handle[li] = handle;
    this.#cls[li] = cls;
  }

  /** Inserts the key with `flags` and `age` at index `at` of list `li`; false at the list limit. */
  insert(li: number, at: number, flags: number, age: number): boolean {
    const n = this.#count[li];
    const f = li & 1;
    const rec = RECORD_BYTES[f];
    if (n >= LIMITS.peersPerListMax) return false;
    if (this.#cls[li] === NO_BLOCK || (n + 1) * rec > classBytes(this.#cls[li])) {
      // Power-of-two blocks: growing to the next class doubles the capacity.
      this.#resize(li, classFor((n + 1) * rec));
    }
    const handle = this.#handle[li];
    const page = this.store.page(handle);
    const start = this.store.offset(handle);
    const p = start + at * rec;
    page.copyWithin(p + rec, p, start + n * rec);
    page.set(this.#key.subarray(0, KEY_BYTES[f]), p);
    page[p + rec - 2] = flags;
    page[p + rec - 1] = age;
    this.#count[li] = n + 1;
    return true;
  }

  /** Removes record `at` of list `li` (seeders adjusted), shrinking the block when sparse. */
  removeAt(li: number, at: number): void {
    if (this.flags(li, at) & PEER_FLAG.seeding) this.#seeds[li]--;
    const n = this.#count[li];
    const rec = RECORD_BYTES[li & 1];
    const handle = this.#handle[li];
    const page = this.store.page(handle);
    const start = this.store.offset(handle);
    page.copyWithin(start + at * rec, start + (at + 1) * rec, start + n * rec);
    this.#count[li] = n - 1;
    this.#shrink(li);
  }

  #shrink(li: number): void {
    const n = this.#count[li];
    const cls = this.#cls[li];
    if (cls === NO_BLOCK) return;
    if (n === 0) {
      this.store.free(this.#handle[li], cls);
      this.#cls[li] = NO_BLOCK;
      return;
    }
    // As opentracker: halve when less than a quarter is used.
    const rec = RECORD_BYTES[li & 1];
    if (cls > 0 && n * rec * 4 < classBytes(cls)) this.#resize(li, classFor(n * rec * 2));
  }

  /**
   * Ages every peer of list `li` by `minutes` and drops those reaching `timeoutMinutes`
   * (seeders adjusted). Returns the peers dropped; {@link seedsDropped} holds the seeders among
   * them.
   */
  expire(li: number, minutes: number, timeoutMinutes: number): number {
    this.seedsDropped = 0;
    const n = this.#count[li];
    if (n === 0) return 0;
    const rec = RECORD_BYTES[li & 1];
    const handle = this.#handle[li];
    const page = this.store.page(handle);
    const start = this.store.offset(handle);
    let kept = 0;
    let seedsDropped = 0;
    for (let i = 0; i < n; i++) {
      const p = start + i * rec;
      const age = page[p + rec - 1] + minutes;
      if (age >= timeoutMinutes) {
        if (page[p + rec - 2] & PEER_FLAG.seeding) seedsDropped++;
        continue;
      }
      const q = start + kept * rec;
      if (q !== p) page.copyWithin(q, p, p + rec);
      page[q + rec - 1] = age;
      kept++;
    }
    if (kept === n) return 0;
    this.#count[li] = kept;
    this.#seeds[li] -= seedsDropped;
    this.seedsDropped = seedsDropped;
    this.#shrink(li);
    return n - kept;
  }

  /** Seeders among the peers the last {@link expire} dropped. */
  seedsDropped = 0;

  /** Moves list `li` out of a page being evacuated, into a block that just fits it. */
  relocateIfEvacuating(li: number): void {
    if (this.#cls[li] !== NO_BLOCK && this.store.isEvacuating(this.#handle[li])) {
      this.#resize(li, classFor(this.#count[li] * RECORD_BYTES[li & 1]));
    }
  }

  /**
   * Writes `amount` distinct peers of list `li` in wire format at `dst[off..]`: leechers from
   * the front, seeders from the back. With fewer peers than `amount`, all of them; otherwise one
   * random peer from each of `amount` equal windows of a randomly rotated list, so every peer is
   * equally likely and none repeats. Returns the offset after the last peer.
   */
  select(li: number, amount: number, dst: Uint8Array, off: number, prng: Prng): number {
    const n = this.#count[li];
    if (amount > n) amount = n;
    if (amount <= 0) return off;
    const f = li & 1;
    const rec = RECORD_BYTES[f];
    const keyLen = KEY_BYTES[f];
    const handle = this.#handle[li];
    const page = this.store.page(handle);
    const start = this.store.offset(handle);
    let front = off;
    let back = off + amount * keyLen;
    const all = amount === n;
    const rotate = all ? 0 : prng.below(n);
    // Window i is [floor(i·n/amount), floor((i+1)·n/amount)): `width` is n/amount rounded down,
    // one more whenever the remainders carry (no division per peer).
    const base = Math.floor(n / amount);
    const rest = n - base * amount;
    let lo = 0;
    let carry = 0;
    for (let i = 0; i < amount; i++) {
      let idx = i;
      if (!all) {
        let width = base;
        carry += rest;
        if (carry >= amount) {
          carry -= amount;
          width++;
        }
        idx = lo + prng.below(width) + rotate;
        lo += width;
        if (idx >= n) idx -= n;
      }
      const p = start + idx * rec;
      let q: number;
      if (page[p + rec - 2] & PEER_FLAG.seeding) {
        back -= keyLen;
        q = back;
      } else {
        q = front;
        front += keyLen;
      }
      for (let b = 0; b < keyLen; b++) dst[q + b] = page[p + b];
    }
    return off + amount * keyLen;
  }

  /** Copies records `[from, from + n)` of list `li` to `out[off..]`; returns the end offset. */
  copyRecords(li: number, from: number, n: number, out: Uint8Array, off: number): number {
    if (n === 0) return off;
    const bytes = n * RECORD_BYTES[li & 1];
    const start = this.#at(li, from);
    out.set(this.store.page(this.#handle[li]).subarray(start, start + bytes), off);
    return off + bytes;
  }

  /**
   * Fills the empty list `li` with the `n` sorted records at `data[p..]`. Returns the seeders
   * among them.
   */
  load(li: number, data: Uint8Array, p: number, n: number): number {
    const rec = RECORD_BYTES[li & 1];
    this.#resize(li, classFor(n * rec));
    const handle = this.#handle[li];
    const page = this.store.page(handle);
    const start = this.store.offset(handle);
    page.set(data.subarray(p, p + n * rec), start);
    let seeds = 0;
    for (let k = 0; k < n; k++) if (page[start + k * rec + rec - 2] & PEER_FLAG.seeding) seeds++;
    this.#count[li] = n;
    this.#seeds[li] = seeds;
    return seeds;
  }

  /**
   * Adds the `n` records at `data[p..]` to list `li`, skipping those it holds. Returns the peers
   * added; {@link seedsAdded} holds the seeders among them.
   */
  merge(li: number, data: Uint8Array, p: number, n: number): number {
    const f = li & 1;
    const rec = RECORD_BYTES[f];
    let added = 0;
    this.seedsAdded = 0;
    for (let k = 0; k < n; k++) {
      const r = p + k * rec;
      this.setKeyFrom(data, r, f);
      const at = this.search(li);
      if (at >= 0 || !this.insert(li, -at - 1, data[r + rec - 2], data[r + rec - 1])) continue;
      added++;
      if (data[r + rec - 2] & PEER_FLAG.seeding) {
        this.#seeds[li]++;
        this.seedsAdded++;
      }
    }
    return added;
  }

  /** Seeders among the peers the last merge added. */
  seedsAdded = 0;

  /** Calls `fn` with the address (big-endian u32) of every peer of the IPv4 list `li`. */
  forEachIpv4(li: number, fn: (ip: number) => void): void {
    const n = this.#count[li];
    if (n === 0) return;
    const handle = this.#handle[li];
    const page = this.store.page(handle);
    const start = this.store.offset(handle);
    for (let k = 0; k < n; k++) {
      const p = start + k * 8;
      fn(((page[p] << 24) | (page[p + 1] << 16) | (page[p + 2] << 8) | page[p + 3]) >>> 0);
    }
  }
}

/**
 * How `amount` peers of a reply are split between the families when both go back (HTTP): up
 * to a quarter from each, the rest in proportion to the lists' sizes (opentracker's rule).
 * Writes the IPv4 share to `split[0]` and the IPv6 share to `split[1]`.
 */
export function splitAmount(c4: number, c6: number, amount: number, split: Int32Array): void {
  let v4 = c4;
  let v6 = c6;
  if (c4 + c6 > amount) {
    const quarter = Math.floor(amount / 4);
    v4 = quarter <= c4 ? quarter : c4;
    v6 = quarter <= c6 ? quarter : c6;
    const left = amount - (v4 + v6);
    const l4 = c4 - v4;
    const l6 = c6 - v6;
    let p4 = 0;
    let p6 = 0;
    if (l4 + l6 > 0) {
      p4 = Math.floor((1024 * l4) / (l4 + l6));
      p6 = Math.floor((1024 * l6) / (l4 + l6));
    }
    v4 += Math.floor((left * p4) / 1024);
    v6 += Math.floor((left * p6) / 1024);
    if (v4 + v6 < amount && v6 < c6) v6++;
    if (v4 + v6 < amount && v4 < c4) v4++;
  }
  split[0] = v4;
  split[1] = v6;
}
