/**
 * A set of 20-byte info_hashes (access lists and their changesets) on the shared keyed index,
 * so that its lookups resist hash flooding exactly like the torrent table's.
 *
 * Pure and synchronous.
 */

import { HashIndex20 } from "./hash_index.ts";

/** A growable set of 20-byte keys. */
export class HashSet20 {
  readonly #index: HashIndex20;

  /** `seed`: four 32-bit words from a CSPRNG. `expected`: keys to size for up front. */
  constructor(seed: Uint32Array, expected = 16) {
    this.#index = new HashIndex20(seed, expected);
  }

  /** Number of keys. */
  get size(): number {
    return this.#index.size;
  }

  /** Bytes held by the set's arrays. */
  get bytes(): number {
    return this.#index.bytes;
  }

  /** True when the set holds `h[o..o+20)`. */
  has(h: Uint8Array, o = 0): boolean {
    return this.#index.find(h, o) >= 0;
  }

  /** Adds `h[o..o+20)`; returns false when it was present already. */
  add(h: Uint8Array, o = 0): boolean {
    if (this.#index.find(h, o) >= 0) return false;
    this.#index.insert(h, o);
    return true;
  }

  /** Removes `h[o..o+20)`; returns false when it was absent. */
  delete(h: Uint8Array, o = 0): boolean {
    const slot = this.#index.find(h, o);
    if (slot < 0) return false;
    this.#index.remove(slot);
    return true;
  }

  /** Removes every key. */
  clear(): void {
    this.#index.clear();
  }
}
