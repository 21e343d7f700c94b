import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { LIVESYNC, LivesyncOutbox, sealLivesync } from "../protocol/livesync.ts";
import { AccessControl } from "../logic/access.ts";
import { HashSet20 } from "../swarm/hash_set.ts";
import { stateRecordBytes } from "../swarm/state_record.ts";
import { Swarm } from "../swarm/swarm.ts";
import { ScrapeCounts } from "../swarm/announce_result.ts";
import { PEER_FLAG } from "../types.ts";
import { fromHex } from "../util/hex.ts";
import { ipFromString } from "../util/ip.ts";
import { testLogic } from "../../tests/support/logic.ts";
import { LivesyncReceiver } from "./livesync_handler.ts";

const NOW = 1_740_000_000;
const SEED = Uint32Array.of(5, 6, 7, 8);
const OURS = Uint8Array.of(9, 9, 9, 9);
const THEIRS = Uint8Array.of(1, 2, 3, 4);
const SENDER = ipFromString("10.0.0.1")!;
const STRANGER = ipFromString("10.0.0.66")!;
const KEY = fromHex("0102030405060708090a0b0c0d0e0f10");

function node(o: { budget?: number; key?: Uint8Array; allowed?: Uint8Array } = {}) {
  const list = new HashSet20(SEED);
  if (o.allowed) list.add(o.allowed, 0);
  const access = new AccessControl(o.allowed ? "whitelist" : "open", list, SEED);
  const { logic, swarm, counters } = testLogic({
    access,
    swarm: { peerBudget: o.budget, budgetWatermark: 1 },
  });
  const receiver = new LivesyncReceiver({
    logic,
    counters,
    trackerId: OURS,
    trusted: (ip) => ip.every((b, i) => b === SENDER[i]),
    key: o.key ?? null,
  });
  /** Delivers `packet` from `from`, sealed with `sealKey` (default: the node's own key). */
  const deliver = (packet: Uint8Array, from = SENDER, sealKey = o.key) => {
    const buf = new Uint8Array(LIVESYNC.packetBytesMax + 1);
    buf.set(packet);
    const n = sealKey ? sealLivesync(buf, packet.length, sealKey, NOW) : packet.length;
    receiver.receive(buf, n, from, NOW);
  };
  return { swarm, counters, deliver };
}

/** Packets a remote node would send for `fill`'s records. */
function packets(fill: (box: LivesyncOutbox) => void, id = THEIRS): Uint8Array[] {
  const out: Uint8Array[] = [];
  const box = new LivesyncOutbox(id, 0, 1000, (p) => out.push(p.slice()));
  fill(box);
  box.flushAll();
  return out;
}

const H = fromHex("aa".repeat(20));
const P1 = ipFromString("192.0.2.1")!;
const P6 = ipFromString("2001:db8::1")!;

function counts(swarm: Swarm, h = H): ScrapeCounts {
  const c = { seeders: 0, leechers: 0, downloaded: 0 } as ScrapeCounts;
  if (!swarm.scrape(h, 0, Math.floor(NOW / 60), c)) return c;
  return { seeders: c.seeders, leechers: c.leechers, downloaded: c.downloaded } as ScrapeCounts;
}

/** Flags of the v4 then the v6 peers of `H`, read from the swarm's state record. */
function peerFlags(swarm: Swarm): number[] {
  const slot = swarm.find(H, 0);
  const range = {
    a4: 0,
    n4: swarm.table.familyCount(slot, 0),
    a6: 0,
    n6: swarm.table.familyCount(slot, 1),
  };
  const rec = new Uint8Array(stateRecordBytes(range.n4, range.n6));
  swarm.table.exportRecord(slot, rec, 0, range);
  const n4 = new DataView(rec.buffer).getUint32(32);
  const out: number[] = [];
  for (let i = 0; i < n4; i++) out.push(rec[40 + 8 * i + 6]);
  for (let p = 40 + 8 * n4; p < rec.length; p += 20) out.push(rec[p + 18]);
  return out;
}

Deno.test("live sync receiver: peers join with FROM_SYNC, completions count once, stops remove", () => {
  const { swarm, counters, deliver } = node();
  for (
    const p of packets((b) => {
      b.add(H, P1, 6881, 0, 0);
      b.add(H, P6, 6882, PEER_FLAG.seeding, 0);
    })
  ) deliver(p);
  deepStrictEqual(counts(swarm), { seeders: 1, leechers: 1, downloaded: 0 });
  strictEqual(counters.livesyncRecords, 2);
  strictEqual(counters.livesyncPackets, 2);
  deepStrictEqual(peerFlags(swarm), [PEER_FLAG.fromSync, PEER_FLAG.fromSync | PEER_FLAG.seeding]);
  const done = packets((b) => b.add(H, P1, 6881, PEER_FLAG.seeding | PEER_FLAG.completed, 0));
  deliver(done[0]);
  deliver(done[0]); // the same completion twice (a re-broadcast renewal) counts once
  deepStrictEqual(counts(swarm), { seeders: 2, leechers: 0, downloaded: 1 });
  strictEqual(counters.completed, 1);
  deliver(packets((b) => b.add(H, P6, 6882, PEER_FLAG.stopped, 0))[0]);
  deepStrictEqual(counts(swarm), { seeders: 1, leechers: 0, downloaded: 1 });
});

Deno.test("live sync receiver: untrusted, own, malformed and badly sealed packets change nothing", () => {
  const { swarm, counters, deliver } = node();
  const p = packets((b) => b.add(H, P1, 6881, 0, 0))[0];
  deliver(p, STRANGER);
  deliver(packets((b) => b.add(H, P1, 6881, 0, 0), OURS)[0]);
  deliver(p.subarray(0, p.length - 3));
  strictEqual(swarm.peerCount, 0);
  strictEqual(counters.livesyncUntrusted, 1);
  strictEqual(counters.livesyncMalformed, 1);
  strictEqual(counters.livesyncRecords, 0);

  const sealed = node({ key: KEY });
  sealed.deliver(p);
  strictEqual(sealed.swarm.peerCount, 1);
  // A packet sealed with another key is refused before it is parsed.
  const wrong = node({ key: fromHex("ff".repeat(16)) });
  wrong.deliver(p, SENDER, KEY);
  strictEqual(wrong.counters.livesyncUnauthenticated, 1);
  strictEqual(wrong.swarm.peerCount, 0);
});

Deno.test("live sync receiver: the access list and the peer budget apply to synced peers", () => {
  const other = fromHex("bb".repeat(20));
  const closed = node({ allowed: H });
  closed.deliver(
    packets((b) => {
      b.add(H, P1, 1, 0, 0);
      b.add(other, P1, 1, 0, 0);
    })[0],
  );
  strictEqual(closed.swarm.peerCount, 1);
  strictEqual(closed.counters.livesyncRefused, 1);

  const small = node({ budget: 10 });
  small.deliver(
    packets((b) => {
      for (let i = 0; i < 40; i++) b.add(H, P1, 1000 + i, 0, 0);
    })[0],
  );
  strictEqual(small.swarm.peerCount, 10);
  strictEqual(small.swarm.refusedPeers, 30);
});
