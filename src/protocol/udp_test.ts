import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { AnnounceRequest, EVENT } from "../types.ts";
import {
  ACTION,
  ANNOUNCE_REQUEST_BYTES,
  CONNECT_BYTES,
  mayAnswerMismatch,
  MISMATCH_REPLY_BYTES,
  parseUdpRequest,
  readAnnounceReply,
  readConnectReply,
  readErrorReply,
  readScrapeReply,
  readU32,
  scrapeHashCount,
  UDP_REQUEST,
  writeAnnounceReplyHead,
  writeAnnounceRequest,
  writeConnectReplyHead,
  writeConnectRequest,
  writeErrorReply,
  writeMismatchReply,
  writeReplyHead,
  writeScrapeEntry,
  writeScrapeRequest,
} from "./udp.ts";

const ID = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
const HASH = Uint8Array.from({ length: 20 }, (_, i) => 100 + i);

Deno.test("a connect request round-trips, and only the protocol id makes it a connect", () => {
  const buf = new Uint8Array(16);
  strictEqual(writeConnectRequest(buf, 0xdeadbeef), CONNECT_BYTES);
  const req = new AnnounceRequest();
  strictEqual(parseUdpRequest(buf, 16, req), UDP_REQUEST.connect);
  buf[0] = 1;
  strictEqual(parseUdpRequest(buf, 16, req), UDP_REQUEST.drop);
  strictEqual(parseUdpRequest(buf, 15, req), UDP_REQUEST.drop, "shorter than 16 bytes");
});

Deno.test("an announce request round-trips through parseUdpRequest()", () => {
  const cases = [
    { left: 0, event: 1, numwant: 30, port: 6881, seeding: true, expect: EVENT.completed },
    { left: 1, event: 2, numwant: 0xffffffff, port: 1, seeding: false, expect: EVENT.none },
    { left: 2 ** 40, event: 3, numwant: 0, port: 65535, seeding: false, expect: EVENT.stopped },
  ];
  for (const c of cases) {
    const buf = new Uint8Array(ANNOUNCE_REQUEST_BYTES);
    writeAnnounceRequest(buf, { connectionId: ID, transactionId: 7, infoHash: HASH, ...c });
    const req = new AnnounceRequest();
    strictEqual(parseUdpRequest(buf, buf.length, req), UDP_REQUEST.announce);
    deepStrictEqual([...req.infoHash], [...HASH]);
    deepStrictEqual(
      [req.port, req.seeding, req.event, req.numwant],
      [c.port, c.seeding, c.expect, c.numwant],
    );
    strictEqual(parseUdpRequest(buf, 97, req), UDP_REQUEST.shortAnnounce);
  }
});

Deno.test("a scrape request round-trips; only whole hashes count, at most 74", () => {
  const hashes = new Uint8Array(20 * 80).map((_, i) => i & 0xff);
  const buf = new Uint8Array(16 + hashes.length);
  const len = writeScrapeRequest(buf, ID, 9, hashes.subarray(0, 60));
  strictEqual(parseUdpRequest(buf, len, new AnnounceRequest()), UDP_REQUEST.scrape);
  strictEqual(scrapeHashCount(len), 3);
  strictEqual(scrapeHashCount(len + 19), 3, "a trailing partial hash is ignored");
  strictEqual(scrapeHashCount(16 + 20 * 80), 74);
  const other = new Uint8Array(16);
  writeScrapeRequest(other, ID, 9, new Uint8Array(0));
  new DataView(other.buffer).setUint32(8, 4);
  strictEqual(parseUdpRequest(other, 16, new AnnounceRequest()), UDP_REQUEST.drop, "action 4");
});

Deno.test("replies round-trip: connect, announce with peers, scrape, errors", () => {
  const req = new Uint8Array(ANNOUNCE_REQUEST_BYTES);
  writeAnnounceRequest(req, {
    connectionId: ID,
    transactionId: 0x01020304,
    infoHash: HASH,
    port: 1,
  });
  const out = new Uint8Array(512);

  const c = writeConnectReplyHead(req, out);
  out.set(ID, 8);
  deepStrictEqual(readConnectReply(out, c), { transactionId: 0x01020304, connectionId: ID });

  const head = writeAnnounceReplyHead(req, out, { interval: 1800, leechers: 3, seeders: 4 });
  out.set([10, 0, 0, 1, 0x1a, 0xe1], head);
  deepStrictEqual(readAnnounceReply(out, head + 6), {
    transactionId: 0x01020304,
    interval: 1800,
    leechers: 3,
    seeders: 4,
    peers: Uint8Array.of(10, 0, 0, 1, 0x1a, 0xe1),
  });

  out.fill(0xff);
  writeReplyHead(out, ACTION.scrape, req);
  writeScrapeEntry(out, 0, { seeders: 5, downloaded: 6, leechers: 7 });
  const end = writeScrapeEntry(out, 1, null);
  deepStrictEqual(readScrapeReply(out, end).entries, [
    { seeders: 5, completed: 6, leechers: 7 },
    { seeders: 0, completed: 0, leechers: 0 },
  ]);

  const e = writeErrorReply(req, out, "Requested download is not authorized");
  deepStrictEqual(readErrorReply(out, e), {
    transactionId: 0x01020304,
    message: "Requested download is not authorized",
  });
  const m = writeMismatchReply(req, out);
  strictEqual(m, MISMATCH_REPLY_BYTES);
  strictEqual(readErrorReply(out, m).message, "Connection ID missmatch.");
  strictEqual(readU32(out, 0), ACTION.error);
  throws(() => readAnnounceReply(out, m), /Not an announce reply/);
});

Deno.test("mayAnswerMismatch() never lets the error be larger than the request", () => {
  strictEqual(mayAnswerMismatch(16), false);
  strictEqual(mayAnswerMismatch(MISMATCH_REPLY_BYTES - 1), false);
  strictEqual(mayAnswerMismatch(MISMATCH_REPLY_BYTES), true);
});
