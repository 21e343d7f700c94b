/**
 * A slab allocator for peer lists: blocks of 16·2^c bytes carved from 1 MiB pages, addressed by a
 * 32-bit handle, with a free list per size class.
 *
 * Why not one `Uint8Array` per list: a typed array costs ~150 bytes of object overhead, which at
 * 100,000 torrents of 1–2 peers (the common case) is more than the peers themselves. Here a
 * torrent's list costs its records plus up to 2× growth slack, like opentracker's vectors.
 *
 * Handle layout (u32): bits 31..20 page id, bits 19..0 byte offset within the page.
 * Blocks larger than a quarter page get a page of their own (offset 0), which is released to the
 * garbage collector when freed, so a swarm that shrinks gives its memory back.
 *
 * Must not import anything outside swarm/, types.ts and util/.
 */

import { LIMITS } from "../types.ts";
import { assert } from "../util/assert.ts";

const PAGE_BYTES = LIMITS.peerPageBytes;
const OFFSET_BITS = 20;
const OFFSET_MASK = (1 << OFFSET_BITS) - 1;
const SHARED_BLOCK_BYTES_MAX = PAGE_BYTES / 4;
const EMPTY_PAGE = new Uint8Array(0);

/** Bytes of a block of class `cls`. */
export function classBytes(cls: number): number {
  return 16 * 2 ** cls;
}

/** Smallest class whose blocks hold `bytes`. */
export function classFor(bytes: number): number {
  let cls = 0;
  while (classBytes(cls) < bytes) cls++;
  return cls;
}

/** Pages and free lists of peer-list blocks. */
export class BlockStore {
  /** Page by id; `EMPTY_PAGE` for a released dedicated page. Read directly on the hot path. */
  readonly pages: Uint8Array[] = [];
  #freePageIds: number[] = [];
  #free: Uint32Array[] = [];
  #freeCount: number[] = [];
  #bumpPage = -1;
  #bumpOffset = PAGE_BYTES;
  /** Bytes held in pages (for memory statistics). */
  bytesReserved = 0;

  /** Page of a handle. */
  page(handle: number): Uint8Array {
    return this.pages[handle >>> OFFSET_BITS];
  }

  /** Byte offset of a handle within its page. */
  offset(handle: number): number {
    return handle & OFFSET_MASK;
  }

  /** Allocates a block of class `cls`; its bytes are unspecified. Throws when out of page ids. */
  alloc(cls: number): number {
    const bytes = classBytes(cls);
    if (bytes > SHARED_BLOCK_BYTES_MAX) return this.#newPage(bytes) * (1 << OFFSET_BITS);
    const count = this.#freeCount[cls] ?? 0;
    if (count > 0) {
      this.#freeCount[cls] = count - 1;
      return this.#free[cls][count - 1];
    }
    if (this.#bumpOffset + bytes > PAGE_BYTES) {
      // Hand the tail of the old page to the free lists before starting a new one.
      this.#shred(this.#bumpPage, this.#bumpOffset);
      this.#bumpPage = this.#newPage(PAGE_BYTES);
      this.#bumpOffset = 0;
    }
    const handle = this.#bumpPage * (1 << OFFSET_BITS) + this.#bumpOffset;
    this.#bumpOffset += bytes;
    return handle;
  }

  /** Returns a block of class `cls` to the store. */
  free(handle: number, cls: number): void {
    if (classBytes(cls) > SHARED_BLOCK_BYTES_MAX) {
      const id = handle >>> OFFSET_BITS;
      this.bytesReserved -= this.pages[id].length;
      this.pages[id] = EMPTY_PAGE;
      this.#freePageIds.push(id);
      return;
    }
    this.#push(cls, handle);
  }

  #push(cls: number, handle: number): void {
    let list = this.#free[cls];
    const count = this.#freeCount[cls] ?? 0;
    if (list === undefined || count === list.length) {
      const grown = new Uint32Array(Math.max(64, count * 2));
      if (list !== undefined) grown.set(list);
      this.#free[cls] = list = grown;
    }
    list[count] = handle;
    this.#freeCount[cls] = count + 1;
  }

  #shred(pageId: number, from: number): void {
    if (pageId < 0) return;
    let off = from;
    for (let cls = classFor(SHARED_BLOCK_BYTES_MAX); cls >= 0; cls--) {
      const bytes = classBytes(cls);
      while (PAGE_BYTES - off >= bytes) {
        this.#push(cls, pageId * (1 << OFFSET_BITS) + off);
        off += bytes;
      }
    }
  }

  #newPage(bytes: number): number {
    const page = new Uint8Array(bytes);
    this.bytesReserved += bytes;
    const reused = this.#freePageIds.pop();
    if (reused !== undefined) {
      this.pages[reused] = page;
      return reused;
    }
    assert(this.pages.length < LIMITS.peerPagesMax, "peer store is out of page ids");
    this.pages.push(page);
    return this.pages.length - 1;
  }
}
