/**
 * Closed mode: a whitelist or blacklist of info_hashes plus the two FIFO changesets, with the
 * semantics opentracker intended (its code searches the wrong set and confuses bytes with
 * entries): a hash matches when it is in the list or was added through the add FIFO, unless it
 * was later sent to the delete FIFO. Whitelist: only matching hashes may announce. Blacklist:
 * matching hashes may not.
 *
 * The main list is replaced as a whole (SIGHUP reload), which also empties the changesets, as
 * opentracker assumes they were merged into the file. Pure and synchronous.
 */

import { HashSet20 } from "../swarm/hash_set.ts";

/** The set of the `count` hashes packed in `hashes` (20 bytes each). */
export function hashSetOf(hashes: Uint8Array, seed: Uint32Array): HashSet20 {
  const count = hashes.length / 20;
  const set = new HashSet20(seed, Math.max(16, count));
  for (let i = 0; i < count; i++) set.add(hashes, 20 * i);
  return set;
}

/** Access control for announces. */
export class AccessControl {
  readonly mode: "open" | "whitelist" | "blacklist";
  #main: HashSet20;
  readonly #added: HashSet20;
  readonly #deleted: HashSet20;

  constructor(mode: "open" | "whitelist" | "blacklist", main: HashSet20, seed: Uint32Array) {
    this.mode = mode;
    this.#main = main;
    this.#added = new HashSet20(seed);
    this.#deleted = new HashSet20(seed);
  }

  /** Hashes in the main list. */
  get listSize(): number {
    return this.#main.size;
  }

  /** True when announces for `h[o..o+20)` are allowed. */
  allowed(h: Uint8Array, o = 0): boolean {
    if (this.mode === "open") return true;
    const matched = (this.#main.has(h, o) || this.#added.has(h, o)) && !this.#deleted.has(h, o);
    return this.mode === "whitelist" ? matched : !matched;
  }

  /** Swaps in a freshly loaded list and empties the changesets. */
  replaceList(list: HashSet20): void {
    this.#main = list;
    this.#added.clear();
    this.#deleted.clear();
  }

  /** A hash written to the add FIFO. */
  fifoAdd(h: Uint8Array, o = 0): void {
    this.#deleted.delete(h, o);
    this.#added.add(h, o);
  }

  /** A hash written to the delete FIFO. */
  fifoDelete(h: Uint8Array, o = 0): void {
    this.#added.delete(h, o);
    this.#deleted.add(h, o);
  }
}
