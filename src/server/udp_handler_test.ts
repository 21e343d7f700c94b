import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { ConnectionIds } from "../protocol/connection_id.ts";
import {
  readAnnounceReply,
  writeAnnounceRequest,
  writeConnectRequest,
  writeScrapeRequest,
} from "../protocol/udp.ts";
import { AccessControl } from "../logic/access.ts";
import { HashSet20 } from "../swarm/hash_set.ts";
import { ipFromString } from "../util/ip.ts";
import { testLogic } from "../../tests/support/logic.ts";
import { UDP_REPLY_BYTES_MAX, UdpHandler } from "./udp_handler.ts";

const NOW = 1_800_000_000;
const CLIENT = ipFromString("192.0.2.7")!;
const HASH = new Uint8Array(20).fill(0x11);
const SEED = Uint32Array.of(1, 2, 3, 4);

function setup(access = new AccessControl("open", new HashSet20(SEED), SEED)) {
  const { logic, counters } = testLogic({ access });
  const handler = new UdpHandler({
    logic,
    counters,
    connectionIds: new ConnectionIds(new Uint8Array(16).fill(9)),
  });
  const out = new Uint8Array(UDP_REPLY_BYTES_MAX);
  const send = (bytes: Uint8Array, ip = CLIENT, now = NOW) =>
    out.slice(0, handler.handle(bytes, bytes.length, ip, now, out));
  const connect = (ip = CLIENT): Uint8Array => {
    const buf = new Uint8Array(16);
    writeConnectRequest(buf, 0x01020304);
    const reply = send(buf, ip);
    strictEqual(reply.length, 16);
    deepStrictEqual([...reply.subarray(0, 8)], [0, 0, 0, 0, 1, 2, 3, 4]);
    return reply.slice(8, 16);
  };
  return { counters, send, connect };
}

Deno.test("UdpHandler answers connect and a first announce with opentracker's bytes", () => {
  const { send, connect } = setup();
  const id = connect();
  const buf = new Uint8Array(98);
  writeAnnounceRequest(buf, {
    connectionId: id,
    transactionId: 0xabcdef01,
    infoHash: HASH,
    port: 6881,
  });
  const reply = send(buf);
  strictEqual(reply.length, 26);
  const r = readAnnounceReply(reply, reply.length);
  strictEqual(r.transactionId, 0xabcdef01);
  ok(r.interval >= 1620 && r.interval <= 1979, `interval ${r.interval}`);
  deepStrictEqual([r.leechers, r.seeders], [1, 0]);
  deepStrictEqual([...r.peers], [192, 0, 2, 7, 0x1a, 0xe1]);
});

Deno.test("UdpHandler sends the 33-byte mismatch error for a bad connection id", () => {
  const { send, counters } = setup();
  const buf = new Uint8Array(98);
  writeAnnounceRequest(buf, {
    connectionId: new Uint8Array(8),
    transactionId: 7,
    infoHash: HASH,
    port: 1,
  });
  const reply = send(buf);
  deepStrictEqual(
    [...reply],
    [0, 0, 0, 3, 0, 0, 0, 7, ...new TextEncoder().encode("Connection ID missmatch."), 0],
  );
  strictEqual(counters.udpConnectionIdMismatches, 1);
  // A 16-byte request would be amplified to 33 bytes: dropped instead.
  strictEqual(send(buf.slice(0, 16)).length, 0);
});

Deno.test("UdpHandler drops what opentracker drops: short, unknown action, bad magic", () => {
  const { send, connect } = setup();
  const id = connect();
  const short = new Uint8Array(15);
  strictEqual(send(short).length, 0, "shorter than 16");
  const badMagic = new Uint8Array(16);
  strictEqual(send(badMagic).length, 0, "connect without the protocol id");
  const action9 = new Uint8Array(16);
  action9.set(id, 0);
  action9[11] = 9;
  strictEqual(send(action9).length, 0, "unknown action");
  const shortAnnounce = new Uint8Array(97);
  writeAnnounceRequest(new Uint8Array(98), {
    connectionId: id,
    transactionId: 1,
    infoHash: HASH,
    port: 1,
  });
  shortAnnounce.set(id, 0);
  shortAnnounce[11] = 1;
  strictEqual(send(shortAnnounce).length, 0, "announce under 98 bytes");
});

Deno.test("UdpHandler scrapes whole hashes only, zeros for unknown torrents", () => {
  const { send, connect } = setup();
  const id = connect();
  const ann = new Uint8Array(98);
  writeAnnounceRequest(ann, {
    connectionId: id,
    transactionId: 1,
    infoHash: HASH,
    port: 1,
    left: 0,
  });
  send(ann);
  const hashes = new Uint8Array(40 + 7);
  hashes.set(HASH, 20);
  const buf = new Uint8Array(16 + hashes.length);
  writeScrapeRequest(buf, id, 0x55, hashes);
  const reply = send(buf);
  strictEqual(reply.length, 8 + 24, "the trailing 7 bytes are not a hash");
  deepStrictEqual([...reply.subarray(0, 8)], [0, 0, 0, 2, 0, 0, 0, 0x55]);
  deepStrictEqual([...reply.subarray(8, 20)], new Array(12).fill(0));
  deepStrictEqual([...reply.subarray(20, 32)], [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
});

Deno.test("UdpHandler caps scrapes at 74 hashes and stops reply with 20 bytes", () => {
  const { send, connect } = setup();
  const id = connect();
  const buf = new Uint8Array(16 + 20 * 80);
  writeScrapeRequest(buf, id, 1, new Uint8Array(20 * 80));
  strictEqual(send(buf).length, 8 + 12 * 74);
  const stop = new Uint8Array(98);
  writeAnnounceRequest(stop, {
    connectionId: id,
    transactionId: 2,
    infoHash: HASH,
    port: 1,
    event: 3,
  });
  const reply = send(stop);
  strictEqual(reply.length, 20);
  deepStrictEqual([reply[15], reply[19]], [0, 0]);
});

Deno.test("UdpHandler returns only the requester's family and honours the caps", () => {
  const { send, connect } = setup();
  const v6 = ipFromString("2001:db8::5")!;
  for (let i = 0; i < 80; i++) {
    const ip = ipFromString(`2001:db8::${(i + 16).toString(16)}`)!;
    const id = connect(ip);
    const buf = new Uint8Array(98);
    writeAnnounceRequest(buf, {
      connectionId: id,
      transactionId: i,
      infoHash: HASH,
      port: 1,
      numwant: 0,
    });
    send(buf, ip);
  }
  const id4 = connect();
  const buf = new Uint8Array(98);
  writeAnnounceRequest(buf, { connectionId: id4, transactionId: 1, infoHash: HASH, port: 1 });
  const r4 = readAnnounceReply(send(buf), send(buf).length);
  strictEqual(r4.peers.length, 6, "an IPv4 client gets only itself");
  const id6 = connect(v6);
  writeAnnounceRequest(buf, {
    connectionId: id6,
    transactionId: 1,
    infoHash: HASH,
    port: 1,
    numwant: 0xffffffff,
  });
  const reply6 = send(buf, v6);
  strictEqual(reply6.length, 20 + 66 * 18, "numwant -1 means the IPv6 cap of 66");
});

Deno.test("UdpHandler answers a refused announce with a BEP 15 error carrying the HTTP text", () => {
  const list = new HashSet20(SEED);
  list.add(new Uint8Array(20).fill(0x22));
  const { send, connect } = setup(new AccessControl("whitelist", list, SEED));
  const id = connect();
  const buf = new Uint8Array(98);
  writeAnnounceRequest(buf, { connectionId: id, transactionId: 9, infoHash: HASH, port: 1 });
  const reply = send(buf);
  deepStrictEqual([...reply.subarray(0, 8)], [0, 0, 0, 3, 0, 0, 0, 9]);
  strictEqual(
    new TextDecoder().decode(reply.subarray(8)),
    "Requested download is not authorized for use with this tracker.",
  );
  writeAnnounceRequest(buf, {
    connectionId: id,
    transactionId: 10,
    infoHash: new Uint8Array(20).fill(0x22),
    port: 1,
  });
  strictEqual(send(buf).length, 26, "a listed hash is served");
  // Stops and scrapes are not access-checked, as in opentracker.
  writeAnnounceRequest(buf, {
    connectionId: id,
    transactionId: 11,
    infoHash: HASH,
    port: 1,
    event: 3,
  });
  strictEqual(send(buf).length, 20);
});
