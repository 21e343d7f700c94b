import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { AnnounceRequest } from "../types.ts";
import { fromHex, toHex } from "../util/hex.ts";
import { ipFromString } from "../util/ip.ts";
import {
  checkLivesync,
  LIVESYNC,
  LIVESYNC_DROP,
  LivesyncOutbox,
  openLivesync,
  readLivesyncRecord,
  sealLivesync,
} from "./livesync.ts";

const ID = Uint8Array.of(0xde, 0xad, 0xbe, 0xef);
const OTHER_ID = Uint8Array.of(1, 2, 3, 4);
const HASH = fromHex("0123456789abcdef0123456789abcdef01234567");

function collect(delayMs = 15_000, trailer = 0) {
  const sent: Uint8Array[] = [];
  const box = new LivesyncOutbox(ID, trailer, delayMs, (p) => sent.push(p.slice()));
  return { box, sent };
}

Deno.test("live sync: an IPv4 and an IPv6 record have opentracker's bytes", () => {
  const { box, sent } = collect();
  box.add(HASH, ipFromString("10.1.2.3")!, 6881, 0x80 | 0x40 | 0x10, 0);
  box.add(HASH, ipFromString("2001:db8::1")!, 0xabcd, 0x20, 0);
  box.flushAll();
  strictEqual(sent.length, 2);
  // Tracker id raw, type 0 big-endian, hash, ip, port BE, flags (FROM_SYNC stripped), age 0.
  strictEqual(
    toHex(sent[0]),
    "deadbeef" + "00000000" + "0123456789abcdef0123456789abcdef01234567" + "0a010203" + "1ae1" +
      "c0" + "00",
  );
  strictEqual(
    toHex(sent[1]),
    "deadbeef" + "00000001" + "0123456789abcdef0123456789abcdef01234567" +
      "20010db8000000000000000000000001" + "abcd" + "20" + "00",
  );
  strictEqual(sent[0].length, 8 + 28);
  strictEqual(sent[1].length, 8 + 40);
});

Deno.test("live sync: a packet is decoded into requests, v4 records v4-mapped", () => {
  const { box, sent } = collect();
  box.add(HASH, ipFromString("10.1.2.3")!, 6881, 0x80, 0);
  box.add(HASH, ipFromString("10.1.2.4")!, 1, 0x20, 0);
  box.flushAll();
  const p = sent[0];
  strictEqual(checkLivesync(p, p.length, OTHER_ID), 2);
  const req = new AnnounceRequest();
  strictEqual(readLivesyncRecord(p, 0, req), 0x80);
  deepStrictEqual(req.ip, ipFromString("10.1.2.3"));
  strictEqual(req.port, 6881);
  deepStrictEqual(req.infoHash, HASH);
  strictEqual(readLivesyncRecord(p, 1, req), 0x20);
  deepStrictEqual(req.ip, ipFromString("10.1.2.4"));
  strictEqual(req.port, 1);
});

Deno.test("live sync: malformed, truncated and own packets are refused", () => {
  const { box, sent } = collect();
  box.add(HASH, ipFromString("2001:db8::1")!, 1, 0, 0);
  box.flushAll();
  const p = sent[0];
  strictEqual(checkLivesync(p, p.length, ID), LIVESYNC_DROP.ownTrackerId);
  strictEqual(checkLivesync(p, 8, OTHER_ID), LIVESYNC_DROP.malformed);
  strictEqual(checkLivesync(p, p.length - 1, OTHER_ID), LIVESYNC_DROP.malformed);
  const wrongType = p.slice();
  wrongType[7] = 2;
  strictEqual(checkLivesync(wrongType, p.length, OTHER_ID), LIVESYNC_DROP.malformed);
  wrongType[7] = 1;
  wrongType[4] = 1;
  strictEqual(checkLivesync(wrongType, p.length, OTHER_ID), LIVESYNC_DROP.malformed);
  const big = new Uint8Array(LIVESYNC.packetBytesMax + 40);
  big[7] = 1;
  strictEqual(checkLivesync(big, big.length, OTHER_ID), LIVESYNC_DROP.malformed);
});

Deno.test("live sync: a buffer is sent when the next record would pass 1480 bytes", () => {
  const { box, sent } = collect();
  const v6 = ipFromString("2001:db8::1")!;
  // (1480 - 8) / 40 = 36.8: the 36th record fills the packet, which goes at once.
  for (let i = 0; i < 36; i++) box.add(HASH, v6, i, 0, 0);
  strictEqual(sent.length, 1);
  strictEqual(sent[0].length, 8 + 36 * 40);
  const v4 = ipFromString("10.0.0.1")!;
  for (let i = 0; i < 52; i++) box.add(HASH, v4, i, 0, 0);
  strictEqual(sent.length, 2);
  strictEqual(sent[1].length, 8 + 52 * 28);
  for (const s of sent) strictEqual(s.length <= LIVESYNC.packetBytesMax, true);
  // With a trailer, records leave room for its 36 bytes.
  const t = collect(15_000, LIVESYNC.trailerBytes);
  for (let i = 0; i < 36; i++) t.box.add(HASH, v6, i, 0, 0);
  strictEqual(t.sent.length, 1);
  strictEqual(t.sent[0].length, 8 + 35 * 40);
});

Deno.test("live sync: queued records go after the flush delay, not before", () => {
  const { box, sent } = collect(15_000);
  box.add(HASH, ipFromString("10.0.0.1")!, 1, 0, 1_000);
  box.tick(15_999);
  strictEqual(sent.length, 0);
  box.add(HASH, ipFromString("10.0.0.2")!, 1, 0, 15_000);
  box.tick(16_000);
  strictEqual(sent.length, 1);
  strictEqual(checkLivesync(sent[0], sent[0].length, OTHER_ID), 2);
  box.tick(60_000);
  strictEqual(sent.length, 1);
});

Deno.test("live sync: the HMAC trailer accepts the right key only, within the time window", () => {
  const key = fromHex("00112233445566778899aabbccddeeff");
  const { box, sent } = collect(1, LIVESYNC.trailerBytes);
  box.add(HASH, ipFromString("10.0.0.1")!, 1, 0, 0);
  box.flushAll();
  const buf = new Uint8Array(LIVESYNC.packetBytesMax);
  buf.set(sent[0]);
  const n = sealLivesync(buf, sent[0].length, key, 1_000_000);
  strictEqual(n, sent[0].length + 36);
  strictEqual(openLivesync(buf.slice(), n, key, 1_000_030), sent[0].length);
  const wrong = fromHex("00112233445566778899aabbccddeefe");
  strictEqual(openLivesync(buf.slice(), n, wrong, 1_000_000), LIVESYNC_DROP.malformed);
  strictEqual(openLivesync(buf.slice(), n, key, 1_000_061), LIVESYNC_DROP.malformed);
  const flipped = buf.slice();
  flipped[20] ^= 1;
  strictEqual(openLivesync(flipped, n, key, 1_000_000), LIVESYNC_DROP.malformed);
  strictEqual(openLivesync(buf.slice(), 20, key, 1_000_000), LIVESYNC_DROP.malformed);
});
