import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { AnnounceRequest, EVENT } from "../types.ts";
import { parseIp } from "../util/ip.ts";
import { Prng } from "../util/random.ts";
import { AnnounceResult, REPLY, ScrapeCounts, Swarm } from "./swarm.ts";

const T = 29_000_000; // minutes since the epoch, any value works

function newSwarm(seed = 1): Swarm {
  return new Swarm({
    prng: new Prng([seed, 2, 3, 4]),
    hashSeed: Uint32Array.of(5, 6, 7, 8),
    initialTorrents: 16,
  });
}

function hash(n: number): Uint8Array {
  const h = new Uint8Array(20);
  new DataView(h.buffer).setUint32(0, n);
  h[19] = 0xaa;
  return h;
}

interface Peer {
  ip: string;
  port: number;
  seeding?: boolean;
  event?: number;
  numwant?: number;
}

/** A result with the peers the swarm wrote for it, as a reply would carry them. */
class PeersResult extends AnnounceResult {
  readonly peers4 = new Uint8Array(6 * 512);
  readonly peers6 = new Uint8Array(18 * 512);
}

const req = new AnnounceRequest();
const res = new PeersResult();

function announce(s: Swarm, h: Uint8Array, p: Peer, now = T, reply: number = REPLY.bothFamilies) {
  req.infoHash.set(h);
  if (!parseIp(p.ip, req.ip)) throw new Error(p.ip);
  req.port = p.port;
  req.seeding = p.seeding ?? false;
  req.event = p.event ?? EVENT.none;
  req.numwant = p.numwant ?? 50;
  if (req.event === EVENT.stopped) s.stop(req, res);
  else s.announce(req, now, reply, false, res);
  s.writePeers(res, 0, res.peers4, 0);
  s.writePeers(res, 1, res.peers6, 0);
  return res;
}

function scrape(s: Swarm, h: Uint8Array, now = T): ScrapeCounts | null {
  const c = new ScrapeCounts();
  return s.scrape(h, 0, now, c) ? c : null;
}

Deno.test("Swarm.announce() stores a new peer and returns it to itself (§2.3, §12.1)", () => {
  const s = newSwarm();
  const r = announce(s, hash(1), { ip: "10.0.0.1", port: 6881 });
  strictEqual(r.isNewPeer, true);
  deepStrictEqual([r.seeders, r.leechers, r.downloaded], [0, 1, 0]);
  strictEqual(r.n4, 1);
  deepStrictEqual([...r.peers4.subarray(0, 6)], [10, 0, 0, 1, 0x1a, 0xe1]);
  strictEqual(s.torrentCount, 1);
  strictEqual(s.peerCount, 1);
});

Deno.test("Swarm.announce() identifies a peer by ip and port only", () => {
  const s = newSwarm();
  announce(s, hash(1), { ip: "10.0.0.1", port: 1 });
  const again = announce(s, hash(1), { ip: "10.0.0.1", port: 1, seeding: true });
  strictEqual(again.isNewPeer, false);
  strictEqual(again.renewedAgeMinutes, 0);
  deepStrictEqual([again.seeders, again.leechers], [1, 0]);
  const other = announce(s, hash(1), { ip: "10.0.0.1", port: 2 });
  strictEqual(other.isNewPeer, true);
  deepStrictEqual([other.seeders, other.leechers], [1, 1]);
  const back = announce(s, hash(1), { ip: "10.0.0.1", port: 1, seeding: false });
  deepStrictEqual([back.seeders, back.leechers], [0, 2]);
  strictEqual(s.seedCount, 0);
});

Deno.test("Swarm.announce() counts a completion once, and only with left=0", () => {
  const s = newSwarm();
  const h = hash(2);
  strictEqual(announce(s, h, { ip: "10.0.0.1", port: 1, event: EVENT.completed }).completed, false);
  strictEqual(res.downloaded, 0);
  const done = announce(s, h, { ip: "10.0.0.1", port: 1, seeding: true, event: EVENT.completed });
  strictEqual(done.completed, true);
  strictEqual(done.downloaded, 1);
  const twice = announce(s, h, { ip: "10.0.0.1", port: 1, seeding: true, event: EVENT.completed });
  strictEqual(twice.completed, false);
  strictEqual(twice.downloaded, 1);
  // A peer the tracker never held announcing completed is stored as a seeder, not counted: a
  // stranger's completed + stopped on a random info_hash would otherwise pin a torrent for a day.
  const stranger = announce(s, h, {
    ip: "10.0.0.2",
    port: 1,
    seeding: true,
    event: EVENT.completed,
  });
  deepStrictEqual([stranger.isNewPeer, stranger.completed, stranger.downloaded], [true, false, 1]);
  strictEqual(stranger.seeders, 2);
});

Deno.test("Swarm.stop() removes the peer and reports counts after removal (§2.4)", () => {
  const s = newSwarm();
  const h = hash(3);
  announce(s, h, { ip: "10.0.0.1", port: 1, seeding: true });
  announce(s, h, { ip: "10.0.0.2", port: 1 });
  const r = announce(s, h, { ip: "10.0.0.1", port: 1, event: EVENT.stopped });
  strictEqual(r.removed, true);
  deepStrictEqual([r.seeders, r.leechers], [0, 1]);
  strictEqual(s.seedCount, 0);
  strictEqual(s.peerCount, 1);
  const unknown = announce(s, hash(99), { ip: "10.0.0.1", port: 1, event: EVENT.stopped });
  deepStrictEqual([unknown.removed, unknown.seeders, unknown.leechers], [false, 0, 0]);
  strictEqual(s.torrentCount, 1, "a stop never creates a torrent");
});

Deno.test("Swarm drops peers after the peer timeout and empty torrents after a sweep (§2.5)", () => {
  const s = newSwarm();
  const h = hash(4);
  announce(s, h, { ip: "10.0.0.1", port: 1 }, T);
  announce(s, h, { ip: "10.0.0.2", port: 1 }, T + 10);
  strictEqual(scrape(s, h, T + 44)?.leechers, 2);
  strictEqual(scrape(s, h, T + 45)?.leechers, 1, "first peer timed out at 45 minutes");
  strictEqual(scrape(s, h, T + 54)?.leechers, 1);
  strictEqual(scrape(s, h, T + 55)?.leechers, 0);
  strictEqual(s.peerCount, 0);
  // Empty without downloads: removed once more than a peer timeout passed.
  strictEqual(scrape(s, h, T + 56), null);
  strictEqual(s.torrentCount, 0);
});

Deno.test("Swarm keeps an empty torrent with downloads until the torrent timeout", () => {
  const s = newSwarm();
  const h = hash(5);
  announce(s, h, { ip: "10.0.0.1", port: 1 }, T);
  announce(s, h, { ip: "10.0.0.1", port: 1, seeding: true, event: EVENT.completed }, T);
  s.cleanSlice(T + 45, 100);
  strictEqual(s.peerCount, 0);
  strictEqual(s.torrentCount, 1);
  s.cleanSlice(T + 1000, 100);
  s.cleanSlice(T + 1000, 100);
  strictEqual(scrape(s, h, T + 1400)?.downloaded, 1);
  // The list's base became (T + 45) - 45 when it emptied: gone once 1440 minutes passed since.
  strictEqual(scrape(s, h, T + 1441), null);
  strictEqual(s.torrentCount, 0);
});

Deno.test("Swarm.cleanSlice() visits torrents incrementally and removes dead ones", () => {
  const s = newSwarm();
  for (let i = 0; i < 1000; i++) announce(s, hash(i), { ip: "10.0.0.1", port: i }, T);
  strictEqual(s.torrentCount, 1000);
  let finished = false;
  let slices = 0;
  while (!finished) {
    finished = s.cleanSlice(T + 100, 64);
    slices++;
  }
  ok(slices >= 1000 / 64, `took ${slices} slices`);
  strictEqual(s.peerCount, 0);
  // Second sweep removes the now-empty torrents.
  while (!s.cleanSlice(T + 200, 64));
  strictEqual(s.torrentCount, 0);
});

Deno.test("Swarm keeps its index consistent through many inserts and deletes", () => {
  const s = newSwarm();
  const n = 20000;
  for (let i = 0; i < n; i++) announce(s, hash(i), { ip: "10.0.0.1", port: 1 }, T);
  // Stop every odd torrent's peer and let the cleaner remove those torrents.
  for (let i = 1; i < n; i += 2) {
    announce(s, hash(i), { ip: "10.0.0.1", port: 1, event: EVENT.stopped }, T);
  }
  // Stopped torrents are empty with no downloads: one sweep after the peer timeout removes them.
  while (!s.cleanSlice(T + 46, 4096));
  strictEqual(s.torrentCount, n / 2);
  for (let i = 0; i < n; i += 2) announce(s, hash(i), { ip: "10.0.0.1", port: 1 }, T + 46);
  while (!s.cleanSlice(T + 47, 4096));
  strictEqual(s.torrentCount, n / 2);
  for (let i = 0; i < n; i++) strictEqual(s.find(hash(i)) >= 0, i % 2 === 0, `torrent ${i}`);
  // Reuse the freed slots.
  for (let i = n; i < n + 5000; i++) announce(s, hash(i), { ip: "10.0.0.1", port: 1 }, T + 47);
  for (let i = n; i < n + 5000; i++) ok(s.find(hash(i)) >= 0);
  strictEqual(s.torrentCount, n / 2 + 5000);
});

function peerKeys(buf: Uint8Array, count: number, size: number): string[] {
  const keys: string[] = [];
  for (let i = 0; i < count; i++) keys.push(buf.subarray(i * size, (i + 1) * size).join("."));
  return keys;
}

Deno.test("Swarm selects distinct peers, leechers first and seeders last (§2.7)", () => {
  const s = newSwarm();
  const h = hash(6);
  for (let i = 0; i < 300; i++) {
    announce(s, h, { ip: `10.0.${i >> 8}.${i & 255}`, port: 1000 + i, seeding: i % 3 === 0 });
  }
  for (let trial = 0; trial < 50; trial++) {
    const r = announce(s, h, { ip: "10.0.0.0", port: 1000, seeding: true, numwant: 40 });
    strictEqual(r.n4, 40);
    const keys = peerKeys(r.peers4, r.n4, 6);
    strictEqual(new Set(keys).size, 40, "no duplicates");
    let seenSeeder = false;
    for (const k of keys) {
      const port = Number(k.split(".")[4]) * 256 + Number(k.split(".")[5]);
      const isSeeder = (port - 1000) % 3 === 0;
      if (isSeeder) seenSeeder = true;
      else ok(!seenSeeder, "a leecher after a seeder");
    }
  }
});

Deno.test("Swarm's sampling gives every peer a similar chance", () => {
  const s = newSwarm(77);
  const h = hash(7);
  const n = 100;
  for (let i = 0; i < n; i++) announce(s, h, { ip: "10.1.0.1", port: i + 1 });
  const hits = new Map<number, number>();
  const trials = 4000;
  for (let t = 0; t < trials; t++) {
    const r = announce(s, h, { ip: "10.1.0.1", port: 1, numwant: 10 });
    for (let i = 0; i < r.n4; i++) {
      const port = (r.peers4[i * 6 + 4] << 8) | r.peers4[i * 6 + 5];
      hits.set(port, (hits.get(port) ?? 0) + 1);
    }
  }
  strictEqual(hits.size, n);
  const expected = (trials * 10) / n; // 400
  for (const [port, count] of hits) {
    ok(count > expected * 0.75 && count < expected * 1.25, `port ${port} drawn ${count} times`);
  }
});

Deno.test("Swarm splits HTTP replies between families and UDP returns the own family", () => {
  const s = newSwarm();
  const h = hash(8);
  for (let i = 0; i < 30; i++) announce(s, h, { ip: `10.0.0.${i + 1}`, port: 1 });
  for (let i = 0; i < 10; i++) announce(s, h, { ip: `2001:db8::${i + 1}`, port: 1 });
  const both = announce(s, h, { ip: "10.0.0.1", port: 1, numwant: 20 });
  strictEqual(both.n4 + both.n6, 20);
  // §2.7: a quarter each (5+5), the remaining 10 split 25:5 → 8 and 1, then +1 to v6: 13 + 7.
  deepStrictEqual([both.n4, both.n6], [13, 7]);
  const all = announce(s, h, { ip: "10.0.0.1", port: 1, numwant: 200 });
  deepStrictEqual([all.n4, all.n6], [30, 10]);
  const udp6 = announce(s, h, { ip: "2001:db8::1", port: 1, numwant: 66 }, T, REPLY.ownFamily);
  deepStrictEqual([udp6.n4, udp6.n6], [0, 10]);
  const udp4 = announce(s, h, { ip: "10.0.0.1", port: 1, numwant: 0 }, T, REPLY.ownFamily);
  deepStrictEqual([udp4.n4, udp4.n6, udp4.leechers], [0, 0, 40]);
});

Deno.test("Swarm grows and shrinks a large peer list without losing peers", () => {
  const s = newSwarm();
  const h = hash(9);
  const n = 70000; // beyond a quarter page: the list moves to a page of its own
  for (let i = 0; i < n; i++) {
    announce(s, h, {
      ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      port: 7,
      numwant: 0,
    });
  }
  strictEqual(scrape(s, h)?.leechers, n);
  const r = announce(s, h, { ip: "10.0.0.0", port: 7, numwant: 200 });
  strictEqual(new Set(peerKeys(r.peers4, r.n4, 6)).size, 200);
  for (let i = 0; i < n; i++) {
    announce(s, h, {
      ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      port: 7,
      event: EVENT.stopped,
    });
  }
  strictEqual(scrape(s, h)?.leechers, 0);
  strictEqual(s.peerCount, 0);
});

function budgetSwarm(peerBudget: number, torrentPeersMax = Infinity, budgetWatermark = 0.5): Swarm {
  return new Swarm({
    prng: new Prng([3, 1, 4, 1]),
    hashSeed: Uint32Array.of(5, 9, 2, 6),
    peerBudget,
    torrentPeersMax,
    budgetWatermark,
  });
}

Deno.test("Swarm never holds more peers than its budget and refuses without creating torrents", () => {
  const s = budgetSwarm(100);
  for (let i = 0; i < 5000; i++) {
    announce(s, hash(100000 + i), { ip: `10.1.${i >> 8}.${i & 255}`, port: 1 });
  }
  strictEqual(s.peerCount, 100);
  strictEqual(s.torrentCount, 100, "refused peers of unknown torrents create nothing");
  strictEqual(s.refusedPeers, 4900);
  strictEqual(res.refused, true);
  deepStrictEqual([res.seeders, res.leechers, res.n4], [0, 0, 0]);
});

Deno.test("Swarm at its budget still renews, completes and stops existing peers", () => {
  const s = budgetSwarm(50);
  const h = hash(7);
  for (let i = 0; i < 50; i++) announce(s, hash(i), { ip: "10.2.0.1", port: i + 1 });
  strictEqual(s.peerCount, 50);
  strictEqual(announce(s, h, { ip: "10.2.0.2", port: 1 }).refused, true);
  // A renewal with a completion at the full budget: counted, as the fork would not (§2.8).
  const renewed = announce(s, hash(3), {
    ip: "10.2.0.1",
    port: 4,
    seeding: true,
    event: EVENT.completed,
  });
  deepStrictEqual([renewed.refused, renewed.completed, renewed.renewedAgeMinutes], [
    false,
    true,
    0,
  ]);
  strictEqual(renewed.seeders, 1);
  announce(s, hash(3), { ip: "10.2.0.1", port: 4, event: EVENT.stopped });
  strictEqual(s.peerCount, 49);
  strictEqual(
    announce(s, h, { ip: "10.2.0.2", port: 1 }).isNewPeer,
    true,
    "room again after a stop",
  );
});

Deno.test("Swarm caps one torrent's peers and keeps renewing them", () => {
  const s = budgetSwarm(1_000_000, 5);
  const h = hash(8);
  for (let p = 1; p <= 5; p++) announce(s, h, { ip: "10.3.0.1", port: p });
  strictEqual(announce(s, h, { ip: "10.3.0.1", port: 6 }).refused, true);
  strictEqual(announce(s, h, { ip: "10.3.0.1", port: 1 }).refused, false);
  strictEqual(res.leechers, 5);
  strictEqual(
    announce(s, hash(9), { ip: "10.3.0.1", port: 6 }).isNewPeer,
    true,
    "other torrents are fine",
  );
});

Deno.test("Swarm admission above the watermark favours small swarms", () => {
  const s = budgetSwarm(2000, Infinity, 0.5);
  const big = hash(10);
  for (let i = 0; i < 1000; i++) {
    announce(s, big, { ip: `10.4.${i >> 8}.${i & 255}`, port: 1, numwant: 0 });
  }
  strictEqual(s.peerCount, 1000, "below the watermark everyone is admitted");
  let bigAdmitted = 0;
  let smallAdmitted = 0;
  for (let i = 0; i < 400; i++) {
    if (announce(s, big, { ip: `10.5.${i >> 8}.${i & 255}`, port: 1, numwant: 0 }).isNewPeer) {
      bigAdmitted++;
    }
    if (announce(s, hash(20000 + i), { ip: "10.6.0.1", port: 1, numwant: 0 }).isNewPeer) {
      smallAdmitted++;
    }
  }
  strictEqual(smallAdmitted, 400, "swarms under 10 peers are admitted up to the budget");
  ok(bigAdmitted < 60, `the 1000-peer swarm got ${bigAdmitted} of 400`);
});

Deno.test("Swarm keeps every peer through evacuations of sparse pages, checked against a model", () => {
  const s = newSwarm(99);
  const rng = new Prng([7, 7, 7, 7]);
  const model = new Map<number, Set<number>>();
  const torrents = 8000;
  let evacuated = 0;
  const verify = () => {
    for (const [t, ports] of model) {
      const c = scrape(s, hash(t));
      strictEqual(c?.leechers ?? 0, ports.size, `torrent ${t}`);
      if (ports.size > 0 && ports.size <= 200) {
        const r = announce(s, hash(t), { ip: "10.9.0.1", port: [...ports][0], numwant: 200 });
        const got = new Set<number>();
        for (let i = 0; i < r.n4; i++) got.add((r.peers4[i * 6 + 4] << 8) | r.peers4[i * 6 + 5]);
        deepStrictEqual(
          [...got].sort((a, b) => a - b),
          [...ports].sort((a, b) => a - b),
          `torrent ${t}`,
        );
      }
    }
  };
  for (let round = 0; round < 6; round++) {
    // Growth: many swarms grow by doubling, leaving small blocks behind.
    for (let i = 0; i < 150000; i++) {
      const t = rng.below(torrents);
      const port = 1 + rng.below(60000);
      announce(s, hash(t), { ip: "10.9.0.1", port, numwant: 0 });
      if (!model.has(t)) model.set(t, new Set());
      model.get(t)!.add(port);
    }
    // Shrink most swarms hard: pages become sparse.
    for (const [t, ports] of model) {
      for (const port of [...ports]) {
        if (rng.below(10) < 8) {
          announce(s, hash(t), { ip: "10.9.0.1", port, event: EVENT.stopped });
          ports.delete(port);
        }
      }
    }
    const before = s.peerStoreBytes;
    while (!s.cleanSlice(T, 512));
    while (!s.cleanSlice(T, 512));
    if (s.peerStoreBytes < before) evacuated++;
    verify();
  }
  ok(evacuated > 0, "some sweep released pages");
  ok(
    s.peerStoreBytes <= 4 * s.peerStoreLiveBytes + 4 * (1 << 20),
    `${s.peerStoreBytes} reserved for ${s.peerStoreLiveBytes} live`,
  );
});

function torrentBudgetSwarm(torrentBudget: number, probationMinutes = 0, peerBudget = Infinity) {
  return new Swarm({
    prng: new Prng([2, 7, 1, 8]),
    hashSeed: Uint32Array.of(3, 1, 4, 1),
    torrentBudget,
    probationMinutes,
    peerBudget,
    budgetWatermark: 0.5,
  });
}

/** Torrents without peers, counted the slow way. */
function countEmpty(s: Swarm): number {
  let n = 0;
  s.visit(0, s.slotCount, (_slot, _h, _o, seeders, leechers) => {
    if (seeders + leechers === 0) n++;
  });
  return n;
}

Deno.test("Swarm: completed and stopped churn on random info_hashes stays within the torrent budget", () => {
  const s = torrentBudgetSwarm(1000);
  for (let i = 0; i < 20_000; i++) {
    const h = hash(500_000 + i);
    const peer = { ip: "10.7.0.1", port: 1 };
    announce(s, h, peer);
    announce(s, h, { ...peer, seeding: true, event: EVENT.completed });
    announce(s, h, { ...peer, event: EVENT.stopped });
    ok(s.torrentCount <= 1000, `${s.torrentCount} torrents after ${i}`);
  }
  // Each torrent was emptied with a download counted: the oldest empty ones made room.
  strictEqual(s.torrentCount, 1000);
  strictEqual(s.evictedTorrents, 19_000);
  strictEqual(s.refusedTorrents, 0);
  strictEqual(scrape(s, hash(500_000)), null, "the oldest empty torrent went first");
  strictEqual(scrape(s, hash(500_000 + 19_999))?.downloaded, 1, "the newest is kept");
  strictEqual(s.emptyTorrents, 1000);
});

Deno.test("Swarm at the torrent budget refuses a new torrent when no torrent is empty", () => {
  const s = torrentBudgetSwarm(10);
  for (let i = 0; i < 10; i++) announce(s, hash(600 + i), { ip: "10.7.0.2", port: 1 });
  const r = announce(s, hash(700), { ip: "10.7.0.2", port: 1 });
  deepStrictEqual([r.refused, r.isNewPeer, r.n4], [true, false, 0]);
  deepStrictEqual([s.torrentCount, s.refusedTorrents, s.refusedPeers], [10, 1, 1]);
  // Existing torrents keep working, and an emptied one makes room.
  strictEqual(announce(s, hash(600), { ip: "10.7.0.3", port: 1 }).isNewPeer, true);
  announce(s, hash(601), { ip: "10.7.0.2", port: 1, event: EVENT.stopped });
  strictEqual(announce(s, hash(700), { ip: "10.7.0.2", port: 1 }).isNewPeer, true);
  strictEqual(scrape(s, hash(601)), null);
  strictEqual(s.evictedTorrents, 1);
});

Deno.test("Swarm restores and imports no more torrents than its budget", () => {
  const s = torrentBudgetSwarm(3);
  for (let i = 0; i < 5; i++) announce(s, hash(800 + i), { ip: "10.7.0.4", port: 1 });
  strictEqual(s.torrentCount, 3);
  const t = torrentBudgetSwarm(2);
  let restored = 0;
  for (let i = 0; i < 5; i++) if (t.restoreTorrent(hash(900 + i), 0, T, 1)) restored++;
  // Restored torrents have no peers: each new one evicts the oldest.
  deepStrictEqual([restored, t.torrentCount, t.evictedTorrents], [5, 2, 3]);
});

Deno.test("Swarm: peers admitted above the watermark expire after the probation unless they renew", () => {
  // Torrent budget 100, watermark 50 %, probation 10 of 45 minutes.
  const s = torrentBudgetSwarm(100, 10);
  for (let i = 0; i < 50; i++) {
    strictEqual(announce(s, hash(1000 + i), { ip: "10.8.0.1", port: 1 }).probation, false);
  }
  for (let i = 50; i < 100; i++) {
    strictEqual(announce(s, hash(1000 + i), { ip: "10.8.0.1", port: 1 }).probation, true, `${i}`);
  }
  strictEqual(s.probationPeers, 50);
  // Half of the probation peers renew after 5 minutes: their real age is reported.
  for (let i = 50; i < 75; i++) {
    const r = announce(s, hash(1000 + i), { ip: "10.8.0.1", port: 1 }, T + 5);
    deepStrictEqual([r.isNewPeer, r.renewedAgeMinutes, r.probation], [false, 5, false]);
  }
  // After 11 minutes the 25 that never renewed are gone; the rest keep their full lifetime.
  while (!s.cleanSlice(T + 11, 1000));
  while (!s.cleanSlice(T + 13, 1000));
  strictEqual(s.peerCount, 75);
  strictEqual(s.torrentCount, 75, "their empty torrents (no downloads) went too");
  while (!s.cleanSlice(T + 44, 1000));
  strictEqual(s.peerCount, 75);
  while (!s.cleanSlice(T + 46, 1000));
  strictEqual(s.peerCount, 25, "the first 50 timed out after 45 minutes; the renewed 25 not yet");
});

Deno.test("Swarm's empty-torrent list matches the torrents without peers under random operations", () => {
  const s = torrentBudgetSwarm(300);
  const rng = new Prng([9, 9, 9, 9]);
  let now = T;
  for (let step = 0; step < 30_000; step++) {
    const h = hash(2000 + rng.below(400));
    const peer = { ip: "10.9.1.1", port: 1 + rng.below(4) };
    switch (rng.below(5)) {
      case 0:
        announce(s, h, { ...peer, event: EVENT.stopped }, now);
        break;
      case 1:
        announce(s, h, { ...peer, seeding: true, event: EVENT.completed }, now);
        break;
      case 2:
        s.cleanSlice(now, 50);
        break;
      default:
        announce(s, h, peer, now);
    }
    if (step % 1000 === 0) now += 7;
    if (step % 500 === 0) strictEqual(s.emptyTorrents, countEmpty(s), `step ${step}`);
  }
  strictEqual(s.emptyTorrents, countEmpty(s));
  ok(s.torrentCount <= 300);
});
