import { ok, strictEqual } from "node:assert/strict";
import { HashSet20 } from "./hash_set.ts";

const SEED = Uint32Array.of(11, 22, 33, 44);

function key(i: number): Uint8Array {
  const h = new Uint8Array(20);
  new DataView(h.buffer).setUint32(16, i);
  return h;
}

Deno.test("HashSet20 adds, finds and deletes many keys", () => {
  const set = new HashSet20(SEED);
  for (let i = 0; i < 50000; i++) ok(set.add(key(i)));
  ok(!set.add(key(7)), "duplicate");
  strictEqual(set.size, 50000);
  for (let i = 0; i < 50000; i += 2) ok(set.delete(key(i)));
  for (let i = 0; i < 50000; i++) strictEqual(set.has(key(i)), i % 2 === 1, `key ${i}`);
  strictEqual(set.size, 25000);
  // Freed slots are reused: adding back does not grow the set's arrays.
  const bytes = set.bytes;
  for (let i = 0; i < 50000; i += 2) ok(set.add(key(i)));
  strictEqual(set.bytes, bytes);
  set.clear();
  strictEqual(set.size, 0);
  ok(!set.has(key(1)));
});
