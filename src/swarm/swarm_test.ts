import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { EVENT } from "../types.ts";
import { Prng } from "../util/random.ts";
import { REPLY } from "./announce_result.ts";
import { announce, hash, newSwarm, res, scrape, T } from "./_test_swarm.ts";

Deno.test("Swarm.announce() stores a new peer and returns it to itself ", () => {
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

Deno.test("Swarm.stop() removes the peer and reports counts after removal", () => {
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

Deno.test("Swarm drops peers after the peer timeout and empty torrents after a sweep", () => {
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

Deno.test("Swarm selects distinct peers, leechers first and seeders last", () => {
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
  // opentracker's split: a quarter each (5+5), the remaining 10 split 25:5 → 8 and 1, then +1
  // to v6: 13 + 7.
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
