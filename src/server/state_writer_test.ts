import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { loadStateFile } from "../config/state_file.ts";
import { AnnounceRequest, EVENT } from "../types.ts";
import { Prng } from "../util/random.ts";
import { AnnounceResult, REPLY, stateRecordBytes, Swarm } from "../swarm/swarm.ts";
import { writeStateFile } from "./state_writer.ts";

const NOW_MINUTES = 29_000_000;

function newSwarm(): Swarm {
  return new Swarm({ prng: new Prng([1, 2, 3, 4]), hashSeed: Uint32Array.of(4, 3, 2, 1) });
}

/** 3,000 small torrents of both families, and one of 6,500 peers that spans many blocks. */
function filledSwarm(): Swarm {
  const s = newSwarm();
  const req = new AnnounceRequest();
  const res = new AnnounceResult();
  const rng = new Prng([5, 6, 7, 8]);
  const add = (torrent: number, peer: number, v6: boolean) => {
    new DataView(req.infoHash.buffer).setUint32(0, torrent * 2654435761);
    req.infoHash[19] = torrent & 0xff;
    req.ip.fill(0);
    if (v6) {
      req.ip[0] = 0x20;
      new DataView(req.ip.buffer).setUint32(12, peer);
    } else {
      req.ip[10] = req.ip[11] = 0xff;
      new DataView(req.ip.buffer).setUint32(12, 0x0a000000 + peer);
    }
    req.port = 1 + (peer % 60000);
    req.seeding = peer % 3 === 0;
    req.event = EVENT.none;
    req.numwant = 0;
    s.announce(req, NOW_MINUTES, REPLY.none, false, res);
  };
  for (let t = 1; t <= 3000; t++) {
    const n = rng.below(10);
    for (let p = 0; p < n; p++) add(t, t * 16 + p, rng.below(4) === 0);
  }
  for (let p = 0; p < 6500; p++) add(0, 100_000 + p, p >= 5000);
  return s;
}

/** Every torrent's counts and peer records, by hash. */
function contents(s: Swarm): Map<string, string> {
  const out = new Map<string, string>();
  s.visit(0, s.slotCount, (slot, hashes, off) => {
    const range = { a4: 0, n4: s.familyCount(slot, 0), a6: 0, n6: s.familyCount(slot, 1) };
    const rec = new Uint8Array(stateRecordBytes(range.n4, range.n6));
    s.exportRecord(slot, rec, 0, range);
    out.set([...hashes.subarray(off, off + 20)].join(","), [...rec.subarray(20)].join(","));
  });
  return out;
}

Deno.test("writeStateFile() and loadStateFile() restore every torrent and peer exactly", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const s = filledSwarm();
    const w = await writeStateFile(s, `${dir}/state`, 45, NOW_MINUTES * 60);
    deepStrictEqual([w.torrents, w.peers], [s.torrentCount, s.peerCount]);
    const t = newSwarm();
    const lines = loadStateFile(`${dir}/state`, t, () => true, NOW_MINUTES * 60);
    strictEqual(lines.length, 1, lines.join("\n"));
    deepStrictEqual([t.torrentCount, t.peerCount, t.seedCount], [
      s.torrentCount,
      s.peerCount,
      s.seedCount,
    ]);
    deepStrictEqual(contents(t), contents(s));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("one damaged byte of the state file costs at most one block of peers", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const s = filledSwarm();
    await writeStateFile(s, `${dir}/state`, 45, NOW_MINUTES * 60);
    const whole = await Deno.readFile(`${dir}/state`);
    const rng = new Prng([9, 8, 7, 6]);
    for (let trial = 0; trial < 40; trial++) {
      const damaged = whole.slice();
      const at = 24 + rng.below(whole.length - 24);
      damaged[at] ^= 1 + rng.below(255);
      await Deno.writeFile(`${dir}/state`, damaged);
      const t = newSwarm();
      const lines = loadStateFile(`${dir}/state`, t, () => true, NOW_MINUTES * 60);
      ok(lines.some((l) => l.includes("is damaged")), `byte ${at}: ${lines.join(" | ")}`);
      // A 4 KiB block holds at most 507 IPv4 peers (or 202 IPv6), and at most 102 torrents.
      const lostPeers = s.peerCount - t.peerCount;
      ok(lostPeers >= 0 && lostPeers <= 507, `byte ${at}: ${lostPeers} peers lost`);
      ok(s.torrentCount - t.torrentCount <= 102, `byte ${at}: torrents lost`);
      for (const e of Deno.readDirSync(dir)) {
        if (e.name !== "state") Deno.removeSync(`${dir}/${e.name}`);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
