/**
 * The expensive stats (`top10`, `top100`, `s24s`, and the torrent count of `everything`) need
 * every torrent. A scan visits the swarm in slices of a few thousand torrents and yields to
 * the event loop between slices, so announces keep flowing (opentracker's stats worker holds a
 * bucket lock per bucket instead). Its result is cached for a few seconds: a client hammering
 * `mode=everything` costs one scan per cache period, not one per request.
 */

import { ScanPart, Snapshot, snapshotOf, TOP_ENTRIES } from "../stats/snapshot.ts";
import { Swarm } from "../swarm/swarm.ts";
import { toHex } from "../util/hex.ts";

/** Options for {@link StatsScanner}. */
export interface StatsScannerOptions {
  /** Torrents per slice. Default 4096. */
  sliceTorrents?: number;
  /** How long a snapshot is served before a new scan. Default 5 s. */
  maxAgeSeconds?: number;
  /** Seconds since the epoch. */
  clock: () => number;
}

const TOP = TOP_ENTRIES;

/** A top-N list kept sorted by count descending, ties by hash ascending (UP-2024 order). */
class Top {
  readonly entries: { count: number; hex: string }[] = [];

  offer(count: number, hashes: Uint8Array, off: number): void {
    if (count === 0) return;
    const e = this.entries;
    if (e.length === TOP && count < e[TOP - 1].count) return;
    const hex = toHex(hashes, off, 20, true);
    let i = e.length;
    while (i > 0 && (e[i - 1].count < count || (e[i - 1].count === count && e[i - 1].hex > hex))) {
      i--;
    }
    if (i >= TOP) return;
    e.splice(i, 0, { count, hex });
    if (e.length > TOP) e.pop();
  }
}

/** Runs and caches scans of one swarm. */
export class StatsScanner {
  readonly #swarm: Swarm;
  readonly #slice: number;
  readonly #maxAge: number;
  readonly #clock: () => number;
  #cache: ScanPart | null = null;
  #running: Promise<ScanPart> | null = null;
  /** Completed scans (for tests and metrics). */
  scans = 0;

  constructor(swarm: Swarm, options: StatsScannerOptions) {
    this.#swarm = swarm;
    this.#slice = options.sliceTorrents ?? 4096;
    this.#maxAge = options.maxAgeSeconds ?? 5;
    this.#clock = options.clock;
  }

  /** A snapshot at most maxAgeSeconds old; starts (or joins) a scan when needed. */
  async snapshot(): Promise<Snapshot> {
    const part = await this.part();
    // The same snapshot object for the same scan: the top-network cut is made once.
    if (this.#cut?.part !== part) this.#cut = { part, snap: snapshotOf(part) };
    return this.#cut.snap;
  }

  #cut: { part: ScanPart; snap: Snapshot } | null = null;

  /** The scan behind {@link snapshot}, with every network (merged across workers). */
  part(): Promise<ScanPart> {
    const c = this.#cache;
    if (c !== null && this.#clock() - c.at < this.#maxAge) return Promise.resolve(c);
    this.#running ??= this.#scan().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async #scan(): Promise<ScanPart> {
    const swarm = this.#swarm;
    const peers = new Top();
    const seeds = new Top();
    const leechers = new Top();
    const n28 = new Map<number, number>();
    const n24 = new Map<number, number>();
    let torrents = 0;
    const countNet = (ip: number) => {
      const k28 = (ip & 0xfffffff0) >>> 0;
      const k24 = (ip & 0xffffff00) >>> 0;
      n28.set(k28, (n28.get(k28) ?? 0) + 1);
      n24.set(k24, (n24.get(k24) ?? 0) + 1);
    };
    const onTorrent = (slot: number, hashes: Uint8Array, off: number, s: number, l: number) => {
      torrents++;
      peers.offer(s + l, hashes, off);
      seeds.offer(s, hashes, off);
      leechers.offer(l, hashes, off);
      swarm.table.visitPeers4(slot, countNet);
    };
    let next = 0;
    while (next >= 0) {
      next = swarm.table.visit(next, this.#slice, onTorrent);
      if (next >= 0) await new Promise((r) => setTimeout(r, 0));
    }
    const snap: ScanPart = {
      at: this.#clock(),
      torrents,
      topPeers: peers.entries,
      topSeeds: seeds.entries,
      topLeechers: leechers.entries,
      nets28: [...n28],
      nets24: [...n24],
    };
    this.#cache = snap;
    this.scans++;
    return snap;
  }
}
