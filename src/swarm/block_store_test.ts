import { notStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { LIMITS } from "../types.ts";
import { BlockStore, classBytes, classFor } from "./block_store.ts";

const PAGE = LIMITS.peerPageBytes;

Deno.test("classFor() picks the smallest class that holds the bytes", () => {
  strictEqual(classBytes(0), 16);
  strictEqual(classFor(1), 0);
  strictEqual(classFor(16), 0);
  strictEqual(classFor(17), 1);
  strictEqual(classFor(18 * 3), 2);
  for (let b = 1; b < 5000; b += 37) {
    const c = classFor(b);
    ok(classBytes(c) >= b && (c === 0 || classBytes(c - 1) < b));
  }
});

Deno.test("BlockStore hands out disjoint blocks and reuses freed ones", () => {
  const s = new BlockStore();
  const handles = Array.from({ length: 100 }, () => s.alloc(2));
  // Write a distinct byte pattern in each block and read it back: no two blocks overlap.
  handles.forEach((h, i) => s.page(h).fill(i, s.offset(h), s.offset(h) + classBytes(2)));
  handles.forEach((h, i) => {
    const p = s.page(h);
    for (let j = 0; j < classBytes(2); j++) strictEqual(p[s.offset(h) + j], i);
  });
  strictEqual(s.bytesLive, 100 * classBytes(2));
  s.free(handles[7], 2);
  strictEqual(s.bytesLive, 99 * classBytes(2));
  strictEqual(s.alloc(2), handles[7]);
});

Deno.test("BlockStore gives large blocks their own page and releases it when freed", () => {
  const s = new BlockStore();
  const cls = classFor(PAGE / 2);
  const h = s.alloc(cls);
  strictEqual(s.offset(h), 0);
  strictEqual(s.page(h).length, classBytes(cls));
  const reserved = s.bytesReserved;
  s.free(h, cls);
  strictEqual(s.bytesReserved, reserved - classBytes(cls));
  strictEqual(s.page(h).length, 0);
  // The page id is reused.
  const again = s.alloc(cls);
  strictEqual(again >>> 20, h >>> 20);
});

Deno.test("BlockStore evacuates sparse shared pages and releases them once empty", () => {
  const s = new BlockStore();
  const cls = 4; // 256-byte blocks: 4096 per page
  const perPage = PAGE / classBytes(cls);
  const handles = Array.from({ length: perPage * 6 }, () => s.alloc(cls));
  strictEqual(s.startEvacuation(), 0, "all pages full: nothing to do");
  // Free 7 of 8 blocks everywhere: every shared page is sparse.
  const kept = handles.filter((_, i) => i % 8 === 0);
  handles.forEach((h, i) => {
    if (i % 8 !== 0) s.free(h, cls);
  });
  const marked = s.startEvacuation();
  ok(marked >= 6, `marked ${marked}`);
  ok(kept.every((h) => s.isEvacuating(h)));
  // New blocks never land in an evacuating page.
  const fresh = s.alloc(cls);
  strictEqual(s.isEvacuating(fresh), false);
  const before = s.bytesReserved;
  // Move every kept block (what the swarm does while cleaning): pages are released as they empty.
  for (const h of kept) {
    const moved = s.alloc(cls);
    notStrictEqual(moved, h);
    s.free(h, cls);
  }
  ok(s.bytesReserved < before, `${s.bytesReserved} < ${before}`);
  strictEqual(s.bytesLive, (kept.length + 1) * classBytes(cls));
});

Deno.test("BlockStore refuses to grow past the 12-bit page ids of a handle", () => {
  const s = new BlockStore();
  ok(LIMITS.peerPagesMax < 4096);
  // Reserving 4095 real pages would take 4 GiB; stand in empty pages for all but the first.
  const first = s.alloc(classFor(PAGE));
  strictEqual(first >>> 20, 0);
  while (s.pages.length < LIMITS.peerPagesMax) s.pages.push(new Uint8Array(0));
  throws(() => s.alloc(classFor(PAGE)), /out of page ids/);
  // Freeing a page makes its id available again.
  s.free(first, classFor(PAGE));
  strictEqual(s.alloc(classFor(PAGE)) >>> 20, 0);
});
