/**
 * The swarm core: every torrent and its peers, announce, stop, scrape and cleaning (§2).
 *
 * Synchronous and free of I/O: time comes in as `nowMinutes`, randomness from an injected PRNG.
 * Functions never await, which is the whole concurrency model: one announce runs to completion
 * before the next starts, so there are no locks and the counters are exact.
 *
 * Layout. Torrents live in slots (dense indices) with typed-array columns; a keyed
 * open-addressing table maps info_hash → slot. Each slot has two peer lists (v4, v6), each a block
 * of the {@link BlockStore} holding records sorted by ip+port (binary search, memmove insert),
 * exactly like opentracker's sorted vectors:
 *
 * | family | offset | size | field                                   |
 * | ------ | ------ | ---- | --------------------------------------- |
 * | v4     | 0      | 4    | IPv4 address (network order)            |
 * | v4     | 4      | 2    | port (network order)                    |
 * | v4     | 6      | 1    | flags (PEER_FLAG)                       |
 * | v4     | 7      | 1    | age in minutes, relative to the list's base |
 * | v6     | 0      | 16   | IPv6 address                            |
 * | v6     | 16     | 2    | port                                    |
 * | v6     | 18     | 1    | flags                                   |
 * | v6     | 19     | 1    | age                                     |
 *
 * The first 6 or 18 bytes are the compact wire format, so a reply copies them unchanged.
 *
 * Must not import protocol/ or server/, nor use Deno APIs, Date or Math.random.
 */

import { AnnounceRequest, DEFAULTS, LIMITS, PEER_FLAG, requestFlags } from "../types.ts";
import { assert } from "../util/assert.ts";
import { isV4Mapped } from "../util/ip.ts";
import { Prng } from "../util/random.ts";
import { BlockStore, classBytes, classFor } from "./block_store.ts";
import { hash20 } from "./hash20.ts";

const NO_BLOCK = 255;
const REC = [8, 20];
const KEY = [6, 18];

/** Bytes of a state record's header (see {@link Swarm.exportRecord}). */
export const STATE_RECORD_HEAD_BYTES = 40;

/** Bytes of a state record with `n4` IPv4 and `n6` IPv6 peers: the one length formula. */
export function stateRecordBytes(n4: number, n6: number): number {
  return STATE_RECORD_HEAD_BYTES + REC[0] * n4 + REC[1] * n6;
}

/** How an announce's reply selects peers (§2.7). */
export const REPLY = {
  /** Both families, proportionally (HTTP). */
  bothFamilies: 0,
  /** The requester's family only (UDP). */
  ownFamily: 1,
  /** No reply at all (live sync records). */
  none: 2,
} as const;

/**
 * Output of {@link Swarm.announce} and {@link Swarm.stop}: counts, selected peers in compact wire
 * format, and the facts the server records in statistics. Preallocated and reused.
 */
export class AnnounceResult {
  /** Seeders over both families. */
  seeders = 0;
  /** Leechers over both families. */
  leechers = 0;
  /** Completed downloads over both families. */
  downloaded = 0;
  /** Selected IPv4 peers, 6 bytes each. */
  readonly peers4: Uint8Array = new Uint8Array(6 * LIMITS.numwantCeiling);
  n4 = 0;
  /** Selected IPv6 peers, 18 bytes each. */
  readonly peers6: Uint8Array = new Uint8Array(18 * LIMITS.numwantCeiling);
  n6 = 0;
  /** The announce stored a new peer. */
  isNewPeer = false;
  /** Age in minutes of the renewed peer, or -1 when none was renewed. */
  renewedAgeMinutes = -1;
  /** The announce counted a completed download. */
  completed = false;
  /** Peers in the requester's family list after the announce (the fork's popularity rule). */
  familyPeers = 0;
  /** A stop found and removed the peer. */
  removed = false;
  /** A new peer was refused by the peer budget or the per-torrent cap (nothing stored). */
  refused = false;
  /** The new peer was admitted on probation: a short first lifetime, so a short interval. */
  probation = false;
}

/** Counts of one torrent, for scrapes. */
export class ScrapeCounts {
  seeders = 0;
  leechers = 0;
  downloaded = 0;
}

/** Options for {@link Swarm}. */
export interface SwarmOptions {
  /** PRNG for peer sampling. */
  prng: Prng;
  /** Four 32-bit words keying the torrent table's hash, from a CSPRNG (hash-flooding defence). */
  hashSeed: Uint32Array;
  /** Minutes after the last announce before a peer is dropped. Default 45, at most 255. */
  peerTimeoutMinutes?: number;
  /** Minutes of inactivity before an empty torrent with downloads is dropped. Default 1440. */
  torrentTimeoutMinutes?: number;
  /** Initial torrent capacity (grows by doubling). Default 1024. */
  initialTorrents?: number;
  /** Most peers held in all; new peers beyond it are refused. Default: no limit. */
  peerBudget?: number;
  /** Most peers of one torrent (both families); new ones beyond it are refused. Default: none. */
  torrentPeersMax?: number;
  /**
   * Fraction of the budget above which new peers are admitted with a probability that falls
   * with the load and with the size of their swarm (small swarms first). Default 0.7.
   */
  budgetWatermark?: number;
  /**
   * Most torrents held. At the budget a new torrent evicts the torrent that has been empty the
   * longest (kept only for its download count); with no empty torrent it is refused. Default:
   * no limit.
   */
  torrentBudget?: number;
  /**
   * First lifetime in minutes of a peer admitted above the watermark of either budget (0 =
   * off): a peer that never renews (a flood) frees its room this soon instead of after the
   * peer timeout. Default 0.
   */
  probationMinutes?: number;
}

/** Swarms smaller than this are admitted up to the hard budget (erdgeist's minimum allowance). */
const SMALL_SWARM_PEERS = 10;

const EMPTY_NONE = -1;
const NOT_EMPTY = -2;

/** All torrents and peers of one tracker process. */
export class Swarm {
  readonly #store = new BlockStore();
  readonly #prng: Prng;
  readonly #peerTimeout: number;
  readonly #torrentTimeout: number;
  readonly #seed: Uint32Array;

  // Slot columns; family columns are indexed 2·slot + family.
  #capacity = 0;
  #hashes = new Uint8Array(0);
  #hashCodes = new Uint32Array(0);
  #used = new Uint8Array(0);
  #handle = new Uint32Array(0);
  #cls = new Uint8Array(0);
  #count = new Uint32Array(0);
  #seeds = new Uint32Array(0);
  #down = new Uint32Array(0);
  #base = new Uint32Array(0);
  #freeSlots: number[] = [];
  #nextSlot = 0;

  // Open-addressing index: slot + 1, 0 = empty.
  #table = new Int32Array(0);
  #mask = 0;

  #key = new Uint8Array(18);
  #cleanCursor = 0;

  readonly #budget: number;
  readonly #torrentMax: number;
  readonly #watermark: number;
  readonly #torrentBudget: number;
  readonly #torrentWatermark: number;
  /** Age a probation peer starts with: it times out after the probation lifetime. */
  readonly #probationAge: number;
  /** New peers refused by the budget or the per-torrent cap (renewals are never refused). */
  refusedPeers = 0;
  /** New torrents refused at the torrent budget (no empty torrent to evict). */
  refusedTorrents = 0;
  /** Empty torrents evicted to make room at the torrent budget. */
  evictedTorrents = 0;
  /** New peers admitted on probation. */
  probationPeers = 0;

  // Empty torrents (no peers) in the order they became empty: the eviction order at the torrent
  // budget. EMPTY_NONE ends the list; NOT_EMPTY marks a torrent that is not in it.
  #emptyPrev = new Int32Array(0);
  #emptyNext = new Int32Array(0);
  #emptyHead = EMPTY_NONE;
  #emptyTail = EMPTY_NONE;
  /** Torrents without peers (kept for their downloads, or not cleaned yet). */
  emptyTorrents = 0;

  /** Torrents held. */
  torrentCount = 0;
  /** Peers held, both families, seeders included. */
  peerCount = 0;
  /** Seeders held, both families. */
  seedCount = 0;

  constructor(options: SwarmOptions) {
    this.#prng = options.prng;
    this.#peerTimeout = options.peerTimeoutMinutes ?? DEFAULTS.peerTimeoutMinutes;
    this.#torrentTimeout = options.torrentTimeoutMinutes ?? DEFAULTS.torrentTimeoutMinutes;
    assert(
      this.#peerTimeout >= 1 && this.#peerTimeout <= LIMITS.peerTimeoutMinutesMax,
      `peer timeout must be 1..255 minutes, got ${this.#peerTimeout}`,
    );
    this.#seed = options.hashSeed;
    this.#budget = options.peerBudget ?? Infinity;
    this.#torrentMax = options.torrentPeersMax ?? Infinity;
    const watermark = options.budgetWatermark ?? 0.7;
    this.#watermark = Math.floor(this.#budget * watermark);
    this.#torrentBudget = options.torrentBudget ?? Infinity;
    this.#torrentWatermark = Math.floor(this.#torrentBudget * watermark);
    const probation = options.probationMinutes ?? 0;
    this.#probationAge = probation > 0 && probation < this.#peerTimeout
      ? this.#peerTimeout - probation
      : 0;
    this.#grow(Math.max(16, options.initialTorrents ?? 1024));
    this.#rehash(64);
  }

  /** Bytes held by peer-list pages. */
  get peerStoreBytes(): number {
    return this.#store.bytesReserved;
  }

  /** Bytes of live peer-list blocks. */
  get peerStoreLiveBytes(): number {
    return this.#store.bytesLive;
  }

  // ---------------------------------------------------------------- torrent table

  #hashOf(h: Uint8Array, o: number): number {
    return hash20(this.#seed, h, o);
  }

  #sameHash(slot: number, h: Uint8Array, o: number): boolean {
    const hs = this.#hashes;
    const b = slot * 20;
    for (let i = 0; i < 20; i++) if (hs[b + i] !== h[o + i]) return false;
    return true;
  }

  /** Slot of the torrent `h[o..o+20)`, or -1. */
  find(h: Uint8Array, o = 0): number {
    const code = this.#hashOf(h, o);
    const t = this.#table;
    for (let i = code & this.#mask;; i = (i + 1) & this.#mask) {
      const e = t[i];
      if (e === 0) return -1;
      const slot = e - 1;
      if (this.#hashCodes[slot] === code && this.#sameHash(slot, h, o)) return slot;
    }
  }

  #create(h: Uint8Array, o: number, nowMinutes: number): number {
    if ((this.torrentCount + 1) * 2 > this.#table.length) this.#rehash(this.#table.length * 2);
    let slot = this.#freeSlots.pop();
    if (slot === undefined) {
      if (this.#nextSlot === this.#capacity) this.#grow(this.#capacity * 2);
      slot = this.#nextSlot++;
    }
    this.#hashes.set(h.subarray(o, o + 20), slot * 20);
    const code = this.#hashOf(h, o);
    this.#hashCodes[slot] = code;
    this.#used[slot] = 1;
    this.#emptyPrev[slot] = NOT_EMPTY;
    for (let f = 0; f < 2; f++) {
      const i = 2 * slot + f;
      this.#cls[i] = NO_BLOCK;
      this.#count[i] = 0;
      this.#seeds[i] = 0;
      this.#down[i] = 0;
      this.#base[i] = nowMinutes;
    }
    const t = this.#table;
    let i = code & this.#mask;
    while (t[i] !== 0) i = (i + 1) & this.#mask;
    t[i] = slot + 1;
    this.torrentCount++;
    this.#syncEmpty(slot);
    return slot;
  }

  /** Puts `slot` on the empty list when it has no peers, takes it off when it has. */
  #syncEmpty(slot: number): void {
    const empty = this.#count[2 * slot] + this.#count[2 * slot + 1] === 0;
    const listed = this.#emptyPrev[slot] !== NOT_EMPTY;
    if (empty === listed) return;
    if (empty) {
      this.#emptyPrev[slot] = this.#emptyTail;
      this.#emptyNext[slot] = EMPTY_NONE;
      if (this.#emptyTail === EMPTY_NONE) this.#emptyHead = slot;
      else this.#emptyNext[this.#emptyTail] = slot;
      this.#emptyTail = slot;
      this.emptyTorrents++;
    } else {
      this.#unlinkEmpty(slot);
    }
  }

  #unlinkEmpty(slot: number): void {
    const prev = this.#emptyPrev[slot];
    const next = this.#emptyNext[slot];
    if (prev === EMPTY_NONE) this.#emptyHead = next;
    else this.#emptyNext[prev] = next;
    if (next === EMPTY_NONE) this.#emptyTail = prev;
    else this.#emptyPrev[next] = prev;
    this.#emptyPrev[slot] = NOT_EMPTY;
    this.emptyTorrents--;
  }

  /**
   * Whether one more torrent may be created: below the torrent budget, or after evicting the
   * torrent that has been empty the longest. Counts a refusal.
   */
  #roomForTorrent(): boolean {
    if (this.torrentCount < this.#torrentBudget) return true;
    if (this.#emptyHead === EMPTY_NONE) {
      this.refusedTorrents++;
      return false;
    }
    this.#delete(this.#emptyHead);
    this.evictedTorrents++;
    return true;
  }

  #delete(slot: number): void {
    if (this.#emptyPrev[slot] !== NOT_EMPTY) this.#unlinkEmpty(slot);
    for (let f = 0; f < 2; f++) {
      const i = 2 * slot + f;
      this.peerCount -= this.#count[i];
      this.seedCount -= this.#seeds[i];
      if (this.#cls[i] !== NO_BLOCK) this.#store.free(this.#handle[i], this.#cls[i]);
      this.#cls[i] = NO_BLOCK;
      this.#count[i] = 0;
      this.#seeds[i] = 0;
    }
    // Backward-shift deletion keeps linear probing correct without tombstones.
    const t = this.#table;
    const mask = this.#mask;
    let i = this.#hashCodes[slot] & mask;
    while (t[i] !== slot + 1) i = (i + 1) & mask;
    let j = i;
    while (true) {
      j = (j + 1) & mask;
      const e = t[j];
      if (e === 0) break;
      const home = this.#hashCodes[e - 1] & mask;
      const between = i <= j ? (i < home && home <= j) : (i < home || home <= j);
      if (between) continue;
      t[i] = e;
      i = j;
    }
    t[i] = 0;
    this.#used[slot] = 0;
    this.#freeSlots.push(slot);
    this.torrentCount--;
  }

  #grow(capacity: number): void {
    assert(capacity <= LIMITS.torrentsMax, `torrent capacity ${capacity} exceeds the limit`);
    const copy = <T extends Uint8Array | Uint32Array | Int32Array>(old: T, size: number): T => {
      const next = new (old.constructor as { new (n: number): T })(size);
      next.set(old as unknown as ArrayLike<number>);
      return next;
    };
    this.#hashes = copy(this.#hashes, capacity * 20);
    this.#hashCodes = copy(this.#hashCodes, capacity);
    this.#used = copy(this.#used, capacity);
    this.#handle = copy(this.#handle, capacity * 2);
    this.#cls = copy(this.#cls, capacity * 2);
    this.#count = copy(this.#count, capacity * 2);
    this.#seeds = copy(this.#seeds, capacity * 2);
    this.#down = copy(this.#down, capacity * 2);
    this.#base = copy(this.#base, capacity * 2);
    this.#emptyPrev = copy(this.#emptyPrev, capacity);
    this.#emptyNext = copy(this.#emptyNext, capacity);
    this.#capacity = capacity;
  }

  #rehash(size: number): void {
    const t = new Int32Array(size);
    const mask = size - 1;
    for (let slot = 0; slot < this.#nextSlot; slot++) {
      if (this.#used[slot] === 0) continue;
      let i = this.#hashCodes[slot] & mask;
      while (t[i] !== 0) i = (i + 1) & mask;
      t[i] = slot + 1;
    }
    this.#table = t;
    this.#mask = mask;
  }

  // ---------------------------------------------------------------- peer lists

  /** Fills #key with the wire bytes (ip+port) of the request's peer; returns its family. */
  #loadKey(req: AnnounceRequest): number {
    const k = this.#key;
    if (isV4Mapped(req.ip, 0)) {
      k[0] = req.ip[12];
      k[1] = req.ip[13];
      k[2] = req.ip[14];
      k[3] = req.ip[15];
      k[4] = req.port >> 8;
      k[5] = req.port & 0xff;
      return 0;
    }
    k.set(req.ip, 0);
    k[16] = req.port >> 8;
    k[17] = req.port & 0xff;
    return 1;
  }

  /** Binary search of #key in list `li`: the index, or -(insertion point) - 1. */
  #search(li: number, f: number): number {
    const n = this.#count[li];
    if (n === 0) return -1;
    const handle = this.#handle[li];
    const page = this.#store.page(handle);
    const base = this.#store.offset(handle);
    const rec = REC[f];
    const keyLen = KEY[f];
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

  /** Moves list `li` into a block of class `cls` (grow or shrink). */
  #resize(li: number, f: number, cls: number): void {
    const store = this.#store;
    const handle = store.alloc(cls);
    const oldCls = this.#cls[li];
    if (oldCls !== NO_BLOCK) {
      const old = this.#handle[li];
      const bytes = this.#count[li] * REC[f];
      const from = store.offset(old);
      store.page(handle).set(store.page(old).subarray(from, from + bytes), store.offset(handle));
      store.free(old, oldCls);
    }
    this.#handle[li] = handle;
    this.#cls[li] = cls;
  }

  /** Inserts #key with `flags` and `age` at index `at` of list `li`; false at the list limit. */
  #insert(li: number, f: number, at: number, flags: number, age: number): boolean {
    const n = this.#count[li];
    const rec = REC[f];
    if (n >= LIMITS.peersPerListMax) return false;
    if (this.#cls[li] === NO_BLOCK || (n + 1) * rec > classBytes(this.#cls[li])) {
      // Power-of-two blocks: growing to the next class doubles the capacity.
      this.#resize(li, f, classFor((n + 1) * rec));
    }
    const handle = this.#handle[li];
    const page = this.#store.page(handle);
    const p = this.#store.offset(handle) + at * rec;
    page.copyWithin(p + rec, p, this.#store.offset(handle) + n * rec);
    page.set(this.#key.subarray(0, KEY[f]), p);
    page[p + rec - 2] = flags;
    page[p + rec - 1] = age;
    this.#count[li] = n + 1;
    return true;
  }

  /** Removes index `at` of list `li`, shrinking the block when it is mostly empty. */
  #removeAt(li: number, f: number, at: number): void {
    const n = this.#count[li];
    const rec = REC[f];
    const handle = this.#handle[li];
    const page = this.#store.page(handle);
    const start = this.#store.offset(handle);
    page.copyWithin(start + at * rec, start + (at + 1) * rec, start + n * rec);
    this.#count[li] = n - 1;
    this.#shrink(li, f);
  }

  #shrink(li: number, f: number): void {
    const n = this.#count[li];
    const cls = this.#cls[li];
    if (cls === NO_BLOCK) return;
    if (n === 0) {
      this.#store.free(this.#handle[li], cls);
      this.#cls[li] = NO_BLOCK;
      return;
    }
    // As opentracker: halve when less than a quarter is used.
    if (cls > 0 && n * REC[f] * 4 < classBytes(cls)) this.#resize(li, f, classFor(n * REC[f] * 2));
  }

  /**
   * Ages list `li` to `now` and drops peers past the timeout (§2.5). Returns true when the list
   * votes to remove its torrent.
   */
  #cleanList(li: number, f: number, now: number): boolean {
    let timedOut = now - this.#base[li];
    if (timedOut <= 0) return false;
    if (timedOut > this.#torrentTimeout) return true;
    const n = this.#count[li];
    if (timedOut > this.#peerTimeout) {
      if (n === 0) return this.#down[li] === 0;
      timedOut = this.#peerTimeout;
    }
    if (n > 0) {
      const rec = REC[f];
      const handle = this.#handle[li];
      const page = this.#store.page(handle);
      const start = this.#store.offset(handle);
      let kept = 0;
      let seedsRemoved = 0;
      for (let i = 0; i < n; i++) {
        const p = start + i * rec;
        const age = page[p + rec - 1] + timedOut;
        if (age >= this.#peerTimeout) {
          if (page[p + rec - 2] & PEER_FLAG.seeding) seedsRemoved++;
          continue;
        }
        const q = start + kept * rec;
        if (q !== p) page.copyWithin(q, p, p + rec);
        page[q + rec - 1] = age;
        kept++;
      }
      if (kept !== n) {
        this.#count[li] = kept;
        this.#seeds[li] -= seedsRemoved;
        this.peerCount -= n - kept;
        this.seedCount -= seedsRemoved;
        this.#shrink(li, f);
      }
    }
    this.#base[li] = this.#count[li] > 0 ? now : now - this.#peerTimeout;
    return false;
  }

  /**
   * Cleans both lists of `slot` and moves those that sit in pages being evacuated (into a block
   * that just fits them); returns true when the torrent should go.
   */
  #cleanTorrent(slot: number, now: number): boolean {
    const a = this.#cleanList(2 * slot, 0, now);
    const b = this.#cleanList(2 * slot + 1, 1, now);
    this.#syncEmpty(slot);
    for (let f = 0; f < 2; f++) {
      const li = 2 * slot + f;
      if (this.#cls[li] !== NO_BLOCK && this.#store.isEvacuating(this.#handle[li])) {
        this.#resize(li, f, classFor(this.#count[li] * REC[f]));
      }
    }
    return a && b;
  }

  // ---------------------------------------------------------------- operations

  /**
   * Adds or renews the peer of `req` and selects peers for the reply (§2.3, §2.7).
   * `req.numwant` must already be capped. The caller checks the access list first.
   */
  /** The peer budget in force (Infinity when unlimited). */
  get peerBudget(): number {
    return this.#budget;
  }

  /** The torrent budget in force (Infinity when unlimited). */
  get torrentBudget(): number {
    return this.#torrentBudget;
  }

  /**
   * Whether a new peer may join a swarm of `swarmPeers` peers (both families). Below the
   * watermark: yes. Above the budget or the per-torrent cap: no. In between: swarms under
   * 10 peers yes, larger ones with probability (1 - load)^2 / (1 + log2(size / 10))^1.5, so
   * that near the budget the remaining room goes to the many small swarms rather than to the
   * few that already hold most peers (upstream's proposed WANT_LIMIT_PEERS, §2.8).
   */
  #admit(swarmPeers: number): boolean {
    if (swarmPeers >= this.#torrentMax) return false;
    const used = this.peerCount;
    if (used < this.#watermark) return true;
    if (used >= this.#budget) return false;
    if (swarmPeers < SMALL_SWARM_PEERS) return true;
    const load = (used - this.#watermark) / Math.max(1, this.#budget - this.#watermark);
    const p = (1 - load) ** 2 / (1 + Math.log2(swarmPeers / SMALL_SWARM_PEERS)) ** 1.5;
    return this.#prng.below(1_000_000) < p * 1_000_000;
  }

  announce(
    req: AnnounceRequest,
    nowMinutes: number,
    reply: number,
    fromSync: boolean,
    out: AnnounceResult,
  ): void {
    const h = req.infoHash;
    out.refused = false;
    out.probation = false;
    let slot = this.find(h, 0);
    const created = slot < 0;
    if (created) {
      // A refused peer of an unknown torrent creates nothing: a flood of random info_hashes
      // grows neither the peer store nor the torrent table past their budgets.
      if (!this.#admit(0) || !this.#roomForTorrent()) {
        this.refusedPeers++;
        out.refused = true;
        out.isNewPeer = out.completed = out.removed = false;
        out.renewedAgeMinutes = -1;
        out.seeders =
          out.leechers =
          out.downloaded =
          out.familyPeers =
          out.n4 =
          out.n6 =
            0;
        return;
      }
      slot = this.#create(h, 0, nowMinutes);
    } else {
      this.#cleanTorrent(slot, nowMinutes);
    }
    this.#base[2 * slot] = nowMinutes;
    this.#base[2 * slot + 1] = nowMinutes;

    const f = this.#loadKey(req);
    const li = 2 * slot + f;
    let flags = requestFlags(req);
    out.isNewPeer = false;
    out.renewedAgeMinutes = -1;
    out.completed = false;
    out.removed = false;

    const at = this.#search(li, f);
    const swarmPeers = this.#count[2 * slot] + this.#count[2 * slot + 1];
    if (at < 0 && !this.#admit(swarmPeers)) {
      // Refused: the reply is normal, nothing is stored (renewals never get here).
      this.refusedPeers++;
      out.refused = true;
    } else if (at < 0) {
      if (fromSync) flags |= PEER_FLAG.fromSync;
      // Above a watermark, a new peer must renew soon to keep its place: a flood that never
      // announces again frees its room after the probation instead of the peer timeout.
      let age = 0;
      if (
        this.#probationAge > 0 &&
        (this.peerCount >= this.#watermark ||
          (created && this.torrentCount > this.#torrentWatermark))
      ) {
        flags |= PEER_FLAG.probation;
        age = this.#probationAge;
      }
      if (this.#insert(li, f, -at - 1, flags, age)) {
        out.isNewPeer = true;
        out.probation = age > 0;
        if (age > 0) this.probationPeers++;
        this.peerCount++;
        // A completion counts only for a peer the tracker held before it: a stranger's
        // "completed" on a random info_hash would otherwise pin that torrent for a day.
        if (flags & PEER_FLAG.seeding) {
          this.#seeds[li]++;
          this.seedCount++;
        }
      }
    } else {
      const page = this.#store.page(this.#handle[li]);
      const rec = REC[f];
      const p = this.#store.offset(this.#handle[li]) + at * rec;
      const old = page[p + rec - 2];
      const age = page[p + rec - 1];
      // A probation peer's age started at the shortening: report its real age.
      out.renewedAgeMinutes = old & PEER_FLAG.probation ? age - this.#probationAge : age;
      if ((old & PEER_FLAG.seeding) !== (flags & PEER_FLAG.seeding)) {
        const d = flags & PEER_FLAG.seeding ? 1 : -1;
        this.#seeds[li] += d;
        this.seedCount += d;
      }
      if (old & PEER_FLAG.completed) flags |= PEER_FLAG.completed;
      else if (flags & PEER_FLAG.completed) {
        this.#down[li]++;
        out.completed = true;
      }
      page[p + rec - 2] = flags;
      page[p + rec - 1] = 0;
    }
    this.#syncEmpty(slot);
    out.familyPeers = this.#count[li];
    this.#fillCounts(slot, out);
    out.n4 = 0;
    out.n6 = 0;
    if (reply === REPLY.none) return;
    if (reply === REPLY.ownFamily) {
      const amount = Math.min(req.numwant, this.#count[li]);
      if (f === 0) out.n4 = this.#select(li, 0, amount, out.peers4);
      else out.n6 = this.#select(li, 1, amount, out.peers6);
      return;
    }
    this.#selectBoth(slot, req.numwant, out);
  }

  /** Removes the peer of `req` (§2.4); counts are reported after the removal. */
  stop(req: AnnounceRequest, out: AnnounceResult): void {
    out.isNewPeer = false;
    out.renewedAgeMinutes = -1;
    out.completed = false;
    out.removed = false;
    out.n4 = 0;
    out.n6 = 0;
    const f = this.#loadKey(req);
    const slot = this.find(req.infoHash, 0);
    if (slot < 0) {
      out.seeders =
        out.leechers =
        out.downloaded =
        out.familyPeers =
          0;
      return;
    }
    const li = 2 * slot + f;
    const at = this.#search(li, f);
    if (at >= 0) {
      const page = this.#store.page(this.#handle[li]);
      const rec = REC[f];
      if (page[this.#store.offset(this.#handle[li]) + at * rec + rec - 2] & PEER_FLAG.seeding) {
        this.#seeds[li]--;
        this.seedCount--;
      }
      this.#removeAt(li, f, at);
      this.peerCount--;
      out.removed = true;
      this.#syncEmpty(slot);
    }
    out.familyPeers = this.#count[li];
    this.#fillCounts(slot, out);
  }

  /**
   * Counts of torrent `h[o..o+20)` after cleaning it; false when unknown (or removed by the
   * cleaning, §2.5).
   */
  scrape(h: Uint8Array, o: number, nowMinutes: number, out: ScrapeCounts): boolean {
    const slot = this.find(h, o);
    if (slot < 0) return false;
    if (this.#cleanTorrent(slot, nowMinutes)) {
      this.#delete(slot);
      return false;
    }
    this.#fillCounts(slot, out);
    return true;
  }

  #fillCounts(slot: number, out: ScrapeCounts | AnnounceResult): void {
    const i = 2 * slot;
    const seeds = this.#seeds[i] + this.#seeds[i + 1];
    out.seeders = seeds;
    out.leechers = this.#count[i] + this.#count[i + 1] - seeds;
    out.downloaded = this.#down[i] + this.#down[i + 1];
  }

  /**
   * Cleans up to `maxTorrents` torrents from where the last call stopped and removes the dead
   * ones. Returns true when the call finished a sweep over all torrents.
   */
  cleanSlice(nowMinutes: number, maxTorrents: number): boolean {
    let visited = 0;
    while (visited < maxTorrents) {
      if (this.#cleanCursor >= this.#nextSlot) {
        this.#cleanCursor = 0;
        // A sweep ended: the next one moves the lists out of sparse pages, if any.
        this.#store.startEvacuation();
        return true;
      }
      const slot = this.#cleanCursor++;
      if (this.#used[slot] === 0) continue;
      visited++;
      if (this.#cleanTorrent(slot, nowMinutes)) this.#delete(slot);
    }
    return false;
  }

  /**
   * Visits up to `maxSlots` slots from `from` on, calling `fn` for each torrent with its hash
   * (`hashes[off..off+20)`, valid during the call) and counts. Returns the slot to continue
   * from, or -1 when every slot was visited. Used by the sliced stats scans: the caller yields to
   * the event loop between calls, and torrents created or removed meanwhile are seen or not.
   */
  visit(
    from: number,
    maxSlots: number,
    fn: (slot: number, hashes: Uint8Array, off: number, seeders: number, leechers: number) => void,
  ): number {
    const end = Math.min(this.#nextSlot, from + maxSlots);
    for (let slot = from; slot < end; slot++) {
      if (this.#used[slot] === 0) continue;
      const i = 2 * slot;
      const seeds = this.#seeds[i] + this.#seeds[i + 1];
      fn(slot, this.#hashes, slot * 20, seeds, this.#count[i] + this.#count[i + 1] - seeds);
    }
    return end >= this.#nextSlot ? -1 : end;
  }

  /** The hash bytes of all slots (`slot * 20`); valid until the next announce grows the table. */
  get hashes(): Uint8Array {
    return this.#hashes;
  }

  /** True when `slot` holds a torrent. */
  slotUsed(slot: number): boolean {
    return slot < this.#nextSlot && this.#used[slot] === 1;
  }

  /**
   * Counts of `slot` and the base of its IPv6 list in minutes (what opentracker's statedump
   * writes, §7), or false when the slot is free.
   */
  slotEntry(
    slot: number,
    out: { seeders: number; leechers: number; downloaded: number; baseMinutes: number },
  ): boolean {
    if (!this.slotUsed(slot)) return false;
    this.#fillCounts(slot, out);
    out.baseMinutes = this.#base[2 * slot + 1];
    return true;
  }

  /**
   * Restores a torrent from a statedump line (§7): created with `baseMinutes` on both lists and
   * `downloaded` counted once (opentracker writes it to both families and doubles it). Returns
   * false when the torrent exists already (it is left alone) or the torrent budget is full.
   */
  restoreTorrent(h: Uint8Array, o: number, baseMinutes: number, downloaded: number): boolean {
    if (this.find(h, o) >= 0 || !this.#roomForTorrent()) return false;
    const slot = this.#create(h, o, baseMinutes);
    this.#down[2 * slot] = Math.min(downloaded, 0xffffffff);
    return true;
  }

  /** Peers of `slot` in family `f` (0: IPv4, 1: IPv6). */
  familyCount(slot: number, f: number): number {
    return this.#count[2 * slot + f];
  }

  /**
   * Writes a state record of `slot` with its IPv4 peers `[a4, a4 + n4)` and IPv6 peers
   * `[a6, a6 + n6)` at `out[off]`; returns the end offset. A large torrent is written as several
   * records with the same header, so that a damaged block of the state file loses only some of
   * its peers. Layout ({@link stateRecordBytes} bytes):
   *
   * | offset | size   | field                                   |
   * | ------ | ------ | --------------------------------------- |
   * | 0      | 20     | info_hash                               |
   * | 20     | 4      | downloaded (both families)              |
   * | 24     | 4      | base minutes of the IPv4 list           |
   * | 28     | 4      | base minutes of the IPv6 list           |
   * | 32     | 4      | IPv4 peers in this record, n4           |
   * | 36     | 4      | IPv6 peers in this record, n6           |
   * | 40     | 8·n4   | IPv4 peer records (see the file header) |
   * | …      | 20·n6  | IPv6 peer records                       |
   *
   * All integers big-endian; peers ascending by address and port, as stored.
   */
  exportRecord(
    slot: number,
    out: Uint8Array,
    off: number,
    range: { a4: number; n4: number; a6: number; n6: number },
  ): number {
    const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
    out.set(this.#hashes.subarray(slot * 20, slot * 20 + 20), off);
    view.setUint32(off + 20, this.#down[2 * slot] + this.#down[2 * slot + 1]);
    view.setUint32(off + 24, this.#base[2 * slot]);
    view.setUint32(off + 28, this.#base[2 * slot + 1]);
    view.setUint32(off + 32, range.n4);
    view.setUint32(off + 36, range.n6);
    off += STATE_RECORD_HEAD_BYTES;
    for (let f = 0; f < 2; f++) {
      const n = f === 0 ? range.n4 : range.n6;
      if (n === 0) continue;
      const li = 2 * slot + f;
      const from = (f === 0 ? range.a4 : range.a6) * REC[f];
      const handle = this.#handle[li];
      const start = this.#store.offset(handle) + from;
      out.set(this.#store.page(handle).subarray(start, start + n * REC[f]), off);
      off += n * REC[f];
    }
    return off;
  }

  /**
   * Restores a state record written by {@link exportRecord} from `data[off..end)`, peers
   * included. The first record of a torrent creates it (when the torrent budget has room); a
   * further record of a torrent adds its peers (duplicates are skipped). Peers beyond the peer
   * budget are left out. Returns the record's length, or -1 when it is malformed (truncated,
   * peers out of order or duplicated, over a limit).
   */
  importTorrent(data: Uint8Array, off: number, end: number): number {
    if (off + STATE_RECORD_HEAD_BYTES > end) return -1;
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const n4 = view.getUint32(off + 32);
    const n6 = view.getUint32(off + 36);
    if (n4 > LIMITS.peersPerListMax || n6 > LIMITS.peersPerListMax) return -1;
    const length = stateRecordBytes(n4, n6);
    if (off + length > end) return -1;
    // Peer records must be strictly ascending by ip+port, as the binary search needs.
    let p = off + STATE_RECORD_HEAD_BYTES;
    for (const [n, rec, key] of [[n4, 8, 6], [n6, 20, 18]]) {
      for (let k = 1; k < n; k++) {
        let cmp = 0;
        for (let b = 0; b < key && cmp === 0; b++) {
          cmp = data[p + k * rec + b] - data[p + (k - 1) * rec + b];
        }
        if (cmp <= 0) return -1;
      }
      p += n * rec;
    }
    let slot = this.find(data, off);
    const merge = slot >= 0;
    if (!merge) {
      if (!this.#roomForTorrent()) return length;
      slot = this.#create(data, off, view.getUint32(off + 24));
      this.#base[2 * slot + 1] = view.getUint32(off + 28);
      this.#down[2 * slot] = view.getUint32(off + 20);
    }
    p = off + STATE_RECORD_HEAD_BYTES;
    for (let f = 0; f < 2; f++) {
      const li = 2 * slot + f;
      const rec = REC[f];
      const total = f === 0 ? n4 : n6;
      const n = Math.min(total, Math.max(0, this.#budget - this.peerCount));
      if (n > 0 && merge) this.#mergePeers(li, f, data, p, n);
      else if (n > 0) {
        this.#resize(li, f, classFor(n * rec));
        const handle = this.#handle[li];
        const page = this.#store.page(handle);
        const start = this.#store.offset(handle);
        page.set(data.subarray(p, p + n * rec), start);
        let seeds = 0;
        for (let k = 0; k < n; k++) {
          if (page[start + k * rec + rec - 2] & PEER_FLAG.seeding) seeds++;
        }
        this.#count[li] = n;
        this.#seeds[li] = seeds;
        this.peerCount += n;
        this.seedCount += seeds;
      }
      p += total * rec;
    }
    this.#syncEmpty(slot);
    return length;
  }

  /** Adds the `n` peer records at `data[p..]` to list `li`, skipping those it holds. */
  #mergePeers(li: number, f: number, data: Uint8Array, p: number, n: number): void {
    const rec = REC[f];
    const keyLen = KEY[f];
    for (let k = 0; k < n; k++) {
      const r = p + k * rec;
      this.#key.set(data.subarray(r, r + keyLen));
      const at = this.#search(li, f);
      if (at >= 0 || !this.#insert(li, f, -at - 1, data[r + rec - 2], data[r + rec - 1])) continue;
      this.peerCount++;
      if (data[r + rec - 2] & PEER_FLAG.seeding) {
        this.#seeds[li]++;
        this.seedCount++;
      }
    }
  }

  /** Calls `fn` with the IPv4 address (big-endian u32) of every IPv4 peer of `slot`. */
  visitPeers4(slot: number, fn: (ip: number) => void): void {
    const n = this.#count[2 * slot];
    if (n === 0) return;
    const handle = this.#handle[2 * slot];
    const page = this.#store.page(handle);
    const start = this.#store.offset(handle);
    for (let k = 0; k < n; k++) {
      const p = start + k * 8;
      fn(((page[p] << 24) | (page[p + 1] << 16) | (page[p + 2] << 8) | page[p + 3]) >>> 0);
    }
  }

  /** Slots in use or free below the high-water mark: the size of one full cleaning sweep. */
  get slotCount(): number {
    return this.#nextSlot;
  }

  // ---------------------------------------------------------------- peer selection

  /** §2.7 for HTTP: split `amount` between the families in proportion to their sizes. */
  #selectBoth(slot: number, amount: number, out: AnnounceResult): void {
    const c4 = this.#count[2 * slot];
    const c6 = this.#count[2 * slot + 1];
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
    out.n4 = this.#select(2 * slot, 0, v4, out.peers4);
    out.n6 = this.#select(2 * slot + 1, 1, v6, out.peers6);
  }

  /**
   * Copies `amount` distinct peers of list `li` into `dst` in wire format: leechers from the
   * front, seeders from the back. With fewer peers than `amount`, all of them; otherwise one
   * random peer from each of `amount` equal windows of a randomly rotated list, so every peer is
   * equally likely and none repeats. Returns the number written.
   */
  #select(li: number, f: number, amount: number, dst: Uint8Array): number {
    const n = this.#count[li];
    if (amount > n) amount = n;
    if (amount <= 0) return 0;
    const rec = REC[f];
    const keyLen = KEY[f];
    const handle = this.#handle[li];
    const page = this.#store.page(handle);
    const start = this.#store.offset(handle);
    let front = 0;
    let back = amount * keyLen;
    const all = amount === n;
    const rotate = all ? 0 : this.#prng.below(n);
    for (let i = 0; i < amount; i++) {
      let idx = i;
      if (!all) {
        const lo = Math.floor((i * n) / amount);
        const hi = Math.floor(((i + 1) * n) / amount);
        idx = lo + this.#prng.below(hi - lo) + rotate;
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
    return amount;
  }
}
