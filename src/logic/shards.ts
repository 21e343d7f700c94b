/**
 * Which worker owns a torrent when the tracker runs several (`tracker.workers`): a keyed hash of
 * the info_hash, so the split is even for any set of torrents and nobody can choose info_hashes
 * that pile onto one worker. Its seed must differ from the torrent table's: that table places
 * keys by the low bits of the same kind of hash, and a shard whose keys all share those bits
 * would use a fraction of its slots.
 *
 * Pure. Every worker builds the same map from the same seed.
 */

import { hash20 } from "../swarm/hash20.ts";

/** Owner of each info_hash among `count` shards. */
export class ShardMap {
  readonly #seed: Uint32Array;

  constructor(seed: Uint32Array, readonly count: number) {
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`shard count ${count}`);
    this.#seed = seed;
  }

  /** The shard (0 .. count-1) owning the info_hash `h[o..o+20)`. */
  of(h: Uint8Array, o = 0): number {
    if (this.count === 1) return 0;
    // Multiply-shift: the high bits of the product spread the hash over the shards evenly.
    return Math.floor((hash20(this.#seed, h, o) * this.count) / 4294967296);
  }
}
