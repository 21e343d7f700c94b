import { ok, strictEqual } from "node:assert/strict";
import { Prng } from "../util/random.ts";
import { HashIndex20 } from "./hash_index.ts";

const seed = new Uint32Array([1, 2, 3, 4]);

function randomKeys(n: number, prng: Prng): Uint8Array {
  const keys = new Uint8Array(20 * n);
  for (let i = 0; i < keys.length; i++) keys[i] = prng.below(256);
  return keys;
}

Deno.test("HashIndex20 finds what it holds, across growth, removals and slot reuse", () => {
  const prng = new Prng([9, 8, 7, 6]);
  const grown: number[] = [];
  const index = new HashIndex20(seed, 4, (cap) => grown.push(cap));
  const n = 5000;
  const keys = randomKeys(n, prng);
  const slots = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    strictEqual(index.find(keys, 20 * i), -1);
    slots[i] = index.insert(keys, 20 * i);
  }
  strictEqual(index.size, n);
  ok(grown.length > 0 && grown.every((c, i) => i === 0 || c > grown[i - 1]));
  ok(index.capacity >= n);
  // Remove every third key; the rest stay findable at their slots (slots never move).
  for (let i = 0; i < n; i += 3) index.remove(slots[i]);
  for (let i = 0; i < n; i++) {
    strictEqual(index.find(keys, 20 * i), i % 3 === 0 ? -1 : slots[i], `key ${i}`);
    strictEqual(index.used(slots[i]), i % 3 !== 0);
  }
  // Freed slots are reused before the slot count grows.
  const before = index.slotCount;
  const more = randomKeys(100, prng);
  for (let i = 0; i < 100; i++) ok(index.insert(more, 20 * i) < before);
  strictEqual(index.slotCount, before);
  // The key bytes live at slot * 20.
  const s = slots[1];
  for (let b = 0; b < 20; b++) strictEqual(index.keys[s * 20 + b], keys[20 + b]);
});

Deno.test("HashIndex20.clear() forgets every key and keeps working", () => {
  const prng = new Prng([5, 5, 5, 5]);
  const index = new HashIndex20(seed);
  const keys = randomKeys(50, prng);
  for (let i = 0; i < 50; i++) index.insert(keys, 20 * i);
  index.clear();
  strictEqual(index.size, 0);
  for (let i = 0; i < 50; i++) strictEqual(index.find(keys, 20 * i), -1);
  strictEqual(index.insert(keys, 0), 0);
  strictEqual(index.find(keys, 0), 0);
});

Deno.test("HashIndex20: keys differing in one byte anywhere are distinct", () => {
  const index = new HashIndex20(seed);
  const base = new Uint8Array(20);
  const slots = new Set<number>();
  for (let b = 0; b < 20; b++) {
    const k = base.slice();
    k[b] = 1;
    slots.add(index.insert(k));
  }
  slots.add(index.insert(base));
  strictEqual(slots.size, 21);
  for (let b = 0; b < 20; b++) {
    const k = base.slice();
    k[b] = 1;
    ok(index.find(k) >= 0);
    k[b] = 2;
    strictEqual(index.find(k), -1);
  }
});
