import { strictEqual as assertEquals } from "node:assert/strict";
import {
  createSharedCounts,
  SharedCounts,
  sharedCountsBytes,
  WINDOW_SLOTS,
} from "./shared_counts.ts";

const KEY = new Uint8Array(16).fill(7);

Deno.test("shared counts: a key is capped, released and acquired again", () => {
  const t = new SharedCounts(createSharedCounts(100, KEY));
  assertEquals(t.acquire("1.2.3.4", 2), "ok");
  assertEquals(t.acquire("1.2.3.4", 2), "ok");
  assertEquals(t.acquire("1.2.3.4", 2), "max");
  assertEquals(t.acquire("1.2.3.5", 2), "ok");
  assertEquals(t.count("1.2.3.4"), 2);
  assertEquals(t.release("1.2.3.4"), true);
  assertEquals(t.acquire("1.2.3.4", 2), "ok");
  assertEquals(t.release("1.2.3.4"), true);
  assertEquals(t.release("1.2.3.4"), true);
  assertEquals(t.release("1.2.3.4"), false, "released more often than acquired");
  assertEquals(t.count("1.2.3.4"), 0);
  assertEquals(t.count("9.9.9.9"), 0);
});

Deno.test("shared counts: two views of one buffer see the same counts", () => {
  const buffer = createSharedCounts(100, KEY);
  const a = new SharedCounts(buffer), b = new SharedCounts(buffer);
  assertEquals(a.acquire("2001:db8:0:1::/64", 1), "ok");
  assertEquals(b.acquire("2001:db8:0:1::/64", 1), "max");
  a.release("2001:db8:0:1::/64");
  assertEquals(b.acquire("2001:db8:0:1::/64", 1), "ok");
});

Deno.test("shared counts: slots at zero are reused, so distinct keys over time never fill it", () => {
  const t = new SharedCounts(createSharedCounts(1000, KEY));
  for (let round = 0; round < 20; round++) {
    const keys = Array.from({ length: 1000 }, (_, i) => `${round}.${i >> 8}.${i & 255}.1`);
    for (const k of keys) assertEquals(t.acquire(k, 1), "ok", k);
    for (const k of keys) assertEquals(t.count(k), 1, k);
    for (const k of keys) assertEquals(t.release(k), true, k);
  }
});

Deno.test("shared counts: a key whose window is full is refused, never miscounted", () => {
  // The smallest table: 64 slots, so at most 64 keys live and windows overlap.
  const buffer = createSharedCounts(1, KEY);
  assertEquals(buffer.byteLength, sharedCountsBytes(1));
  const t = new SharedCounts(buffer);
  const live: string[] = [];
  let full = 0;
  for (let i = 0; i < 200; i++) {
    const k = `10.1.${i}.1`;
    const got = t.acquire(k, 5);
    if (got === "ok") live.push(k);
    else {
      assertEquals(got, "full");
      full++;
    }
  }
  assertEquals(live.length <= 64, true);
  assertEquals(full, 200 - live.length);
  assertEquals(full > 0, true);
  for (const k of live) assertEquals(t.count(k), 1, k);
  for (const k of live) t.release(k);
  assertEquals(t.acquire("10.1.0.1", 5), "ok");
  assertEquals(WINDOW_SLOTS, 32);
});

Deno.test("shared counts: workers acquiring and releasing at once never pass the cap", async () => {
  // 4 workers, 50 keys in a table sized for 40 live keys: claims, reuse and caps all race.
  const buffer = createSharedCounts(40, KEY);
  const max = 3;
  const results = await Promise.all(
    Array.from({ length: 4 }, () => {
      const worker = new Worker(new URL("./_test_shared_counts_worker.ts", import.meta.url), {
        type: "module",
      });
      return new Promise<Record<string, number>>((resolve, reject) => {
        worker.onmessage = (e) => {
          worker.terminate();
          resolve(e.data);
        };
        worker.onerror = (e) => {
          worker.terminate();
          reject(e);
        };
        worker.postMessage({ buffer, keys: 50, max, rounds: 200_000 });
      });
    }),
  );
  const t = new SharedCounts(buffer);
  for (const r of results) {
    assertEquals(r.overCap, 0);
    assertEquals(r.lost, 0);
    assertEquals(r.acquired > 10_000, true, `acquired ${r.acquired}`);
  }
  for (let i = 0; i < 50; i++) assertEquals(t.count(`10.0.${i}.1`), 0, `10.0.${i}.1`);
  // Every slot went back to zero: the table takes as many new keys as it was sized for.
  for (let i = 0; i < 40; i++) assertEquals(t.acquire(`10.9.${i}.1`, 1), "ok");
});
