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
  /** Bytes of live blocks per shared page, and which pages are shared or being evacuated. */
  #live: number[] = [];
  #shared: boolean[] = [];
  #evacuating: boolean[] = [];
  /** Bytes held in pages (for memory statistics). */
  bytesReserved = 0;
  /** Bytes of live blocks in shared pages. */
  bytesLive = 0;
  /** Bytes held by shared pages. */
  bytesShared = 0;
  /** Pages being evacuated now. */
  evacuatingPages = 0;

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
    this.bytesLive += bytes;
    const count = this.#freeCount[cls] ?? 0;
    if (count > 0) {
      this.#freeCount[cls] = count - 1;
      const handle = this.#free[cls][count - 1];
      this.#live[handle >>> OFFSET_BITS] += bytes;
      return handle;
    }
    if (this.#bumpOffset + bytes > PAGE_BYTES) {
      // Hand the tail of the old page to the free lists before starting a new one.
      this.#shred(this.#bumpPage, this.#bumpOffset);
      this.#bumpPage = this.#newPage(PAGE_BYTES, true);
      this.#bumpOffset = 0;
    }
    const handle = this.#bumpPage * (1 << OFFSET_BITS) + this.#bumpOffset;
    this.#bumpOffset += bytes;
    this.#live[this.#bumpPage] += bytes;
    return handle;
  }

  /** Returns a block of class `cls` to the store. */
  free(handle: number, cls: number): void {
    const id = handle >>> OFFSET_BITS;
    const bytes = classBytes(cls);
    if (bytes > SHARED_BLOCK_BYTES_MAX) {
      this.#release(id);
      return;
    }
    this.bytesLive -= bytes;
    this.#live[id] -= bytes;
    if (!this.#evacuating[id]) this.#push(cls, handle);
    else if (this.#live[id] === 0) this.#release(id);
  }

  /** True when the block of `handle` lies in a page being evacuated: move it. */
  isEvacuating(handle: number): boolean {
    return this.#evacuating[handle >>> OFFSET_BITS] === true;
  }

  /**
   * Starts evacuating the sparse shared pages (less than 3/4 live) when at least a quarter of
   * the shared bytes are dead and there are more than a few pages: blocks left behind by lists that
   * grew sit in the free lists when no new small list needs them. Evacuating pages get no new
   * blocks; the swarm moves the lists they hold as it visits them (one cleaning sweep), and each
   * page is released as soon as its last block leaves. Returns the number of pages marked.
   */
  startEvacuation(): number {
    if (this.bytesShared < 4 * PAGE_BYTES || this.bytesLive * 4 > this.bytesShared * 3) return 0;
    let marked = 0;
    for (let id = 0; id < this.pages.length; id++) {
      if (!this.#shared[id] || this.#evacuating[id] || this.#live[id] * 4 >= PAGE_BYTES * 3) {
        continue;
      }
      this.#evacuating[id] = true;
      this.evacuatingPages++;
      marked++;
    }
    if (marked === 0) return 0;
    // Their free blocks must never be handed out again.
    for (let cls = 0; cls < this.#free.length; cls++) {
      const list = this.#free[cls];
      if (list === undefined) continue;
      let kept = 0;
      const n = this.#freeCount[cls] ?? 0;
      for (let i = 0; i < n; i++) {
        if (!this.#evacuating[list[i] >>> OFFSET_BITS]) list[kept++] = list[i];
      }
      this.#freeCount[cls] = kept;
    }
    if (this.#bumpPage >= 0 && this.#evacuating[this.#bumpPage]) {
      this.#bumpPage = -1;
      this.#bumpOffset = PAGE_BYTES;
    }
    for (let id = 0; id < this.pages.length; id++) {
      if (this.#evacuating[id] && this.#live[id] === 0) this.#release(id);
    }
    return marked;
  }

  #release(id: number): void {
    if (this.#evacuating[id]) this.evacuatingPages--;
    const bytes = this.pages[id].length;
    this.bytesReserved -= bytes;
    if (this.#shared[id]) this.bytesShared -= bytes;
    this.pages[id] = EMPTY_PAGE;
    this.#shared[id] = false;
    this.#evacuating[id] = false;
    this.#live[id] = 0;
    this.#freePageIds.push(id);
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

  #newPage(bytes: number, shared = false): number {
    const page = new Uint8Array(bytes);
    this.bytesReserved += bytes;
    if (shared) this.bytesShared += bytes;
    let id = this.#freePageIds.pop();
    if (id === undefined) {
      assert(this.pages.length < LIMITS.peerPagesMax, "peer store is out of page ids");
      id = this.pages.length;
      this.pages.push(page);
    } else {
      this.pages[id] = page;
    }
    this.#shared[id] = shared;
    this.#evacuating[id] = false;
    this.#live[id] = 0;
    return id;
  }
}
