/**
 * Incremental cleaning: every torrent is cleaned (peers past the timeout dropped, dead torrents
 * removed) once per sweep, a slice per tick, so that no tick stalls announces. After each full
 * sweep the woodpecker counts decay, as opentracker's cleaner thread does.
 */

import { LIMITS } from "../types.ts";
import { Woodpeckers } from "../stats/woodpeckers.ts";
import { Swarm } from "../swarm/swarm.ts";

/** Options for {@link Cleaner}. */
export interface CleanerOptions {
  /** Minutes one sweep over all torrents takes (opentracker: 2). */
  sweepMinutes: number;
  /** Milliseconds between two ticks. */
  tickMs: number;
}

/** Ticks without a change of the peer store's pages after which its sparse pages are emptied. */
export const QUIET_TICKS_EVACUATION = 40;
/** How much bigger a slice is while pages are being evacuated (their lists moved out). */
export const EVACUATION_SPEEDUP = 8;

/** Slices of the cleaning sweep. */
export class Cleaner {
  readonly #swarm: Swarm;
  readonly #woodpeckers: Woodpeckers;
  readonly #ticksPerSweep: number;
  #lastReserved = -1;
  #quietTicks = 0;

  constructor(swarm: Swarm, woodpeckers: Woodpeckers, options: CleanerOptions) {
    this.#swarm = swarm;
    this.#woodpeckers = woodpeckers;
    this.#ticksPerSweep = (options.sweepMinutes * 60_000) / options.tickMs;
    this.#lastReserved = swarm.table.lists.store.bytesReserved;
  }

  /**
   * Cleans the next slice (at least 64, at most {@link LIMITS.cleanSliceTorrents} torrents).
   *
   * Memory: once the peer store has neither grown nor shrunk for {@link QUIET_TICKS_EVACUATION}
   * ticks (a burst of announces is over), its sparse pages are marked for evacuation at once
   * rather than at the end of the sweep, and while pages are evacuating the slices are
   * {@link EVACUATION_SPEEDUP} times larger, so that the lists leave them (and the pages go back)
   * within seconds instead of a sweep or two.
   */
  tick(nowSeconds: number): void {
    const swarm = this.#swarm;
    const store = swarm.table.lists.store;
    if (store.bytesReserved !== this.#lastReserved) {
      this.#lastReserved = store.bytesReserved;
      this.#quietTicks = 0;
    } else if (++this.#quietTicks === QUIET_TICKS_EVACUATION && store.evacuatingPages === 0) {
      store.startEvacuation();
    }
    const speedup = store.evacuatingPages > 0 ? EVACUATION_SPEEDUP : 1;
    const slice = Math.min(
      LIMITS.cleanSliceTorrents,
      Math.max(64, Math.ceil(swarm.table.slotCount / this.#ticksPerSweep)) * speedup,
    );
    if (swarm.cleanSlice(Math.floor(nowSeconds / 60), slice)) this.#woodpeckers.decay();
  }
}
