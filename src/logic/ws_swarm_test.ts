import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { toBinaryString } from "../protocol/ws_tracker.ts";
import { LIMITED, WS_SWARM_LIMITS, WsSwarm } from "./ws_swarm.ts";
import { WsAnnounce } from "../protocol/ws_tracker.ts";
import { EVENT } from "../types.ts";

const hash = (n: number) => new Uint8Array(20).fill(n);
const id = (n: number) => new TextEncoder().encode(`-WW0208-${String(n).padStart(12, "0")}`);
const offer = { offerId: "o".repeat(20), offer: { type: "offer" as const, sdp: "v=0" } };

function announce(
  h: number,
  p: number,
  o: { event?: number; seeding?: boolean; offers?: number } = {},
): WsAnnounce {
  const offers = Array(o.offers ?? 0).fill(offer);
  return {
    kind: "announce",
    infoHash: hash(h),
    peerId: id(p),
    hashKey: toBinaryString(hash(h)),
    peerKey: toBinaryString(id(p)),
    event: o.event ?? EVENT.none,
    seeding: o.seeding ?? false,
    numwant: offers.length,
    offers,
    answer: null,
  };
}

/** A stand-in for a server's connection object: only its identity matters here. */
const conn = (name: string) => ({ name });

Deno.test("WsSwarm: offers go to other peers of the torrent, answers find the offerer", () => {
  const s = new WsSwarm();
  const a = conn("a"), b = conn("b"), c = conn("c");
  const first = s.announce(announce(1, 1, { offers: 5 }), a, 0);
  deepStrictEqual([first.complete, first.incomplete, first.targets], [0, 1, []]);
  s.announce(announce(1, 2, { seeding: true }), b, 0);
  s.announce(announce(2, 3), c, 0); // another torrent
  const r = s.announce(announce(1, 1, { offers: 5 }), a, 1);
  deepStrictEqual([r.complete, r.incomplete, r.refused], [1, 1, null]);
  deepStrictEqual(r.targets.map((t) => t.conn), [b]);
  strictEqual(r.targets[0].key, toBinaryString(id(2)));
  strictEqual(s.answerTarget(toBinaryString(hash(1)), toBinaryString(id(1)), 0), a);
  strictEqual(
    s.answerTarget(toBinaryString(hash(1)), toBinaryString(id(3)), 0),
    null,
    "not in this torrent",
  );
  deepStrictEqual(s.scrape(hash(1)), { complete: 1, incomplete: 1, downloaded: 0 });
  deepStrictEqual([s.torrents, s.peers, s.seeders], [2, 3, 1]);
});

Deno.test("WsSwarm: a sample of distinct peers, as many as offers, never the asker's connection", () => {
  let x = 7;
  const s = new WsSwarm(undefined, () => (x = (x * 16807) % 2147483647) / 2147483647);
  const conns = Array.from({ length: 50 }, (_, i) => conn(`c${i}`));
  conns.forEach((c, i) => s.announce(announce(1, i), c, 0));
  // The asker also holds a second peer_id on its own connection: never offered to itself.
  s.announce(announce(1, 100), conns[0], 0);
  for (let round = 0; round < 20; round++) {
    const r = s.announce(announce(1, 0, { offers: 10 }), conns[0], 1);
    strictEqual(r.targets.length, 10);
    strictEqual(new Set(r.targets.map((t) => t.conn)).size, 10);
    strictEqual(r.targets.some((t) => t.conn === conns[0]), false);
  }
});

Deno.test("WsSwarm: stop, close and expiry remove peers; completions count once for a held peer", () => {
  const s = new WsSwarm();
  const a = conn("a"), b = conn("b");
  s.announce(announce(1, 1), a, 0);
  s.announce(announce(2, 1), a, 0);
  s.announce(announce(1, 2), b, 0);
  // A completion by a held peer counts; by a new one it does not.
  s.announce(announce(1, 2, { event: EVENT.completed, seeding: true }), b, 1);
  s.announce(announce(3, 9, { event: EVENT.completed, seeding: true }), b, 1);
  deepStrictEqual(s.scrape(hash(1)), { complete: 1, incomplete: 1, downloaded: 1 });
  deepStrictEqual(s.scrape(hash(3)), { complete: 1, incomplete: 0, downloaded: 0 });
  const stop = s.announce(announce(1, 2, { event: EVENT.stopped }), b, 2);
  deepStrictEqual([stop.complete, stop.incomplete], [0, 1]);
  strictEqual(s.closeConnection(a), 2);
  strictEqual(s.scrape(hash(1)), null, "the torrent went with its last peer");
  strictEqual(s.scrape(hash(2)), null);
  deepStrictEqual([s.torrents, s.peers, s.seeders], [1, 1, 1]);
  strictEqual(s.expire(100_000, 60_000), 1);
  deepStrictEqual([s.torrents, s.peers, s.seeders], [0, 0, 0]);
  strictEqual(s.closeConnection(b), 0);
});

Deno.test("WsSwarm: the same peer_id on a new connection replaces the old one", () => {
  const s = new WsSwarm();
  const old = conn("old"), fresh = conn("new");
  s.announce(announce(1, 1, { seeding: true }), old, 0);
  s.announce(announce(1, 1), fresh, 1);
  strictEqual(s.answerTarget(toBinaryString(hash(1)), toBinaryString(id(1)), 0), fresh);
  deepStrictEqual([s.peers, s.seeders], [1, 0]);
  strictEqual(s.closeConnection(old), 0, "the old connection holds nothing any more");
  strictEqual(s.peers, 1);
});

Deno.test("WsSwarm: limits refuse new peers with a reason; renewals always work", () => {
  const s = new WsSwarm({
    ...WS_SWARM_LIMITS,
    torrentPeersMax: 2,
    connectionTorrentsMax: 2,
    peersMax: 4,
  });
  const a = conn("a"), b = conn("b"), c = conn("c"), d = conn("d");
  s.announce(announce(1, 1), a, 0);
  s.announce(announce(1, 2), b, 0);
  strictEqual(s.announce(announce(1, 3), c, 0).refused, "the torrent is full");
  deepStrictEqual(s.announce(announce(1, 1), a, 1).refused, null, "a renewal");
  s.announce(announce(2, 1), a, 0);
  strictEqual(
    s.announce(announce(3, 1), a, 0).refused,
    "at most 2 torrents per connection",
  );
  s.announce(announce(4, 4), d, 0);
  strictEqual(s.announce(announce(5, 5), d, 0).refused, "the tracker is full");
  strictEqual(s.refused, 3);
  const full = s.announce(announce(1, 3), c, 0);
  deepStrictEqual([full.complete, full.incomplete], [0, 2], "a refused peer still gets counts");
});

Deno.test("WsSwarm: two peer_ids of one connection in one torrent go one by one", () => {
  const s = new WsSwarm();
  const a = conn("a"), b = conn("b");
  s.announce(announce(1, 1), a, 0);
  s.announce(announce(1, 2), a, 0);
  s.announce(announce(1, 3), b, 0);
  s.announce(announce(1, 1, { event: EVENT.stopped }), a, 1);
  strictEqual(s.holds(a), true, "its other peer_id is still held");
  strictEqual(s.answerTarget(toBinaryString(hash(1)), toBinaryString(id(2)), 0), a);
  strictEqual(s.closeConnection(a), 1);
  strictEqual(s.holds(a), false);
  deepStrictEqual([s.torrents, s.peers], [1, 1]);
  strictEqual(s.answerTarget(toBinaryString(hash(1)), toBinaryString(id(3)), 0), b);
});

Deno.test("WsSwarm: top() gives the torrents with the most peers, most first", () => {
  const s = new WsSwarm();
  const c = conn("c");
  // Torrent h has h peers (h = 1..30), inserted in a shuffled order; torrent 7 has a seeder.
  const order = Array.from({ length: 30 }, (_, i) => ((i * 17) % 30) + 1);
  let p = 0;
  for (const h of order) {
    for (let i = 0; i < h; i++) s.announce(announce(h, ++p, { seeding: h === 7 && i === 0 }), c, 0);
  }
  const top = s.top(5);
  deepStrictEqual(top.map((e) => e.incomplete + e.complete), [30, 29, 28, 27, 26]);
  strictEqual(top[0].hashKey, toBinaryString(hash(30)));
  const all = s.top(100);
  strictEqual(all.length, 30);
  deepStrictEqual(all.at(-1), {
    hashKey: toBinaryString(hash(1)),
    complete: 0,
    incomplete: 1,
    downloaded: 0,
  });
  deepStrictEqual(all.find((e) => e.hashKey === toBinaryString(hash(7))), {
    hashKey: toBinaryString(hash(7)),
    complete: 1,
    incomplete: 6,
    downloaded: 0,
  });
  deepStrictEqual(s.top(0), []);
  deepStrictEqual(new WsSwarm().top(3), []);
});

Deno.test("WsSwarm: a peer gets at most its rate of offers; offers go to peers with room", () => {
  const s = new WsSwarm({ ...WS_SWARM_LIMITS, peerRelaysPerSecond: 5 });
  const victim = conn("victim"), other = conn("other"), stranger = conn("stranger");
  s.announce(announce(1, 1), victim, 0);
  const flood = (ms: number) => s.announce(announce(1, 2, { offers: 10 }), stranger, ms);
  // A stranger announcing again and again into the victim's torrent: a burst of twice the rate.
  for (let i = 0; i < 10; i++) deepStrictEqual(flood(0).targets.map((t) => t.conn), [victim]);
  let r = flood(0);
  deepStrictEqual([r.targets.length, r.limited], [0, 1]);
  // 200 ms later, room for one more.
  deepStrictEqual(flood(200).targets.map((t) => t.conn), [victim]);
  deepStrictEqual([flood(200).targets.length, flood(200).limited], [0, 1]);
  // Another peer with room gets the offer the victim has no room for.
  s.announce(announce(1, 3), other, 200);
  r = flood(200);
  deepStrictEqual([r.targets.map((t) => t.conn), r.limited], [[other], 1]);
});

Deno.test("WsSwarm: answers to a peer count against its rate too", () => {
  const s = new WsSwarm({ ...WS_SWARM_LIMITS, peerRelaysPerSecond: 5 });
  const victim = conn("victim"), stranger = conn("stranger");
  s.announce(announce(1, 1), victim, 0);
  s.announce(announce(1, 2), stranger, 0);
  const to = () => s.answerTarget(toBinaryString(hash(1)), toBinaryString(id(1)), 0);
  for (let i = 0; i < 10; i++) strictEqual(to(), victim);
  strictEqual(to(), LIMITED);
  // And its offers share the budget: none left for the stranger's next announce.
  const r = s.announce(announce(1, 2, { offers: 3 }), stranger, 0);
  deepStrictEqual([r.targets.length, r.limited], [0, 1]);
  strictEqual(s.answerTarget(toBinaryString(hash(1)), toBinaryString(id(1)), 200), victim);
});
