import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { AnnounceRequest, EVENT } from "../types.ts";
import { Prng } from "../util/random.ts";
import { stateRecordBytes } from "../swarm/state_record.ts";
import { Swarm } from "../swarm/swarm.ts";
import { AnnounceResult, REPLY } from "../swarm/announce_result.ts";
import { importState } from "./restore.ts";
import { stateFileChunks } from "./state_export.ts";

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
  s.table.visit(0, s.table.slotCount, (slot, hashes, off) => {
    const range = {
      a4: 0,
      n4: s.table.familyCount(slot, 0),
      a6: 0,
      n6: s.table.familyCount(slot, 1),
    };
    const rec = new Uint8Array(stateRecordBytes(range.n4, range.n6));
    s.table.exportRecord(slot, rec, 0, range);
    out.set([...hashes.subarray(off, off + 20)].join(","), [...rec.subarray(20)].join(","));
  });
  return out;
}

/** The whole state file of `s`, in memory. */
async function exported(s: Swarm): Promise<{ bytes: Uint8Array; torrents: number; peers: number }> {
  const totals = { torrents: 0, peers: 0, records: 0 };
  const parts: Uint8Array[] = [];
  for await (const chunk of stateFileChunks(s, 45, NOW_MINUTES * 60, totals)) {
    parts.push(chunk.slice());
  }
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    bytes.set(p, o);
    o += p.length;
  }
  return { bytes, ...totals };
}

Deno.test("stateFileChunks() and importState() restore every torrent and peer exactly", async () => {
  const s = filledSwarm();
  const w = await exported(s);
  deepStrictEqual([w.torrents, w.peers], [s.torrentCount, s.peerCount]);
  const t = newSwarm();
  const r = importState(w.bytes, t, () => true);
  strictEqual(r.report.damage, null);
  deepStrictEqual([r.torrents, r.peers], [s.torrentCount, s.peerCount]);
  deepStrictEqual([t.torrentCount, t.peerCount, t.seedCount], [
    s.torrentCount,
    s.peerCount,
    s.seedCount,
  ]);
  deepStrictEqual(contents(t), contents(s));
});

Deno.test("one damaged byte of the state file costs at most one block of peers", async () => {
  const s = filledSwarm();
  const whole = (await exported(s)).bytes;
  const rng = new Prng([9, 8, 7, 6]);
  for (let trial = 0; trial < 40; trial++) {
    const damaged = whole.slice();
    const at = 24 + rng.below(whole.length - 24);
    damaged[at] ^= 1 + rng.below(255);
    const t = newSwarm();
    const r = importState(damaged, t, () => true);
    ok(r.report.damage !== null, `byte ${at}: no damage reported`);
    // A 4 KiB block holds at most 507 IPv4 peers (or 202 IPv6), and at most 102 torrents.
    const lostPeers = s.peerCount - t.peerCount;
    ok(lostPeers >= 0 && lostPeers <= 507, `byte ${at}: ${lostPeers} peers lost`);
    ok(s.torrentCount - t.torrentCount <= 102, `byte ${at}: torrents lost`);
  }
});

Deno.test("importState() skips the records of torrents the access list refuses", async () => {
  const s = filledSwarm();
  const { bytes } = await exported(s);
  const t = newSwarm();
  const r = importState(bytes, t, (h, o) => h[o + 19] % 2 === 0);
  ok(r.refusedRecords > 0);
  strictEqual(r.report.damage, null);
  ok(t.torrentCount < s.torrentCount && t.torrentCount > 0);
});
