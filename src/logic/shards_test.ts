import { ok, strictEqual, throws } from "node:assert/strict";
import { ShardMap } from "./shards.ts";
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
