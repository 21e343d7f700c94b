import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { PEER_FLAG } from "../types.ts";
import { ipFromString } from "../util/ip.ts";
import { Prng } from "../util/random.ts";
import { KEY_BYTES, PeerLists, RECORD_BYTES, splitAmount } from "./peer_lists.ts";

const V4 = 0; // list ids: even lists hold IPv4, odd lists IPv6
const V6 = 1;

function lists(): PeerLists {
  const l = new PeerLists();
  l.grow(2);
  l.reset(V4);
  l.reset(V6);
  return l;
}

/** Adds a peer the way the swarm does: look up, insert at the insertion point. */
function add(l: PeerLists, li: number, ip: string, port: number, flags = 0, age = 0): boolean {
  l.setKey(ipFromString(ip)!, port);
  const at = l.search(li);
  if (at >= 0) return false;
  l.insert(li, -at - 1, flags, age);
  if (flags & PEER_FLAG.seeding) l.addSeeds(li, 1);
  return true;
}

function wire(l: PeerLists, li: number): string[] {
  const out = new Uint8Array(l.count(li) * RECORD_BYTES[li & 1]);
  l.copyRecords(li, 0, l.count(li), out, 0);
  const keys: string[] = [];
  for (let p = 0; p < out.length; p += RECORD_BYTES[li & 1]) {
    keys.push([...out.subarray(p, p + KEY_BYTES[li & 1])].join("."));
  }
  return keys;
}

Deno.test("PeerLists keeps records sorted by address and port, one per peer", () => {
  const l = lists();
  ok(add(l, V4, "10.0.0.2", 1));
  ok(add(l, V4, "10.0.0.1", 2));
  ok(add(l, V4, "10.0.0.1", 1));
  ok(!add(l, V4, "10.0.0.1", 2), "a duplicate is found, not inserted");
  deepStrictEqual(wire(l, V4), ["10.0.0.1.0.1", "10.0.0.1.0.2", "10.0.0.2.0.1"]);
  strictEqual(l.setKey(ipFromString("2001:db8::1")!, 80), 1);
  ok(add(l, V6, "2001:db8::1", 80, PEER_FLAG.seeding));
  strictEqual(l.count(V6), 1);
  strictEqual(l.seeds(V6), 1);
});

Deno.test("PeerLists grows and shrinks its block as peers come and go", () => {
  const l = lists();
  for (let i = 0; i < 1000; i++) {
    add(l, V4, `10.0.${i >> 8}.${i & 255}`, 6881, i % 2 ? PEER_FLAG.seeding : 0);
  }
  strictEqual(l.count(V4), 1000);
  strictEqual(l.seeds(V4), 500);
  const grownBytes = l.store.bytesLive;
  ok(grownBytes >= 8000 && grownBytes <= 16384, `${grownBytes}`);
  for (let i = 999; i >= 10; i--) {
    l.setKey(ipFromString(`10.0.${i >> 8}.${i & 255}`)!, 6881);
    l.removeAt(V4, l.search(V4));
  }
  strictEqual(l.count(V4), 10);
  strictEqual(l.seeds(V4), 5);
  ok(l.store.bytesLive <= 256, `shrunk to ${l.store.bytesLive}`);
  l.free(V4);
  strictEqual(l.store.bytesLive, 0);
});

Deno.test("PeerLists.expire() ages peers and drops those reaching the timeout", () => {
  const l = lists();
  add(l, V4, "10.0.0.1", 1, 0, 0);
  add(l, V4, "10.0.0.2", 1, PEER_FLAG.seeding, 40);
  add(l, V4, "10.0.0.3", 1, 0, 44);
  strictEqual(l.expire(V4, 1, 45), 1);
  strictEqual(l.seedsDropped, 0);
  deepStrictEqual(wire(l, V4), ["10.0.0.1.0.1", "10.0.0.2.0.1"]);
  strictEqual(l.expire(V4, 4, 45), 1);
  strictEqual(l.seedsDropped, 1);
  strictEqual(l.seeds(V4), 0);
  strictEqual(l.expire(V4, 1, 45), 0);
  strictEqual(l.count(V4), 1);
});

Deno.test("PeerLists.select() returns distinct peers, leechers first and seeders last", () => {
  const l = lists();
  for (let i = 0; i < 100; i++) add(l, V4, `10.0.0.${i}`, 1, i < 30 ? PEER_FLAG.seeding : 0);
  const prng = new Prng([1, 2, 3, 4]);
  const hits = new Map<number, number>();
  for (let round = 0; round < 2000; round++) {
    const dst = new Uint8Array(6 * 20);
    strictEqual(l.select(V4, 20, dst, 0, prng), 120);
    const got = new Set<number>();
    let seenSeed = false;
    for (let k = 0; k < 20; k++) {
      const last = dst[6 * k + 3];
      ok(!got.has(last), "no peer twice");
      got.add(last);
      const seed = last < 30;
      ok(!seenSeed || seed, "seeders come after leechers");
      seenSeed ||= seed;
      hits.set(last, (hits.get(last) ?? 0) + 1);
    }
  }
  // Every peer is about equally likely: 2000 × 20 / 100 = 400 each.
  for (let i = 0; i < 100; i++) {
    const h = hits.get(i) ?? 0;
    ok(h > 300 && h < 500, `peer ${i} picked ${h} times`);
  }
  // Windows of unequal width (100 / 30: widths 3 and 4): still every peer, about equally often
  // (the random rotation spreads the narrower windows), and never one twice.
  const spread = new Map<number, number>();
  for (let round = 0; round < 2000; round++) {
    const dst = new Uint8Array(6 * 30);
    strictEqual(l.select(V4, 30, dst, 0, prng), 180);
    const got = new Set<number>();
    for (let k = 0; k < 30; k++) got.add(dst[6 * k + 3]);
    strictEqual(got.size, 30);
    for (const last of got) spread.set(last, (spread.get(last) ?? 0) + 1);
  }
  for (let i = 0; i < 100; i++) {
    const h = spread.get(i) ?? 0;
    ok(h > 480 && h < 720, `peer ${i} picked ${h} times of 600 expected`);
  }
  // Asking for more than the list holds returns it all, in order.
  const all = new Uint8Array(6 * 100);
  strictEqual(l.select(V4, 500, all, 0, prng), 600);
  strictEqual(l.select(V4, 0, all, 0, prng), 0);
});

Deno.test("PeerLists.load() and merge() take sorted records and skip known peers", () => {
  const a = lists();
  for (const i of [1, 3, 5]) add(a, V4, `10.0.0.${i}`, 1, i === 3 ? PEER_FLAG.seeding : 0, i);
  const records = new Uint8Array(3 * 8);
  a.copyRecords(V4, 0, 3, records, 0);
  const b = lists();
  strictEqual(b.load(V4, records, 0, 3), 1);
  deepStrictEqual(wire(b, V4), wire(a, V4));
  const c = lists();
  add(c, V4, "10.0.0.3", 1, PEER_FLAG.seeding);
  add(c, V4, "10.0.0.4", 1);
  strictEqual(c.merge(V4, records, 0, 3), 2);
  strictEqual(c.seedsAdded, 0);
  strictEqual(c.seeds(V4), 1);
  deepStrictEqual(wire(c, V4).map((k) => k.split(".")[3]), ["1", "3", "4", "5"]);
});

Deno.test("splitAmount() gives each family at least a quarter, the rest by size", () => {
  const split = new Int32Array(2);
  const s = (c4: number, c6: number, n: number) => (splitAmount(c4, c6, n, split), [...split]);
  deepStrictEqual(s(10, 5, 50), [10, 5], "all fit");
  deepStrictEqual(s(1000, 0, 50), [50, 0]);
  deepStrictEqual(s(0, 1000, 50), [0, 50]);
  deepStrictEqual(s(1000, 1000, 50), [25, 25]);
  const [v4, v6] = s(10000, 100, 200);
  strictEqual(v4 + v6, 200);
  ok(v6 >= 50, "the small family still gets a quarter");
  for (const [c4, c6, n] of [[7, 300, 50], [3, 3, 5], [1, 1000, 2], [999, 1, 100]]) {
    const [a, b] = s(c4, c6, n);
    strictEqual(a + b, Math.min(n, c4 + c6), `${c4},${c6},${n}`);
    ok(a <= c4 && b <= c6);
  }
});
