/**
 * The swarm: every torrent and its peers; announce, stop, scrape and cleaning over the torrent
 * index (hash_index.ts), the peer lists (peer_lists.ts), admission (admission.ts) and the state
 * record (state_record.ts).
 *
 * Synchronous and free of I/O: time comes in as `nowMinutes`, randomness from an injected PRNG.
 * Functions never await, which is the whole concurrency model: one announce runs to completion
 * before the next starts, so there are no locks and the counters are exact.
 *
 * Per torrent slot: the two peer lists (IPv4 list `2·slot`, IPv6 list `2·slot + 1`), the
 * downloads and the base minute of each list (the last announce or cleaning; peer ages are
 * relative to it), and its place in the list of empty torrents.
 *
 * Must not import protocol/ or server/, nor use Deno APIs, Date or Math.random.
 */

import { AnnounceRequest, DEFAULTS, LIMITS, PEER_FLAG, requestFlags } from "../types.ts";
import { assert } from "../util/assert.ts";
import { Prng } from "../util/random.ts";
import { Admission } from "./admission.ts";
import { HashIndex20 } from "./hash_index.ts";
import { PeerLists, RECORD_BYTES, splitAmount } from "./peer_lists.ts";
import {
  readStateRecord,
  STATE_RECORD_HEAD_BYTES,
  StateRecordHead,
  writeStateRecordHead,
} from "./state_record.ts";

/** Which peers an announce's reply returns. */
export const REPLY = {
  /** Both families, proportionally (HTTP). */
  bothFamilies: 0,
  /** The requester's family only (UDP). */
  ownFamily: 1,
  /** No reply at all (live sync records). */
  none: 2,
} as const;

/**
 * Outcome of {@link Swarm.announce} and {@link Swarm.stop}: counts, how many peers of each
 * family the reply takes (written by {@link Swarm.writePeers}), and the facts statistics count.
 * Preallocated and reused.
 */
export class AnnounceResult {
  /** Seeders over both families. */
  seeders = 0;
  /** Leechers over both families. */
  leechers = 0;
  /** Completed downloads over both families. */
  downloaded = 0;
  /** IPv4 and IPv6 peers the reply takes. */
  n4 = 0;
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
  /** A new peer was refused by a budget or the per-torrent cap (nothing stored). */
  refused = false;
  /** The new peer was admitted on probation: a short first lifetime, so a short interval. */
  probation = false;
  /** The torrent the peers come from (valid until the next swarm operation). */
  slot = -1;
}

/** Counts of one torrent, for scrapes. */
export class ScrapeCounts {
  seeders = 0;
  leechers = 0;
  downloaded = 0;
}

/** Options for {@link Swarm}. */
export interface SwarmOptions {
  /** PRNG for peer sampling and admission. */
  prng: Prng;
  /** Four 32-bit words keying the torrent index's hash, from a CSPRNG (hash-flooding defence). */
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
   * Fraction of the budgets above which new peers are admitted with a probability that falls
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

// The list of empty torrents: EMPTY_NONE ends it; NOT_EMPTY marks a torrent not in it.
const EMPTY_NONE = -1;
const NOT_EMPTY = -2;

/** All torrents and peers of one tracker process. */
export class Swarm {
  readonly #index: HashIndex20;
  readonly #lists = new PeerLists();
  readonly #admission: Admission;
  readonly #prng: Prng;
  readonly #peerTimeout: number;
  readonly #torrentTimeout: number;
  // Per list (2·slot + family): downloads and base minute.
  #down = new Uint32Array(0);
  #base = new Uint32Array(0);
  // Per slot: the empty-torrent list, in the order the torrents emptied (eviction order).
  #emptyPrev = new Int32Array(0);
  #emptyNext = new Int32Array(0);
  #emptyHead = EMPTY_NONE;
  #emptyTail = EMPTY_NONE;
  #cleanCursor = 0;
  readonly #split = new Int32Array(2);
  readonly #head: StateRecordHead = { downloaded: 0, base4: 0, base6: 0, n4: 0, n6: 0 };

  /** Peers held, both families, seeders included. */
  peerCount = 0;
  /** Seeders held, both families. */
  seedCount = 0;
  /** New peers refused by a budget or the per-torrent cap (renewals are never refused). */
  refusedPeers = 0;
  /** New torrents refused at the torrent budget (no empty torrent to evict). */
  refusedTorrents = 0;
  /** Empty torrents evicted to make room at the torrent budget. */
  evictedTorrents = 0;
  /** New peers admitted on probation. */
  probationPeers = 0;
  /** Torrents without peers (kept for their downloads, or not cleaned yet). */
  emptyTorrents = 0;

  constructor(options: SwarmOptions) {
    this.#prng = options.prng;
    this.#peerTimeout = options.peerTimeoutMinutes ?? DEFAULTS.peerTimeoutMinutes;
    this.#torrentTimeout = options.torrentTimeoutMinutes ?? DEFAULTS.torrentTimeoutMinutes;
    assert(
      this.#peerTimeout >= 1 && this.#peerTimeout <= LIMITS.peerTimeoutMinutesMax,
      `peer timeout must be 1..255 minutes, got ${this.#peerTimeout}`,
    );
    this.#admission = new Admission({
      peerBudget: options.peerBudget,
      torrentPeersMax: options.torrentPeersMax,
      torrentBudget: options.torrentBudget,
      watermark: options.budgetWatermark,
      probationMinutes: options.probationMinutes,
      peerTimeoutMinutes: this.#peerTimeout,
    }, options.prng);
    const initial = Math.max(16, options.initialTorrents ?? 1024);
    this.#index = new HashIndex20(options.hashSeed, initial, (cap) => this.#grow(cap));
    this.#grow(initial);
  }

  /** Torrents held. */
  get torrentCount(): number {
    return this.#index.size;
  }

  /** The peer budget in force (Infinity when unlimited). */
  get peerBudget(): number {
    return this.#admission.peerBudget;
  }

  /** The torrent budget in force (Infinity when unlimited). */
  get torrentBudget(): number {
    return this.#admission.torrentBudget;
  }

  /** Bytes held by peer-list pages. */
  get peerStoreBytes(): number {
    return this.#lists.store.bytesReserved;
  }

  /** Bytes of live peer-list blocks. */
  get peerStoreLiveBytes(): number {
    return this.#lists.store.bytesLive;
  }

  // ---------------------------------------------------------------- torrents

  #grow(capacity: number): void {
    const copy = <T extends Uint32Array | Int32Array>(old: T, size: number): T => {
      const next = new (old.constructor as { new (n: number): T })(size);
      next.set(old as unknown as ArrayLike<number>);
      return next;
    };
    this.#down = copy(this.#down, capacity * 2);
    this.#base = copy(this.#base, capacity * 2);
    this.#emptyPrev = copy(this.#emptyPrev, capacity);
    this.#emptyNext = copy(this.#emptyNext, capacity);
    this.#lists.grow(capacity * 2);
  }

  /** Slot of the torrent `h[o..o+20)`, or -1. */
  find(h: Uint8Array, o = 0): number {
    return this.#index.find(h, o);
  }

  #create(h: Uint8Array, o: number, nowMinutes: number): number {
    const slot = this.#index.insert(h, o);
    this.#emptyPrev[slot] = NOT_EMPTY;
    for (let f = 0; f < 2; f++) {
      const li = 2 * slot + f;
      this.#lists.reset(li);
      this.#down[li] = 0;
      this.#base[li] = nowMinutes;
    }
    this.#syncEmpty(slot);
    return slot;
  }

  #delete(slot: number): void {
    if (this.#emptyPrev[slot] !== NOT_EMPTY) this.#unlinkEmpty(slot);
    for (let li = 2 * slot; li < 2 * slot + 2; li++) {
      this.peerCount -= this.#lists.count(li);
      this.seedCount -= this.#lists.seeds(li);
      this.#lists.free(li);
    }
    this.#index.remove(slot);
  }

  /** Puts `slot` on the empty list when it has no peers, takes it off when it has. */
  #syncEmpty(slot: number): void {
    const empty = this.#lists.count(2 * slot) + this.#lists.count(2 * slot + 1) === 0;
    const listed = this.#emptyPrev[slot] !== NOT_EMPTY;
    if (empty === listed) return;
    if (!empty) {
      this.#unlinkEmpty(slot);
      return;
    }
    this.#emptyPrev[slot] = this.#emptyTail;
    this.#emptyNext[slot] = EMPTY_NONE;
    if (this.#emptyTail === EMPTY_NONE) this.#emptyHead = slot;
    else this.#emptyNext[this.#emptyTail] = slot;
    this.#emptyTail = slot;
    this.emptyTorrents++;
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
    if (this.#index.size < this.#admission.torrentBudget) return true;
    if (this.#emptyHead === EMPTY_NONE) {
      this.refusedTorrents++;
      return false;
    }
    this.#delete(this.#emptyHead);
    this.evictedTorrents++;
    return true;
  }

  /**
   * Ages list `li` to `now` and drops peers past the timeout. Returns true when the list votes
   * to remove its torrent (empty past the peer timeout without downloads, or idle past the
   * torrent timeout); a torrent goes when both of its lists vote so.
   */
  #cleanList(li: number, now: number): boolean {
    let timedOut = now - this.#base[li];
    if (timedOut <= 0) return false;
    if (timedOut > this.#torrentTimeout) return true;
    const n = this.#lists.count(li);
    if (timedOut > this.#peerTimeout) {
      if (n === 0) return this.#down[li] === 0;
      timedOut = this.#peerTimeout;
    }
    if (n > 0) {
      const dropped = this.#lists.expire(li, timedOut, this.#peerTimeout);
      this.peerCount -= dropped;
      this.seedCount -= this.#lists.seedsDropped;
    }
    // An emptied list pretends its last touch was one peer timeout ago, as opentracker's does.
    this.#base[li] = this.#lists.count(li) > 0 ? now : now - this.#peerTimeout;
    return false;
  }

  /**
   * Cleans both lists of `slot` and moves those that sit in pages being evacuated; returns true
   * when the torrent should go.
   */
  #cleanTorrent(slot: number, now: number): boolean {
    const a = this.#cleanList(2 * slot, now);
    const b = this.#cleanList(2 * slot + 1, now);
    this.#syncEmpty(slot);
    this.#lists.relocateIfEvacuating(2 * slot);
    this.#lists.relocateIfEvacuating(2 * slot + 1);
    return a && b;
  }

  // ---------------------------------------------------------------- operations

  /**
   * Adds or renews the peer of `req` and decides how many peers of each family the reply takes
   * (opentracker's add_peer_to_torrent_and_return_peers). `req.numwant` must already be capped.
   * The caller checks the access list first; peers are written by {@link writePeers}.
   */
  announce(
    req: AnnounceRequest,
    nowMinutes: number,
    reply: number,
    fromSync: boolean,
    out: AnnounceResult,
  ): void {
    out.refused =
      out.probation =
      out.isNewPeer =
      out.completed =
      out.removed =
        false;
    out.renewedAgeMinutes = -1;
    out.n4 = out.n6 = 0;
    let slot = this.#index.find(req.infoHash, 0);
    const created = slot < 0;
    if (created) {
      // A refused peer of an unknown torrent creates nothing: a flood of random info_hashes
      // grows neither the peer store nor the torrent table past their budgets.
      if (!this.#admission.admitPeer(0, this.peerCount) || !this.#roomForTorrent()) {
        this.refusedPeers++;
        out.refused = true;
        out.slot = -1;
        out.seeders =
          out.leechers =
          out.downloaded =
          out.familyPeers =
            0;
        return;
      }
      slot = this.#create(req.infoHash, 0, nowMinutes);
    } else {
      this.#cleanTorrent(slot, nowMinutes);
    }
    this.#base[2 * slot] = nowMinutes;
    this.#base[2 * slot + 1] = nowMinutes;
    out.slot = slot;

    const lists = this.#lists;
    const f = lists.setKey(req.ip, req.port);
    const li = 2 * slot + f;
    let flags = requestFlags(req);
    const at = lists.search(li);
    const swarmPeers = lists.count(2 * slot) + lists.count(2 * slot + 1);
    if (at < 0 && !this.#admission.admitPeer(swarmPeers, this.peerCount)) {
      // Refused: the reply is normal, nothing is stored (renewals never get here).
      this.refusedPeers++;
      out.refused = true;
    } else if (at < 0) {
      if (fromSync) flags |= PEER_FLAG.fromSync;
      // Above a watermark a new peer must renew soon to keep its place.
      const age = this.#admission.startAge(created, this.peerCount, this.#index.size);
      if (age > 0) flags |= PEER_FLAG.probation;
      if (lists.insert(li, -at - 1, flags, age)) {
        out.isNewPeer = true;
        out.probation = age > 0;
        if (age > 0) this.probationPeers++;
        this.peerCount++;
        // A completion counts only for a peer the tracker held before it: a stranger's
        // "completed" on a random info_hash would otherwise pin that torrent for a day.
        if (flags & PEER_FLAG.seeding) {
          lists.addSeeds(li, 1);
          this.seedCount++;
        }
      }
    } else {
      // A renewal, the commonest announce: read and rewrite the record in place.
      const page = lists.pageOf(li);
      const p = lists.recordOffset(li, at) + RECORD_BYTES[f] - 2;
      const old = page[p];
      const age = page[p + 1];
      // A probation peer's age started at the shortening: report its real age.
      out.renewedAgeMinutes = old & PEER_FLAG.probation ? age - this.#admission.probationAge : age;
      if ((old & PEER_FLAG.seeding) !== (flags & PEER_FLAG.seeding)) {
        const d = flags & PEER_FLAG.seeding ? 1 : -1;
        lists.addSeeds(li, d);
        this.seedCount += d;
      }
      if (old & PEER_FLAG.completed) flags |= PEER_FLAG.completed;
      else if (flags & PEER_FLAG.completed) {
        this.#down[li]++;
        out.completed = true;
      }
      page[p] = flags;
      page[p + 1] = 0;
    }
    this.#syncEmpty(slot);
    out.familyPeers = lists.count(li);
    this.#fillCounts(slot, out);
    if (reply === REPLY.ownFamily) {
      const amount = Math.min(req.numwant, lists.count(li));
      if (f === 0) out.n4 = amount;
      else out.n6 = amount;
    } else if (reply === REPLY.bothFamilies) {
      splitAmount(lists.count(2 * slot), lists.count(2 * slot + 1), req.numwant, this.#split);
      out.n4 = this.#split[0];
      out.n6 = this.#split[1];
    }
  }

  /**
   * Writes the reply's peers of family `f` (0: IPv4, 1: IPv6) of the announce that filled `r`
   * (no swarm operation in between) at `dst[off..]`, in compact wire form, randomly chosen.
   * Returns the offset after them.
   */
  writePeers(r: AnnounceResult, f: number, dst: Uint8Array, off: number): number {
    if (r.slot < 0) return off;
    return this.#lists.select(2 * r.slot + f, f === 0 ? r.n4 : r.n6, dst, off, this.#prng);
  }

  /** Removes the peer of `req`; counts are reported after the removal. */
  stop(req: AnnounceRequest, out: AnnounceResult): void {
    out.isNewPeer =
      out.completed =
      out.removed =
      out.refused =
      out.probation =
        false;
    out.renewedAgeMinutes = -1;
    out.n4 = out.n6 = 0;
    const f = this.#lists.setKey(req.ip, req.port);
    const slot = this.#index.find(req.infoHash, 0);
    out.slot = slot;
    if (slot < 0) {
      out.seeders =
        out.leechers =
        out.downloaded =
        out.familyPeers =
          0;
      return;
    }
    const li = 2 * slot + f;
    const at = this.#lists.search(li);
    if (at >= 0) {
      if (this.#lists.flags(li, at) & PEER_FLAG.seeding) this.seedCount--;
      this.#lists.removeAt(li, at);
      this.peerCount--;
      out.removed = true;
      this.#syncEmpty(slot);
    }
    out.familyPeers = this.#lists.count(li);
    this.#fillCounts(slot, out);
  }

  /**
   * Counts of torrent `h[o..o+20)` after cleaning it; false when unknown (or removed by the
   * cleaning).
   */
  scrape(h: Uint8Array, o: number, nowMinutes: number, out: ScrapeCounts): boolean {
    const slot = this.#index.find(h, o);
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
    const seeds = this.#lists.seeds(i) + this.#lists.seeds(i + 1);
    out.seeders = seeds;
    out.leechers = this.#lists.count(i) + this.#lists.count(i + 1) - seeds;
    out.downloaded = this.#down[i] + this.#down[i + 1];
  }

  /**
   * Cleans up to `maxTorrents` torrents from where the last call stopped and removes the dead
   * ones. Returns true when the call finished a sweep over all torrents.
   */
  cleanSlice(nowMinutes: number, maxTorrents: number): boolean {
    let visited = 0;
    while (visited < maxTorrents) {
      if (this.#cleanCursor >= this.#index.slotCount) {
        this.#cleanCursor = 0;
        // A sweep ended: the next one moves the lists out of sparse pages, if any.
        this.#lists.store.startEvacuation();
        return true;
      }
      const slot = this.#cleanCursor++;
      if (!this.#index.used(slot)) continue;
      visited++;
      if (this.#cleanTorrent(slot, nowMinutes)) this.#delete(slot);
    }
    return false;
  }

  // ---------------------------------------------------------------- scans

  /**
   * Visits up to `maxSlots` slots from `from` on, calling `fn` for each torrent with its hash
   * (`hashes[off..off+20)`, valid during the call) and counts. Returns the slot to continue
   * from, or -1 when every slot was visited. Used by the sliced scans: the caller yields to the
   * event loop between calls, and torrents created or removed meanwhile are seen or not.
   */
  visit(
    from: number,
    maxSlots: number,
    fn: (slot: number, hashes: Uint8Array, off: number, seeders: number, leechers: number) => void,
  ): number {
    const end = Math.min(this.#index.slotCount, from + maxSlots);
    const hashes = this.#index.keys;
    for (let slot = from; slot < end; slot++) {
      if (!this.#index.used(slot)) continue;
      const i = 2 * slot;
      const seeds = this.#lists.seeds(i) + this.#lists.seeds(i + 1);
      fn(slot, hashes, slot * 20, seeds, this.#lists.count(i) + this.#lists.count(i + 1) - seeds);
    }
    return end >= this.#index.slotCount ? -1 : end;
  }

  /** The hash bytes of all slots (`slot * 20`); valid until the next announce grows the table. */
  get hashes(): Uint8Array {
    return this.#index.keys;
  }

  /** True when `slot` holds a torrent. */
  slotUsed(slot: number): boolean {
    return this.#index.used(slot);
  }

  /** Slots in use or free below the high-water mark: the size of one full cleaning sweep. */
  get slotCount(): number {
    return this.#index.slotCount;
  }

  /**
   * Counts of `slot` and the base of its IPv6 list in minutes (what opentracker's statedump
   * writes), or false when the slot is free.
   */
  slotEntry(
    slot: number,
    out: { seeders: number; leechers: number; downloaded: number; baseMinutes: number },
  ): boolean {
    if (!this.#index.used(slot)) return false;
    this.#fillCounts(slot, out);
    out.baseMinutes = this.#base[2 * slot + 1];
    return true;
  }

  /** Peers of `slot` in family `f` (0: IPv4, 1: IPv6). */
  familyCount(slot: number, f: number): number {
    return this.#lists.count(2 * slot + f);
  }

  /** Calls `fn` with the IPv4 address (big-endian u32) of every IPv4 peer of `slot`. */
  visitPeers4(slot: number, fn: (ip: number) => void): void {
    this.#lists.forEachIpv4(2 * slot, fn);
  }

  // ---------------------------------------------------------------- persistence

  /**
   * Restores a torrent from an opentracker statedump line: created with `baseMinutes` on both
   * lists and `downloaded` counted once (opentracker writes it to both families and so doubles
   * it on every restore). Returns false when the torrent exists already (it is left alone) or
   * the torrent budget is full.
   */
  restoreTorrent(h: Uint8Array, o: number, baseMinutes: number, downloaded: number): boolean {
    if (this.#index.find(h, o) >= 0 || !this.#roomForTorrent()) return false;
    const slot = this.#create(h, o, baseMinutes);
    this.#down[2 * slot] = Math.min(downloaded, 0xffffffff);
    return true;
  }

  /**
   * Writes a state record (state_record.ts) of `slot` with its IPv4 peers `[a4, a4 + n4)` and
   * IPv6 peers `[a6, a6 + n6)` at `out[off]`; returns the end offset.
   */
  exportRecord(
    slot: number,
    out: Uint8Array,
    off: number,
    range: { a4: number; n4: number; a6: number; n6: number },
  ): number {
    const head = this.#head;
    head.downloaded = this.#down[2 * slot] + this.#down[2 * slot + 1];
    head.base4 = this.#base[2 * slot];
    head.base6 = this.#base[2 * slot + 1];
    head.n4 = range.n4;
    head.n6 = range.n6;
    off = writeStateRecordHead(out, off, this.#index.keys, slot * 20, head);
    off = this.#lists.copyRecords(2 * slot, range.a4, range.n4, out, off);
    return this.#lists.copyRecords(2 * slot + 1, range.a6, range.n6, out, off);
  }

  /**
   * Restores a state record from `data[off..end)`, peers included. The first record of a
   * torrent creates it (when the torrent budget has room); a further record of a torrent adds
   * its peers (duplicates are skipped). Peers beyond the peer budget are left out. Returns the
   * record's length, or -1 when it is malformed.
   */
  importRecord(data: Uint8Array, off: number, end: number): number {
    const head = this.#head;
    const length = readStateRecord(data, off, end, head);
    if (length < 0) return -1;
    let slot = this.#index.find(data, off);
    const merge = slot >= 0;
    if (!merge) {
      if (!this.#roomForTorrent()) return length;
      slot = this.#create(data, off, head.base4);
      this.#base[2 * slot + 1] = head.base6;
      this.#down[2 * slot] = head.downloaded;
    }
    let p = off + STATE_RECORD_HEAD_BYTES;
    for (let f = 0; f < 2; f++) {
      const li = 2 * slot + f;
      const total = f === 0 ? head.n4 : head.n6;
      const n = Math.min(total, Math.max(0, this.#admission.peerBudget - this.peerCount));
      if (n > 0 && merge) {
        this.peerCount += this.#lists.merge(li, data, p, n);
        this.seedCount += this.#lists.seedsAdded;
      } else if (n > 0) {
        this.peerCount += n;
        this.seedCount += this.#lists.load(li, data, p, n);
      }
      p += total * RECORD_BYTES[f];
    }
    this.#syncEmpty(slot);
    return length;
  }
}
