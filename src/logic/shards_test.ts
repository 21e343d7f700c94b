import { ok, strictEqual, throws } from "node:assert/strict";
import { reuseportProgram, runReuseportProgram, ShardMap } from "./shards.ts";
import { Prng } from "../util/random.ts";

const seed = Uint32Array.of(11, 22, 33, 44);

Deno.test("ShardMap spreads info_hashes evenly and the same way in every worker", () => {
  for (const count of [2, 3, 4, 48]) {
    const a = new ShardMap(seed, count);
    const b = new ShardMap(Uint32Array.from(seed), count);
    const hits = new Array(count).fill(0);
    const prng = new Prng([1, 2, 3, 4]);
    const h = new Uint8Array(20);
    const n = 20000 * count;
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < 20; k++) h[k] = prng.below(256);
      const s = a.of(h);
      strictEqual(s, b.of(h));
      hits[s]++;
    }
    ok(hits.every((x) => Math.abs(x - 20000) < 1000), `${count}: ${hits}`);
  }
});

Deno.test("ShardMap: one shard owns everything; another seed gives another split", () => {
  const h = new Uint8Array(20).fill(9);
  strictEqual(new ShardMap(seed, 1).of(h), 0);
  const x = new ShardMap(seed, 64);
  const y = new ShardMap(Uint32Array.of(5, 6, 7, 8), 64);
  let same = 0;
  for (let i = 0; i < 256; i++) {
    h[0] = i;
    if (x.of(h) === y.of(h)) same++;
  }
  ok(same < 20, `${same} of 256 agree`);
  throws(() => new ShardMap(seed, 0), RangeError);
});

Deno.test("the kernel's program picks the shard of announces and scrapes as ShardMap does", () => {
  const prng = new Prng([5, 6, 7, 8]);
  for (const count of [2, 3, 4, 48]) {
    const map = new ShardMap(Uint32Array.of(0xdeadbeef, 0x12345678, 0x9abcdef1, 0), count);
    const program = reuseportProgram(map);
    const spread = new Array(count).fill(0);
    for (let i = 0; i < 2000; i++) {
      // An announce (98 bytes) and a scrape (16 + 20 k bytes): action at 8, info_hash at 16.
      for (const [action, len] of [[1, 98], [2, 16 + 20 * (1 + (i % 5))]]) {
        const d = new Uint8Array(len);
        for (let k = 0; k < len; k++) d[k] = prng.below(256);
        new DataView(d.buffer).setUint32(8, action);
        strictEqual(runReuseportProgram(program, d), map.of(d, 16));
      }
      // A connect request: spread by its transaction id, always a valid index.
      const c = new Uint8Array(16);
      for (let k = 0; k < 16; k++) c[k] = prng.below(256);
      new DataView(c.buffer).setUint32(8, 0);
      const s = runReuseportProgram(program, c);
      ok(s >= 0 && s < count);
      spread[s]++;
    }
    ok(spread.every((x) => x > 2000 / count / 2), `connects over ${count}: ${spread}`);
  }
});
