import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { EVENT } from "../types.ts";
import { Prng } from "../util/random.ts";
import { Swarm } from "./swarm.ts";
import { announce, hash, res, scrape, T } from "./_test_swarm.ts";

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
  // A renewal with a completion at the full budget: counted (the fork's caps blocked it).
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
  s.table.visit(0, s.table.slotCount, (_slot, _h, _o, seeders, leechers) => {
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
