import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { StatsScanner } from "./stats_scan.ts";
import { announceRequest, testHash, testLogic } from "../../tests/support/logic.ts";
import { PROTOCOL } from "../stats/counters.ts";
import { ipFromString } from "../util/ip.ts";
import { toHex } from "../util/hex.ts";

const NOW = 1_740_000_000;

function filled() {
  const t = testLogic();
  const out = t.logic.newOutcome();
  // Torrent n has n + 1 peers, the first of them seeding; addresses in 10.0.n.x.
  for (let n = 0; n < 120; n++) {
    for (let p = 0; p <= n; p++) {
      const req = announceRequest(testHash(3, n), ipFromString(`10.0.${n}.${p}`)!, 1, {
        seeding: p === 0,
      });
      t.logic.announce(req, PROTOCOL.udp, NOW, out);
    }
  }
  return t;
}

Deno.test("StatsScanner finds the top torrents and the busiest networks in slices", async () => {
  const { swarm } = filled();
  let clock = 100;
  const scanner = new StatsScanner(swarm, { sliceTorrents: 7, clock: () => clock });
  const snap = await scanner.snapshot();
  strictEqual(snap.torrents, 120);
  strictEqual(snap.topPeers.length, 100);
  deepStrictEqual(snap.topPeers[0], { count: 120, hex: toHex(testHash(3, 119), 0, 20, true) });
  strictEqual(snap.topPeers[99].count, 21);
  strictEqual(snap.topSeeds[0].count, 1);
  strictEqual(snap.topLeechers[0].count, 119);
  // 10.0.119.0/24 holds 120 peers; its /28s hold 16 each.
  deepStrictEqual(snap.nets24[0], [(10 << 24) | (119 << 8), 120]);
  strictEqual(snap.nets28[0][1], 16);
  strictEqual(snap.nets24.length, 120);
  strictEqual(snap.nets28.length, 128);
  // Cached for maxAgeSeconds, then scanned again.
  strictEqual(await scanner.snapshot(), snap);
  clock += 6;
  const next = await scanner.snapshot();
  strictEqual(scanner.scans, 2);
  strictEqual(next.torrents, 120);
});

Deno.test("StatsScanner: concurrent requests share one scan", async () => {
  const { swarm } = filled();
  const scanner = new StatsScanner(swarm, { sliceTorrents: 10, clock: () => 0 });
  const [a, b, c] = await Promise.all([scanner.snapshot(), scanner.snapshot(), scanner.snapshot()]);
  strictEqual(a, b);
  strictEqual(b, c);
  strictEqual(scanner.scans, 1);
});
