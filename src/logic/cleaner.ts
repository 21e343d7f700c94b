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

/** Slices of the cleaning sweep. */
export class Cleaner {
  readonly #swarm: Swarm;
  readonly #woodpeckers: Woodpeckers;
  readonly #ticksPerSweep: number;

  constructor(swarm: Swarm, woodpeckers: Woodpeckers, options: CleanerOptions) {
    this.#swarm = swarm;
    this.#woodpeckers = woodpeckers;
    this.#ticksPerSweep = (options.sweepMinutes * 60_000) / options.tickMs;
  }

  /** Cleans the next slice (at least 64, at most {@link LIMITS.cleanSliceTorrents} torrents). */
  tick(nowSeconds: number): void {
    const swarm = this.#swarm;
    const slice = Math.min(
      LIMITS.cleanSliceTorrents,
      Math.max(64, Math.ceil(swarm.table.slotCount / this.#ticksPerSweep)),
    );
    if (swarm.cleanSlice(Math.floor(nowSeconds / 60), slice)) this.#woodpeckers.decay();
  }
}
