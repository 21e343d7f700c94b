/**
 * Bad input never crashes the tracker: thousands of random and mutated datagrams and request
 * lines against a running process, which must then still answer correctly and must not have
 * logged an internal failure.
 */

import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { writeAnnounceRequest, writeConnectRequest } from "../src/protocol/udp.ts";
import { Prng } from "../src/util/random.ts";
import { httpClient, randomHash, receiveWithTimeout, udpClient } from "./support/clients.ts";
import { latin1Bytes, rawHttp } from "./support/http.ts";
import { metric, TrackerProcess, withConfiguredTracker, withTracker } from "./support/process.ts";
import { RawUdp } from "./support/raw_udp.ts";
import { needs } from "./requirements.ts";

const seed = crypto.getRandomValues(new Uint32Array(4));
const prng = new Prng(seed);
const rand = (n: number) => prng.below(n);

function randomBytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = rand(256);
  return b;
}

/**
 * Runs `fn` against a tracker on 127.0.0.1: on the batched FFI UDP path when `batch` (the
 * default), on the portable path without the FFI grant otherwise.
 */
function withUdpTracker(batch: boolean, fn: (t: TrackerProcess) => Promise<void>) {
  return withTracker(
    ["-i", "127.0.0.1", "-p", "0", "-P", "0"],
    2,
    fn,
    batch ? [] : ["--deny-ffi"],
  );
}

for (const batch of [false, true]) {
  const path = batch ? "batched UDP path" : "UDP server";
  Deno.test(`random datagrams do not break the ${path} (seed ${seed.join(",")})`, async () => {
    await withUdpTracker(batch, async (t) => {
      const sock = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
      const target: Deno.NetAddr = { transport: "udp", hostname: "127.0.0.1", port: t.udp[0] };
      try {
        const buf = new Uint8Array(8192);
        const req = new Uint8Array(16);
        writeConnectRequest(req, 1);
        await sock.send(req, target);
        const id = (await receiveWithTimeout(sock, buf, 5000)).slice(8, 16);
        for (let i = 0; i < 5000; i++) {
          let d: Uint8Array;
          switch (i % 4) {
            case 0:
              // Now and then larger than the receive buffer (8192 bytes): truncated, not fatal.
              d = randomBytes(i % 400 === 0 ? 9000 : rand(120));
              break;
            case 1: {
              // A valid connection id and a plausible action, random body: reaches the parsers.
              d = randomBytes(16 + rand(1600));
              d.set(id, 0);
              d[8] = d[9] = d[10] = 0;
              d[11] = 1 + rand(2);
              break;
            }
            case 2: {
              // A valid announce with a few bytes flipped.
              d = new Uint8Array(98 + rand(20));
              writeAnnounceRequest(d, {
                connectionId: id,
                transactionId: i,
                infoHash: randomHash(),
                port: rand(65536),
                numwant: rand(2) ? 0xffffffff : rand(1000),
                event: rand(5),
                left: rand(2),
              });
              for (let k = 0; k < 3; k++) d[16 + rand(d.length - 16)] = rand(256);
              break;
            }
            default:
              d = new Uint8Array(16);
              writeConnectRequest(d, i);
              d[rand(16)] ^= 1 << rand(8);
          }
          await sock.send(d, target);
        }
      } finally {
        sock.close();
      }
      const client = udpClient("127.0.0.1", t.udp[0]);
      try {
        const r = await client.announce({ hash: randomHash(), port: 4242 });
        deepStrictEqual(r.peers, ["127.0.0.1:4242"]);
      } finally {
        client.close();
      }
      ok(!/failed/i.test(t.output()), `tracker logged a failure:\n${t.output()}`);
    });
  });
}

// A reply to source port 0 fails in the kernel (EINVAL): the batched path once dropped every
// reply after it in its batch, so a stranger forging such datagrams silenced the other clients.
const ROUND_PAIRS = 25;
for (const batch of [true, false]) {
  const path = batch ? "batched UDP path" : "UDP server";
  Deno.test({
    name: `datagrams forged from source port 0 cost only their own replies on the ${path}`,
    ...needs("root"),
    async fn() {
      const conf = `tracker.workers 1\nlisten.udp.batch ${batch ? "on" : "off"}\n`;
      await withConfiguredTracker(conf, async (t) => {
        const rounds = 200;
        const sock = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
        const raw = new RawUdp();
        try {
          const client = (sock.addr as Deno.NetAddr).port;
          const req = new Uint8Array(16);
          const buf = new Uint8Array(64);
          const seen = new Set<number>();
          // Sent back to back, so that the tracker reads them in the same batches; a round's
          // worth at a time, which the smallest receive buffer holds.
          for (let from = 0; from < rounds; from += ROUND_PAIRS) {
            for (let i = from; i < from + ROUND_PAIRS; i++) {
              writeConnectRequest(req, 100_000 + i);
              raw.send(0, t.udp[0], req);
              writeConnectRequest(req, i);
              raw.send(client, t.udp[0], req);
            }
            while (seen.size < from + ROUND_PAIRS) {
              const reply = await receiveWithTimeout(sock, buf, 5000);
              seen.add(new DataView(reply.buffer, reply.byteOffset).getUint32(4));
            }
          }
          deepStrictEqual(Math.max(...seen), rounds - 1);
        } finally {
          raw.close();
          sock.close();
        }
        // One socket, read in order: every forged datagram came before the last reply.
        const dropped = 'opentracker_udp_errors_total{reason="reply_dropped"}';
        strictEqual(await metric(t.tcp[0], dropped), rounds);
        ok(!/failed/i.test(t.output()), `tracker logged a failure:\n${t.output()}`);
      });
    },
  });
}

const CHARS = "abcdefghijklmnopqrstuvwxyz%0123456789&=?/@#[]{}\"'<>\\^`|~!$()*+,;:._- \t";

function randomTarget(): string {
  const base = ["/announce?", "/scrape?", "/stats?", "/", "/a?", "/sc?", ""][rand(7)];
  let s = base;
  const n = rand(200);
  for (let i = 0; i < n; i++) s += CHARS[rand(CHARS.length)];
  return s;
}

function randomRequest(): Uint8Array {
  switch (rand(5)) {
    case 0:
      return randomBytes(1 + rand(300));
    case 1:
      return latin1Bytes(
        `${["GET", "POST", "HEAD", "get", "PUT"][rand(5)]} ${randomTarget()} HTTP/1.1\r\n\r\n`,
      );
    case 2: {
      // Binary bytes inside the target.
      const head = latin1Bytes("GET /announce?info_hash=");
      const tail = latin1Bytes(" HTTP/1.1\r\nHost: x\r\n\r\n");
      const mid = randomBytes(1 + rand(40));
      return new Uint8Array([...head, ...mid, ...tail]);
    }
    case 3:
      return latin1Bytes(
        `GET ${randomTarget()} HTTP/1.1\r\nX-Forwarded-For: ${randomTarget()}\r\n\r\n`,
      );
    default:
      return latin1Bytes(
        `GET /announce?info_hash=${"%41".repeat(rand(40))}&port=${randomTarget()} HTTP/1.0\r\n\r\n`,
      );
  }
}

Deno.test(`random request lines do not break the HTTP server (seed ${seed.join(",")})`, async () => {
  await withTracker(["-i", "127.0.0.1", "-p", "0", "-P", "0"], 2, async (t) => {
    const statuses = new Map<number, number>();
    for (let batch = 0; batch < 40; batch++) {
      await Promise.all(Array.from({ length: 25 }, async () => {
        let status = 0;
        try {
          status = (await rawHttp("127.0.0.1", t.tcp[0], randomRequest(), 3000)).status;
        } catch {
          // A connection closed without a response is an acceptable answer to garbage.
        }
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }));
    }
    // Garbage gets client errors; a 5xx would mean the tracker failed on it.
    ok([...statuses.keys()].every((s) => s < 500), `statuses seen: ${[...statuses]}`);
    ok((statuses.get(400) ?? 0) > 0, `statuses seen: ${[...statuses]}`);
    const r = await httpClient("127.0.0.1", t.tcp[0]).announce({ hash: randomHash(), port: 4243 });
    deepStrictEqual(r.peers, ["127.0.0.1:4243"]);
    const res = await rawHttp("127.0.0.1", t.tcp[0], "GET /nothing HTTP/1.1\r\n\r\n");
    strictEqual(res.status, 404);
    ok(!/failed/i.test(t.output()), `tracker logged a failure:\n${t.output()}`);
  });
});
