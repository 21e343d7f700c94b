/**
 * The torrent table: every torrent's slot (hash_index.ts), its two peer lists (peer_lists.ts;
 * IPv4 list `2·slot`, IPv6 list `2·slot + 1`), each list's downloads and base minute (its last
 * announce or cleaning; peer ages are relative to it), and the list of empty torrents in the
 * order they emptied (the eviction order at the torrent budget). It stores and cleans; the
 * tracker's rules (admission, announce, stop) are swarm.ts's.
 *
 * Pure and synchronous. Must not import anything outside swarm/, types.ts and util/.
 */

import { HashIndex20 } from "./hash_index.ts";
import { PeerLists, RECORD_BYTES } from "./peer_lists.ts";
import {
  readStateRecord,
  STATE_RECORD_HEAD_BYTES,
  StateRecordHead,
  writeStateRecordHead,
} from "./state_record.ts";

// The list of empty torrents: EMPTY_NONE ends it; NOT_EMPTY marks a torrent not in it.
const EMPTY_NONE = -1;
const NOT_EMPTY = -2;

/** Counts a torrent's scrape or announce reply carries. */
export interface TorrentCounts {
  seeders: number;
  leechers: number;
  downloaded: number;
}

/** Every torrent of one swarm. */
export class TorrentTable {
  readonly index: HashIndex20;
  readonly lists: PeerLists = new PeerLists();
  /** Per list (2·slot + family): completed downloads. */
  down: Uint32Array = new Uint32Array(0);
  /** Per list: the minute of the last announce or cleaning. */
  base: Uint32Array = new Uint32Array(0);
  #emptyPrev = new Int32Array(0);
  #emptyNext = new Int32Array(0);
  #emptyHead = EMPTY_NONE;
  #emptyTail = EMPTY_NONE;
  readonly #head: StateRecordHead = { downloaded: 0, base4: 0, base6: 0, n4: 0, n6: 0 };

  /** Peers held, both families, seeders included. */
  peerCount = 0;
  /** Seeders held, both families. */
  seedCount = 0;
  /** Torrents without peers (kept for their downloads, or not cleaned yet). */
  emptyCount = 0;

  constructor(seed: Uint32Array, initialTorrents: number) {
    this.index = new HashIndex20(seed, initialTorrents, (cap) => this.#grow(cap));
    this.#grow(this.index.capacity);
  }

  #grow(capacity: number): void {
    const copy = <T extends Uint32Array | Int32Array>(old: T, size: number): T => {
      const next = new (old.constructor as { new (n: number): T })(size);
      next.set(old as unknown as ArrayLike<number>);
      return next;
    };
    this.down = copy(this.down, capacity * 2);
    this.base = copy(this.base, capacity * 2);
    this.#emptyPrev = copy(this.#emptyPrev, capacity);
    this.#emptyNext = copy(this.#emptyNext, capacity);
    this.lists.grow(capacity * 2);
  }

  /** Torrents held. */
  get size(): number {
    return this.index.size;
  }

  /** Slot of the torrent `h[o..o+20)`, or -1. */
  find(h: Uint8Array, o = 0): number {
    return this.index.find(h, o);
  }

  /** Creates the torrent `h[o..o+20)` (absent) with both lists based at `nowMinutes`. */
  create(h: Uint8Array, o: number, nowMinutes: number): number {
    const slot = this.index.insert(h, o);
    this.#emptyPrev[slot] = NOT_EMPTY;
    for (let li = 2 * slot; li < 2 * slot + 2; li++) {
      this.lists.reset(li);
      this.down[li] = 0;
      this.base[li] = nowMinutes;
    }
    this.syncEmpty(slot);
    return slot;
  }

  /** Removes the torrent of `slot` with its peers. */
  delete(slot: number): void {
    if (this.#emptyPrev[slot] !== NOT_EMPTY) this.#unlinkEmpty(slot);
    for (let li = 2 * slot; li < 2 * slot + 2; li++) {
      this.peerCount -= this.lists.count(li);
      this.seedCount -= this.lists.seeds(li);
      this.lists.free(li);
    }
    this.index.remove(slot);
  }

  /** Puts `slot` on the empty list when it has no peers, takes it off when it has. */
  syncEmpty(slot: number): void {
    const empty = this.lists.count(2 * slot) + this.lists.count(2 * slot + 1) === 0;
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
    this.emptyCount++;
  }

  #unlinkEmpty(slot: number): void {
    const prev = this.#emptyPrev[slot];
    const next = this.#emptyNext[slot];
    if (prev === EMPTY_NONE) this.#emptyHead = next;
    else this.#emptyNext[prev] = next;
    if (next === EMPTY_NONE) this.#emptyTail = prev;
    else this.#emptyPrev[next] = prev;
    this.#emptyPrev[slot] = NOT_EMPTY;
    this.emptyCount--;
  }

  /** The torrent that has been empty the longest, or -1 when none is empty. */
  get oldestEmpty(): number {
    return this.#emptyHead;
  }

  /** Writes the counts of `slot` into `out`. */
  fillCounts(slot: number, out: TorrentCounts): void {
    const i = 2 * slot;
    const seeds = this.lists.seeds(i) + this.lists.seeds(i + 1);
    out.seeders = seeds;
    out.leechers = this.lists.count(i) + this.lists.count(i + 1) - seeds;
    out.downloaded = this.down[i] + this.down[i + 1];
  }

  /**
   * Ages list `li` to `now` and drops peers past `peerTimeout`. Returns true when the list votes
   * to remove its torrent (empty past the peer timeout without downloads, or idle past the
   * torrent timeout); a torrent goes when both of its lists vote so.
   */
  #cleanList(li: number, now: number, peerTimeout: number, torrentTimeout: number): boolean {
    let timedOut = now - this.base[li];
    if (timedOut <= 0) return false;
    if (timedOut > torrentTimeout) return true;
    const n = this.lists.count(li);
    if (timedOut > peerTimeout) {
      if (n === 0) return this.down[li] === 0;
      timedOut = peerTimeout;
    }
    if (n > 0) {
      this.peerCount -= this.lists.expire(li, timedOut, peerTimeout);
      this.seedCount -= this.lists.seedsDropped;
    }
    // An emptied list pretends its last touch was one peer timeout ago, as opentracker's does.
    this.base[li] = this.lists.count(li) > 0 ? now : now - peerTimeout;
    return false;
  }

  /**
   * Cleans both lists of `slot` and moves those that sit in pages being evacuated; returns true
   * when the torrent should go.
   */
  clean(slot: number, now: number, peerTimeout: number, torrentTimeout: number): boolean {
    const a = this.#cleanList(2 * slot, now, peerTimeout, torrentTimeout);
    const b = this.#cleanList(2 * slot + 1, now, peerTimeout, torrentTimeout);
    this.syncEmpty(slot);
    this.lists.relocateIfEvacuating(2 * slot);
    this.lists.relocateIfEvacuating(2 * slot + 1);
    return a && b;
  }

  // ---------------------------------------------------------------- scans

  /**
   * Visits up to `maxSlots` slots from `from` on, calling `fn` for each torrent with its hash
   * (`hashes[off..off+20)`, valid during the call) and counts. Returns the slot to continue
   * from, or -1 when every slot was visited. The sliced scans yield to the event loop between
   * calls; torrents created or removed meanwhile are seen or not.
   */
  visit(
    from: number,
    maxSlots: number,
    fn: (slot: number, hashes: Uint8Array, off: number, seeders: number, leechers: number) => void,
  ): number {
    const end = Math.min(this.index.slotCount, from + maxSlots);
    const hashes = this.index.keys;
    for (let slot = from; slot < end; slot++) {
      if (!this.index.used(slot)) continue;
      const i = 2 * slot;
      const seeds = this.lists.seeds(i) + this.lists.seeds(i + 1);
      fn(slot, hashes, slot * 20, seeds, this.lists.count(i) + this.lists.count(i + 1) - seeds);
    }
    return end >= this.index.slotCount ? -1 : end;
  }

  /** The hash bytes of all slots (`slot * 20`); valid until the table grows. */
  get hashes(): Uint8Array {
    return this.index.keys;
  }

  /** True when `slot` holds a torrent. */
  slotUsed(slot: number): boolean {
    return this.index.used(slot);
  }

  /** Slots in use or free below the high-water mark: the size of one full sweep. */
  get slotCount(): number {
    return this.index.slotCount;
  }

  /**
   * Counts of `slot` and the base of its IPv6 list in minutes (what opentracker's statedump
   * writes), or false when the slot is free.
   */
  slotEntry(slot: number, out: TorrentCounts & { baseMinutes: number }): boolean {
    if (!this.index.used(slot)) return false;
    this.fillCounts(slot, out);
    out.baseMinutes = this.base[2 * slot + 1];
    return true;
  }

  /** Peers of `slot` in family `f` (0: IPv4, 1: IPv6). */
  familyCount(slot: number, f: number): number {
    return this.lists.count(2 * slot + f);
  }

  /** Calls `fn` with the IPv4 address (big-endian u32) of every IPv4 peer of `slot`. */
  visitPeers4(slot: number, fn: (ip: number) => void): void {
    this.lists.forEachIpv4(2 * slot, fn);
  }

  // ---------------------------------------------------------------- persistence

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
    head.downloaded = this.down[2 * slot] + this.down[2 * slot + 1];
    head.base4 = this.base[2 * slot];
    head.base6 = this.base[2 * slot + 1];
    head.n4 = range.n4;
    head.n6 = range.n6;
    off = writeStateRecordHead(out, off, this.index.keys, slot * 20, head);
    off = this.lists.copyRecords(2 * slot, range.a4, range.n4, out, off);
    return this.lists.copyRecords(2 * slot + 1, range.a6, range.n6, out, off);
  }

  /**
   * Restores a state record from `data[off..end)`. The first record of a torrent creates it,
   * when `mayCreate()` allows; a further record adds its peers (duplicates skipped). At most
   * `peersMax` peers are taken. Returns the record's length, or -1 when it is malformed.
   */
  importRecord(
    data: Uint8Array,
    off: number,
    end: number,
    limits: { mayCreate: () => boolean; peersMax: number },
  ): number {
    const head = this.#head;
    const length = readStateRecord(data, off, end, head);
    if (length < 0) return -1;
    let slot = this.index.find(data, off);
    const merge = slot >= 0;
    if (!merge) {
      if (!limits.mayCreate()) return length;
      slot = this.create(data, off, head.base4);
      this.base[2 * slot + 1] = head.base6;
      this.down[2 * slot] = head.downloaded;
    }
    let p = off + STATE_RECORD_HEAD_BYTES;
    let room = limits.peersMax;
    for (let f = 0; f < 2; f++) {
      const li = 2 * slot + f;
      const total = f === 0 ? head.n4 : head.n6;
      const n = Math.min(total, Math.max(0, room));
      if (n > 0 && merge) {
        const added = this.lists.merge(li, data, p, n);
        this.peerCount += added;
        this.seedCount += this.lists.seedsAdded;
        room -= added;
      } else if (n > 0) {
        this.peerCount += n;
        this.seedCount += this.lists.load(li, data, p, n);
        room -= n;
      }
      p += total * RECORD_BYTES[f];
    }
    this.syncEmpty(slot);
    return length;
  }
}
