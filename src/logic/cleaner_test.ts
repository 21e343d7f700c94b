import { strictEqual } from "node:assert/strict";
import { Cleaner } from "./cleaner.ts";
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
