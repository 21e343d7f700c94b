/**
 * Scale of closed mode: load a whitelist of N hashes (default 1,000,000) from a file, report the
 * load time, the memory it costs and the lookup rate.
 *
 *   deno run --allow-read --allow-write --allow-env scripts/bench_access_list.ts [N]
 */

import { describeLoad, readAccessList } from "../src/config/access_list.ts";
import { hashSetOf } from "../src/logic/access.ts";
import { toHex } from "../src/util/hex.ts";
import { Prng } from "../src/util/random.ts";

const n = Number(Deno.args[0] ?? 1_000_000);
const prng = new Prng([1, 2, 3, 4]);
const hashes: Uint8Array[] = [];
const lines: string[] = [];
for (let i = 0; i < n; i++) {
  const h = new Uint8Array(20);
  for (let b = 0; b < 20; b++) h[b] = prng.below(256);
  hashes.push(h);
  lines.push(toHex(h));
}
const path = await Deno.makeTempFile({ suffix: ".whitelist" });
await Deno.writeTextFile(path, lines.join("\n") + "\n");
lines.length = 0;
const size = (await Deno.stat(path)).size;

const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
const before = Deno.memoryUsage();
const t0 = performance.now();
const parsed = readAccessList(path);
const set = hashSetOf(parsed.hashes, crypto.getRandomValues(new Uint32Array(4)));
const loadMs = performance.now() - t0;
gc?.();
const after = Deno.memoryUsage();
console.log(describeLoad(path, parsed, set.size));
console.log(`file ${(size / 1048576).toFixed(1)} MiB, load ${loadMs.toFixed(0)} ms`);
console.log(
  `set arrays ${(set.bytes / 1048576).toFixed(1)} MiB (${(set.bytes / n).toFixed(1)} B/hash), ` +
    `RSS +${((after.rss - before.rss) / 1048576).toFixed(1)} MiB ` +
    `(${((after.rss - before.rss) / n).toFixed(1)} B/hash)`,
);

const probes = 5_000_000;
let hits = 0;
const miss = new Uint8Array(20);
const t1 = performance.now();
for (let i = 0; i < probes; i++) {
  if (i & 1) {
    miss[0] = i;
    miss[1] = i >> 8;
    miss[2] = i >> 16;
    if (set.has(miss)) hits++;
  } else if (set.has(hashes[(i * 7919) % n])) hits++;
}
const lookupMs = performance.now() - t1;
console.log(
  `lookups: ${
    (probes / lookupMs / 1000).toFixed(2)
  } M/s over ${n} hashes (half hits, half misses; ${hits} hits)`,
);
await Deno.remove(path);
