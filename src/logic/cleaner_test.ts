import { ok, strictEqual } from "node:assert/strict";
import { Cleaner, EVACUATION_SPEEDUP, QUIET_TICKS_EVACUATION } from "./cleaner.ts";
import { announceRequest, testHash, testLogic } from "../../tests/support/logic.ts";
import { PROTOCOL } from "../stats/counters.ts";
import { ipFromString } from "../util/ip.ts";

const NOW = 1_740_000_000;

Deno.test("Cleaner visits every torrent within the sweep time and removes the dead", () => {
  const { logic, swarm, woodpeckers } = testLogic({
    swarm: { peerTimeoutMinutes: 45, torrentTimeoutMinutes: 60 },
  });
  const out = logic.newOutcome();
  const ip = ipFromString("192.0.2.9")!;
  for (let n = 0; n < 1000; n++) {
    logic.announce(announceRequest(testHash(7, n), ip, 1), PROTOCOL.udp, NOW, out);
  }
  strictEqual(swarm.torrentCount, 1000);
  // 1,000 torrents in a 2-minute sweep of 1-second ticks: slices of the 64-torrent minimum.
  const cleaner = new Cleaner(swarm, woodpeckers, { sweepMinutes: 2, tickMs: 1000 });
  let ticks = 0;
  while (swarm.peerCount > 0 && ticks < 100) {
    cleaner.tick(NOW + 46 * 60); // every peer has timed out
    ticks++;
  }
  strictEqual(ticks, Math.ceil(1000 / 64));
  // Torrents without peers stay until the torrent timeout, then go in the next sweep.
  strictEqual(swarm.torrentCount, 1000);
  const later = NOW + 61 * 60;
  for (let i = 0; i < 2 * ticks + 2; i++) cleaner.tick(later);
  strictEqual(swarm.torrentCount, 0);
});

Deno.test("Cleaner halves the woodpecker counts once per sweep", () => {
  const { logic, swarm, woodpeckers } = testLogic();
  const out = logic.newOutcome();
  const ip = ipFromString("192.0.2.9")!;
  for (let n = 0; n < 100; n++) {
    logic.announce(announceRequest(testHash(7, n), ip, 1), PROTOCOL.udp, NOW, out);
  }
  for (let i = 0; i < 4; i++) woodpeckers.record(ip);
  const cleaner = new Cleaner(swarm, woodpeckers, { sweepMinutes: 2, tickMs: 1000 });
  const text = (n: number) =>
    `Networks, limit /28:\n${String(n).padStart(8, "0")}: 192.0.2.0/28\n\n`;
  cleaner.tick(NOW); // torrents 0..63
  strictEqual(woodpeckers.render(), text(4));
  cleaner.tick(NOW); // torrents 64..99 and the end of the sweep
  strictEqual(woodpeckers.render(), text(2));
  cleaner.tick(NOW);
  strictEqual(woodpeckers.render(), text(2));
  cleaner.tick(NOW);
  strictEqual(woodpeckers.render(), text(1));
});

Deno.test("Cleaner keeps peers younger than the timeout", () => {
  const { logic, swarm, woodpeckers } = testLogic({ swarm: { peerTimeoutMinutes: 45 } });
  const out = logic.newOutcome();
  logic.announce(
    announceRequest(testHash(1), ipFromString("192.0.2.1")!, 1),
    PROTOCOL.udp,
    NOW,
    out,
  );
  const cleaner = new Cleaner(swarm, woodpeckers, { sweepMinutes: 2, tickMs: 1000 });
  for (let i = 0; i < 5; i++) cleaner.tick(NOW + 44 * 60);
  strictEqual(swarm.peerCount, 1);
});

Deno.test("Cleaner empties the peer store's sparse pages soon after a burst of announces ends", () => {
  const { logic, swarm, woodpeckers } = testLogic();
  const out = logic.newOutcome();
  // 20,000 torrents growing side by side to 16 peers: every list moved through 16-, 32- and
  // 64-byte blocks into a 128-byte one, leaving the smaller blocks dead in their pages.
  const req = announceRequest(testHash(1, 0), ipFromString("192.0.2.1")!, 1, { numwant: 0 });
  const hashes = Array.from({ length: 20_000 }, (_, n) => testHash(9, n));
  for (let p = 0; p < 16; p++) {
    req.ip[15] = p + 1;
    for (const h of hashes) {
      req.infoHash.set(h);
      logic.announce(req, PROTOCOL.udp, NOW, out);
    }
  }
  const store = swarm.table.lists.store;
  const before = store.bytesReserved;
  strictEqual(swarm.peerCount, 320_000);
  const cleaner = new Cleaner(swarm, woodpeckers, { sweepMinutes: 2, tickMs: 250 });
  // A sweep takes 480 ticks; quiet for QUIET_TICKS_EVACUATION ticks, the sparse pages are
  // marked, and the faster slices move their lists out within a fraction of a sweep.
  for (let i = 0; i < QUIET_TICKS_EVACUATION - 1; i++) cleaner.tick(NOW);
  strictEqual(store.evacuatingPages, 0);
  cleaner.tick(NOW);
  ok(store.evacuatingPages > 0, "sparse pages marked");
  let ticks = 0;
  while (store.evacuatingPages > 0 && ticks < 480) {
    cleaner.tick(NOW);
    ticks++;
  }
  ok(ticks <= 480 / EVACUATION_SPEEDUP + 1, `${ticks} ticks`);
  ok(store.bytesReserved <= before * 0.75, `${before} -> ${store.bytesReserved}`);
  // Nothing lost in the move.
  strictEqual(swarm.peerCount, 320_000);
  req.infoHash.set(hashes[12_345]);
  req.ip[15] = 200;
  req.numwant = 50;
  logic.announce(req, PROTOCOL.udp, NOW, out);
  strictEqual(out.leechers, 17);
  strictEqual(out.n4, 17); // opentracker returns the requester too
});
