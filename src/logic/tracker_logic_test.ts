import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { AccessControl } from "./access.ts";
import { HashSet20 } from "../swarm/hash_set.ts";
import { ACTION_KIND, PROTOCOL, requestIndex } from "../stats/counters.ts";
import { AnnounceRequest, EVENT, PEER_FLAG } from "../types.ts";
import { fromHex } from "../util/hex.ts";
import { ipFromString } from "../util/ip.ts";
import { TEST_SEED, testLogic } from "../../tests/support/logic.ts";

const NOW = 1_740_000_000;
const H = fromHex("aa".repeat(20));
const P1 = ipFromString("192.0.2.1")!;
const P6 = ipFromString("2001:db8::1")!;

function request(ip: Uint8Array, port: number, o: { event?: number; seeding?: boolean } = {}) {
  const req = new AnnounceRequest();
  req.infoHash.set(H);
  req.ip.set(ip);
  req.port = port;
  req.event = o.event ?? EVENT.none;
  req.seeding = o.seeding ?? false;
  req.numwant = 50;
  return req;
}

Deno.test("TrackerLogic.announce() writes HTTP peers of both families and UDP peers of one", () => {
  const { logic } = testLogic();
  const out = logic.newOutcome();
  logic.announce(request(P1, 1), PROTOCOL.http, NOW, out);
  logic.announce(request(P6, 2, { seeding: true }), PROTOCOL.http, NOW, out);
  deepStrictEqual([out.seeders, out.leechers, out.n4, out.n6], [1, 1, 1, 1]);
  const buf = new Uint8Array(64).fill(0xee);
  const end4 = out.writePeers(0, buf, 3);
  deepStrictEqual([...buf.subarray(3, end4)], [192, 0, 2, 1, 0, 1]);
  const end6 = out.writePeers(1, buf, end4);
  strictEqual(end6 - end4, 18);
  strictEqual(buf[2], 0xee, "nothing is written before the offset");
  logic.announce(request(P1, 1), PROTOCOL.udp, NOW, out);
  deepStrictEqual([out.n4, out.n6], [1, 0], "UDP: the requester's family only");
});

Deno.test("TrackerLogic.announce() refuses torrents the access list refuses, and counts by protocol", () => {
  const access = new AccessControl("whitelist", new HashSet20(TEST_SEED), TEST_SEED);
  const { logic, counters, swarm } = testLogic({ access });
  const out = logic.newOutcome();
  logic.announce(request(P1, 1), PROTOCOL.udp, NOW, out);
  strictEqual(out.refused, true);
  logic.announce(request(P6, 1), PROTOCOL.http, NOW, out);
  deepStrictEqual([counters.udpRefused, counters.httpRefused, swarm.torrentCount], [1, 1, 0]);
  deepStrictEqual(
    [
      counters.requests[requestIndex(PROTOCOL.udp, false, ACTION_KIND.announce)],
      counters.requests[requestIndex(PROTOCOL.http, true, ACTION_KIND.announce)],
      counters.udpAnnounces,
      counters.tcpAnnounces,
    ],
    [1, 1, 1, 1],
  );
  // A stop is never refused.
  logic.announce(request(P1, 1, { event: EVENT.stopped }), PROTOCOL.udp, NOW, out);
  deepStrictEqual([out.refused, out.stopped, out.n4], [false, true, 0]);
});

Deno.test("TrackerLogic counts completions, renewals by age and woodpeckers once, in one place", () => {
  const { logic, counters, woodpeckers } = testLogic();
  const out = logic.newOutcome();
  logic.announce(request(P1, 1), PROTOCOL.http, NOW, out);
  logic.announce(request(P1, 1), PROTOCOL.http, NOW + 300, out); // renewed at age 5
  logic.announce(
    request(P1, 1, { event: EVENT.completed, seeding: true }),
    PROTOCOL.udp,
    NOW + 360,
    out,
  );
  deepStrictEqual([counters.completed, counters.renew[5], counters.renew[1]], [1, 1, 1]);
  ok(woodpeckers.render().includes("192.0.2.0/28"), woodpeckers.render());
  strictEqual(counters.numwants[50], 3);
});

Deno.test("TrackerLogic tells the cluster new peers, old renewals, fresh completions and every stop", () => {
  const told: number[] = [];
  const { logic } = testLogic({ sync: { add: (_h, _ip, _port, flags) => told.push(flags) } });
  const out = logic.newOutcome();
  const at = (minutes: number, event: number, seeding: boolean) =>
    logic.announce(request(P1, 6881, { event, seeding }), PROTOCOL.udp, NOW + 60 * minutes, out);
  at(0, EVENT.none, false); // new: told
  at(5, EVENT.none, false); // renewal at age 5: not told
  at(16, EVENT.none, false); // renewal at age 11: told
  at(17, EVENT.completed, true); // fresh completion: told
  at(18, EVENT.completed, true); // completion again: not fresh, young: not told
  at(19, EVENT.stopped, true); // stop: always told
  at(19, EVENT.stopped, true); // even for a peer already gone
  deepStrictEqual(told, [
    0,
    0,
    PEER_FLAG.seeding | PEER_FLAG.completed,
    PEER_FLAG.stopped | PEER_FLAG.seeding,
    PEER_FLAG.stopped | PEER_FLAG.seeding,
  ]);
});

Deno.test("TrackerLogic.applySync() stores with FROM_SYNC, applies the access list, tells nothing", () => {
  const told: number[] = [];
  const list = new HashSet20(TEST_SEED);
  list.add(H);
  const access = new AccessControl("whitelist", list, TEST_SEED);
  const { logic, swarm, counters } = testLogic({
    access,
    sync: { add: (...a) => told.push(a[3]) },
  });
  logic.applySync(request(P1, 1), PEER_FLAG.seeding, NOW);
  const other = request(P1, 2);
  other.infoHash.fill(0xbb);
  logic.applySync(other, 0, NOW);
  deepStrictEqual([swarm.peerCount, swarm.seedCount, counters.livesyncRefused], [1, 1, 1]);
  logic.applySync(request(P1, 1), PEER_FLAG.stopped, NOW);
  strictEqual(swarm.peerCount, 0);
  deepStrictEqual(told, []);
});
