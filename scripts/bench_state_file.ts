/**
 * State file speed and size: 1,000,000 peers on 100,000 torrents (75 % seeders) written with
 * writeStateFile and loaded into a fresh swarm with loadStateFile, five times; prints the medians.
 * `--checkout DIR` measures another checkout (same module paths) for a side-by-side figure.
 *
 *   deno run -A scripts/bench_state_file.ts [--checkout DIR]
 */

import { parseArgs } from "node:util";

const { values } = parseArgs({
  args: Deno.args,
  options: { checkout: { type: "string", default: new URL("../", import.meta.url).pathname } },
});
const root = values.checkout!.replace(/\/?$/, "");
const { Swarm, AnnounceResult, REPLY } = await import(`${root}/src/swarm/swarm.ts`);
const { AnnounceRequest } = await import(`${root}/src/types.ts`);
const { Prng } = await import(`${root}/src/util/random.ts`);
const { writeStateFile } = await import(`${root}/src/server/state_writer.ts`);
const { loadStateFile } = await import(`${root}/src/config/state_file.ts`);

const newSwarm = () =>
  new Swarm({ prng: new Prng([1, 2, 3, 4]), hashSeed: Uint32Array.of(4, 3, 2, 1) });
const swarm = newSwarm();
const req = new AnnounceRequest();
const res = new AnnounceResult();
const rng = new Prng([5, 6, 7, 8]);
const nowMinutes = Math.floor(Date.now() / 60000);
for (let i = 0; i < 1_000_000; i++) {
  const t = rng.below(100_000);
  new DataView(req.infoHash.buffer).setUint32(0, t * 2654435761);
  req.infoHash[19] = t & 0xff;
  req.ip.fill(0);
  req.ip[10] = req.ip[11] = 0xff;
  new DataView(req.ip.buffer).setUint32(12, 0x0a000000 + i);
  req.port = 1 + (i % 60000);
  req.seeding = i % 4 !== 0;
  req.event = 0;
  req.numwant = 0;
  swarm.announce(req, nowMinutes, REPLY.none, false, res);
}
const path = await Deno.makeTempFile();
const writes: number[] = [];
const loads: number[] = [];
let bytes = 0;
try {
  for (let k = 0; k < 5; k++) {
    const w = await writeStateFile(swarm, path, 45, nowMinutes * 60);
    writes.push(w.milliseconds);
    bytes = w.bytes;
    const fresh = newSwarm();
    const t0 = performance.now();
    loadStateFile(path, fresh, () => true, nowMinutes * 60);
    loads.push(performance.now() - t0);
    if (fresh.peerCount !== swarm.peerCount) throw new Error("the loaded swarm differs");
  }
} finally {
  await Deno.remove(path);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(
  `${root}: ${swarm.torrentCount} torrents, ${swarm.peerCount} peers, ${bytes} bytes; ` +
    `write ${median(writes).toFixed(0)} ms, load ${median(loads).toFixed(0)} ms (medians of 5)`,
);
