import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { AnnounceRequest } from "../types.ts";
import {
  fromOf,
  HTTP_ANNOUNCE_BYTES,
  putScrapeAnswerEntry,
  putScrapeQueryEntry,
  readHttpAnnounce,
  readScrapeAnswerEntry,
  readSyncRecord,
  requestIdOf,
  SCRAPE_ANSWER_ENTRY_BYTES,
  SCRAPE_HEAD_BYTES,
  SCRAPE_QUERY_ENTRY_BYTES,
  SHARD_MESSAGE,
  SYNC_RECORD_BYTES,
  writeForwardUdpHead,
  writeHttpAnnounce,
  writeHttpReplyHead,
  writeScrapeHead,
  writeSyncRecord,
} from "./shard_message.ts";

Deno.test("a forwarded datagram carries its listener and the sender's address", () => {
  const b = new Uint8Array(64);
  const names = new Uint8Array(56).map((_, i) => i);
  writeForwardUdpHead(b, 4, 3, names, 28, 16);
  strictEqual(b[4], SHARD_MESSAGE.forwardUdp);
  strictEqual(b[5], 3);
  strictEqual(b[6], 16);
  deepStrictEqual([...b.subarray(8, 24)], [...names.subarray(28, 44)]);
});

Deno.test("a scrape query and its answer keep positions, counts and the request id", () => {
  const b = new Uint8Array(256);
  const hashes = new Uint8Array(60).map((_, i) => 255 - i);
  writeScrapeHead(b, 0, SHARD_MESSAGE.scrapeQuery, 2, 513, 0xdeadbeef);
  putScrapeQueryEntry(b, 0, 0, 1, hashes, 20);
  putScrapeQueryEntry(b, 0, 1, 2, hashes, 40);
  strictEqual(fromOf(b, 0), 513);
  strictEqual(requestIdOf(b, 0), 0xdeadbeef);
  const e1 = SCRAPE_HEAD_BYTES + SCRAPE_QUERY_ENTRY_BYTES;
  strictEqual(b[e1], 2);
  deepStrictEqual([...b.subarray(e1 + 1, e1 + 21)], [...hashes.subarray(40, 60)]);

  const a = new Uint8Array(SCRAPE_HEAD_BYTES + 2 * SCRAPE_ANSWER_ENTRY_BYTES);
  writeScrapeHead(a, 0, SHARD_MESSAGE.scrapeAnswer, 2, 0, 7);
  putScrapeAnswerEntry(a, 0, 0, 1, { seeders: 5, leechers: 6, downloaded: 2 ** 40 });
  putScrapeAnswerEntry(a, 0, 1, 2, null);
  const out = { seeders: 0, leechers: 0, downloaded: 0 };
  strictEqual(readScrapeAnswerEntry(a, 0, 0, out), 1);
  // A count past 32 bits saturates instead of wrapping.
  deepStrictEqual(out, { seeders: 5, leechers: 6, downloaded: 0xffffffff });
  strictEqual(readScrapeAnswerEntry(a, 0, 1, out), -3);
});

Deno.test("an HTTP announce survives the record, field by field", () => {
  const req = new AnnounceRequest();
  req.event = 2;
  req.infoHash.fill(7);
  req.ip.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 10, 1, 2, 3]);
  req.port = 51413;
  req.seeding = true;
  req.numwant = 200;
  req.peerId.set(new TextEncoder().encode("-qB4650-k8hj3Lx9Ap0u"));
  req.hasPeerId = true;
  const b = new Uint8Array(HTTP_ANNOUNCE_BYTES + 8);
  writeHttpAnnounce(b, 8, 3, 99, req);
  strictEqual(b[8], SHARD_MESSAGE.httpAnnounce);
  strictEqual(fromOf(b, 8), 3);
  strictEqual(requestIdOf(b, 8), 99);
  const back = new AnnounceRequest();
  readHttpAnnounce(b, 8, back);
  deepStrictEqual(
    [back.event, [...back.infoHash], [...back.ip], back.port, back.seeding, back.numwant],
    [2, [...req.infoHash], [...req.ip], 51413, true, 200],
  );
  deepStrictEqual([back.hasPeerId, [...back.peerId]], [true, [...req.peerId]]);
  req.hasPeerId = false;
  writeHttpAnnounce(b, 8, 3, 99, req);
  readHttpAnnounce(b, 8, back);
  strictEqual(back.hasPeerId, false);
  writeHttpReplyHead(b, 0, 0x01020304);
  strictEqual(b[0], SHARD_MESSAGE.httpReply);
  strictEqual(requestIdOf(b, 0), 0x01020304);
});

Deno.test("a live sync record keeps its hash, address, port and flags", () => {
  const h = new Uint8Array(20).map((_, i) => i + 1);
  const ip = new Uint8Array(16).map((_, i) => 200 + i);
  const b = new Uint8Array(SYNC_RECORD_BYTES + 4);
  writeSyncRecord(b, 4, SHARD_MESSAGE.syncOut, h, ip, 51413, 0x03);
  strictEqual(b[4], SHARD_MESSAGE.syncOut);
  const req = new AnnounceRequest();
  strictEqual(readSyncRecord(b, 4, req), 0x03);
  deepStrictEqual([[...req.infoHash], [...req.ip], req.port], [[...h], [...ip], 51413]);
});
