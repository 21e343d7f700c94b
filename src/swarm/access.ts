/**
 * Closed mode (§5): a whitelist or blacklist of info_hashes plus the two FIFO changesets, with
 * the intended semantics of §5.3 rather than opentracker's buggy ones: a hash matches when it is
 * in the list or was added through the add FIFO, unless it was later sent to the delete FIFO.
 * Whitelist: only matching hashes may announce. Blacklist: matching hashes may not.
 *
 * The main list is replaced as a whole (SIGHUP reload), which also empties the changesets, as
 * opentracker assumes they were merged into the file. Pure and synchronous.
 */

import { HashSet20 } from "./hash_set.ts";

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
