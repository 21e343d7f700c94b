/**
 * The swarm: the tracker's rules over the torrent table (torrent_table.ts) and admission
 * (admission.ts): announce, stop, scrape, the cleaning sweep, the torrent budget's evictions.
 *
 * Synchronous and free of I/O: time comes in as `nowMinutes`, randomness from an injected PRNG.
 * Functions never await, which is the whole concurrency model: one announce runs to completion
 * before the next starts, so there are no locks and the counters are exact.
 *
 * Must not import protocol/ or server/, nor use Deno APIs, Date or Math.random.
 */

import { AnnounceRequest, DEFAULTS, LIMITS, PEER_FLAG, requestFlags } from "../types.ts";
import { assert } from "../util/assert.ts";
import { Prng } from "../util/random.ts";
import { Admission } from "./admission.ts";
import { AnnounceResult, REPLY, ScrapeCounts } from "./announce_result.ts";
import { RECORD_BYTES, splitAmount } from "./peer_lists.ts";
import { TorrentTable } from "./torrent_table.ts";

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

/** All torrents and peers of one tracker process. */
export class Swarm {
  /** The torrents, for scans and persistence (the frontends never see the swarm). */
  readonly table: TorrentTable;
  readonly #admission: Admission;
  readonly #prng: Prng;
  readonly #peerTimeout: number;
  readonly #torrentTimeout: number;
  readonly #split = new Int32Array(2);
  #cleanCursor = 0;

  /** New peers refused by a budget or the per-torrent cap (renewals are never refused). */
  refusedPeers = 0;
  /** New torrents refused at the torrent budget (no empty torrent to evict). */
  refusedTorrents = 0;
  /** Empty torrents evicted to make room at the torrent budget. */
  evictedTorrents = 0;
  /** New peers admitted on probation. */
  probationPeers = 0;

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
    this.table = new TorrentTable(options.hashSeed, Math.max(16, options.initialTorrents ?? 1024));
  }

  /** Torrents held. */
  get torrentCount(): number {
    return this.table.size;
  }

  /** Peers held, both families, seeders included. */
  get peerCount(): number {
    return this.table.peerCount;
  }

  /** Seeders held, both families. */
  get seedCount(): number {
    return this.table.seedCount;
  }

  /** Torrents without peers (kept for their downloads, or not cleaned yet). */
  get emptyTorrents(): number {
    return this.table.emptyCount;
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
    return this.table.lists.store.bytesReserved;
  }

  /** Bytes of live peer-list blocks. */
  get peerStoreLiveBytes(): number {
    return this.table.lists.store.bytesLive;
  }

  /** Slot of the torrent `h[o..o+20)`, or -1. */
  find(h: Uint8Array, o = 0): number {
    return this.table.find(h, o);
  }

  /**
   * Whether one more torrent may be created: below the torrent budget, or after evicting the
   * torrent that has been empty the longest. Counts a refusal.
   */
  #roomForTorrent(): boolean {
    if (this.table.size < this.#admission.torrentBudget) return true;
    const oldest = this.table.oldestEmpty;
    if (oldest < 0) {
      this.refusedTorrents++;
      return false;
    }
    this.table.delete(oldest);
    this.evictedTorrents++;
    return true;
  }

  #clean(slot: number, now: number): boolean {
    return this.table.clean(slot, now, this.#peerTimeout, this.#torrentTimeout);
  }

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
    const table = this.table;
    const lists = table.lists;
    let slot = table.find(req.infoHash, 0);
    const created = slot < 0;
    if (created) {
      // A refused peer of an unknown torrent creates nothing: a flood of random info_hashes
      // grows neither the peer store nor the torrent table past their budgets.
      if (!this.#admission.admitPeer(0, table.peerCount) || !this.#roomForTorrent()) {
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
      slot = table.create(req.infoHash, 0, nowMinutes);
    } else {
      this.#clean(slot, nowMinutes);
    }
    table.base[2 * slot] = nowMinutes;
    table.base[2 * slot + 1] = nowMinutes;
    out.slot = slot;

    const f = lists.setKey(req.ip, req.port);
    const li = 2 * slot + f;
    let flags = requestFlags(req);
    const at = lists.search(li);
    const swarmPeers = lists.count(2 * slot) + lists.count(2 * slot + 1);
    if (at < 0 && !this.#admission.admitPeer(swarmPeers, table.peerCount)) {
      // Refused: the reply is normal, nothing is stored (renewals never get here).
      this.refusedPeers++;
      out.refused = true;
    } else if (at < 0) {
      if (fromSync) flags |= PEER_FLAG.fromSync;
      // Above a watermark a new peer must renew soon to keep its place.
      const age = this.#admission.startAge(created, table.peerCount, table.size);
      if (age > 0) flags |= PEER_FLAG.probation;
      if (lists.insert(li, -at - 1, flags, age)) {
        out.isNewPeer = true;
        out.probation = age > 0;
        if (age > 0) this.probationPeers++;
        table.peerCount++;
        // A completion counts only for a peer the tracker held before it: a stranger's
        // "completed" on a random info_hash would otherwise pin that torrent for a day.
        if (flags & PEER_FLAG.seeding) {
          lists.addSeeds(li, 1);
          table.seedCount++;
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
        table.seedCount += d;
      }
      if (old & PEER_FLAG.completed) flags |= PEER_FLAG.completed;
      else if (flags & PEER_FLAG.completed) {
        table.down[li]++;
        out.completed = true;
      }
      page[p] = flags;
      page[p + 1] = 0;
    }
    table.syncEmpty(slot);
    out.familyPeers = lists.count(li);
    table.fillCounts(slot, out);
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
    const amount = f === 0 ? r.n4 : r.n6;
    return this.table.lists.select(2 * r.slot + f, amount, dst, off, this.#prng);
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
    const table = this.table;
    const f = table.lists.setKey(req.ip, req.port);
    const slot = table.find(req.infoHash, 0);
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
    const at = table.lists.search(li);
    if (at >= 0) {
      if (table.lists.flags(li, at) & PEER_FLAG.seeding) table.seedCount--;
      table.lists.removeAt(li, at);
      table.peerCount--;
      out.removed = true;
      table.syncEmpty(slot);
    }
    out.familyPeers = table.lists.count(li);
    table.fillCounts(slot, out);
  }

  /**
   * Counts of torrent `h[o..o+20)` after cleaning it; false when unknown (or removed by the
   * cleaning).
   */
  scrape(h: Uint8Array, o: number, nowMinutes: number, out: ScrapeCounts): boolean {
    const slot = this.table.find(h, o);
    if (slot < 0) return false;
    if (this.#clean(slot, nowMinutes)) {
      this.table.delete(slot);
      return false;
    }
    this.table.fillCounts(slot, out);
    return true;
  }

  /**
   * Cleans up to `maxTorrents` torrents from where the last call stopped and removes the dead
   * ones. Returns true when the call finished a sweep over all torrents.
   */
  cleanSlice(nowMinutes: number, maxTorrents: number): boolean {
    const table = this.table;
    let visited = 0;
    while (visited < maxTorrents) {
      if (this.#cleanCursor >= table.slotCount) {
        this.#cleanCursor = 0;
        // A sweep ended: the next one moves the lists out of sparse pages, if any.
        table.lists.store.startEvacuation();
        return true;
      }
      const slot = this.#cleanCursor++;
      if (!table.slotUsed(slot)) continue;
      visited++;
      if (this.#clean(slot, nowMinutes)) table.delete(slot);
    }
    return false;
  }

  /**
   * Restores a torrent from an opentracker statedump line: created with `baseMinutes` on both
   * lists and `downloaded` counted once (opentracker writes it to both families and so doubles
   * it on every restore). Returns false when the torrent exists already (it is left alone) or
   * the torrent budget is full.
   */
  restoreTorrent(h: Uint8Array, o: number, baseMinutes: number, downloaded: number): boolean {
    if (this.table.find(h, o) >= 0 || !this.#roomForTorrent()) return false;
    const slot = this.table.create(h, o, baseMinutes);
    this.table.down[2 * slot] = Math.min(downloaded, 0xffffffff);
    return true;
  }

  /**
   * Restores a state record from `data[off..end)`, peers included, within both budgets.
   * Returns the record's length, or -1 when it is malformed.
   */
  importRecord(data: Uint8Array, off: number, end: number): number {
    return this.table.importRecord(data, off, end, {
      mayCreate: () => this.#roomForTorrent(),
      peersMax: this.#admission.peerBudget - this.table.peerCount,
    });
  }
}
