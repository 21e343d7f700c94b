/**
 * A load tool for your own tracker: aquatic's workload (skewed torrent popularity, 100 announce :
 * 1 scrape, numwant 30, 75 % seeders) over UDP (BEP 15) or HTTP, closed-loop (a bounded number of
 * requests in flight), bounded in time and in request count. It reports responses per second and
 * latency percentiles. One TypeScript process cannot saturate a fast tracker: for side-by-side
 * throughput runs use the C generator (scripts/bench.ts does).
 *
 *   deno run --allow-net scripts/load.ts --udp 127.0.0.1:6969 [--seconds 10] [--requests N]
 *   deno run --allow-net scripts/load.ts --http 127.0.0.1:6969 [--inflight 16]
 *   deno run --allow-net scripts/load.ts --ws 127.0.0.1:6969 [--inflight 200] [--offers 5]
 *   options: --torrents 10000 --peers 100000 --numwant 30 --inflight 32
 *
 * WebSocket (WebTorrent) mode: `--inflight` connections, each a peer of 5 torrents drawn with the
 * same popularity, announces in them in turn with `--offers` offers (about 500 bytes of SDP each)
 * and awaits the reply; every offer a connection receives it answers, as a browser does. Reports
 * announce replies, offers and answers received per second. The tracker's per-connection message
 * rate (`listen.ws.messages_per_second`), per-peer relay rate (`listen.ws.peer_relays_per_second`)
 * and per-address cap must allow the load.
 * `--ws HOST:PORT --idle N` opens N connections, announces once on each (no offers), prints
 * `holding N` and keeps them open for `--seconds` (the memory of idle connections).
 * `--json` prints the figures as one JSON line.
 */

import { parseArgs } from "node:util";
import {
  readU32,
  writeAnnounceRequest,
  writeConnectRequest,
  writeScrapeRequest,
} from "../src/protocol/udp.ts";
import { Prng } from "../src/util/random.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    udp: { type: "string" },
    http: { type: "string" },
    ws: { type: "string" },
    offers: { type: "string", default: "5" },
    /** WebSocket: open this many connections, announce once on each, hold them, print "holding". */
    idle: { type: "string" },
    json: { type: "boolean", default: false },
    seconds: { type: "string", default: "10" },
    requests: { type: "string", default: "10000000" },
    torrents: { type: "string", default: "10000" },
    peers: { type: "string", default: "100000" },
    numwant: { type: "string", default: "30" },
    inflight: { type: "string", default: "32" },
  },
});
const target = values.udp ?? values.http ?? values.ws;
if (!target) {
  console.error(
    "usage: load.ts --udp HOST:PORT | --http HOST:PORT | --ws HOST:PORT [--seconds N] [--requests N]",
  );
  Deno.exit(2);
}
const colon = target.lastIndexOf(":");
const host = target.slice(0, colon).replace(/^\[|\]$/g, "");
const port = Number(target.slice(colon + 1));
const seconds = Math.min(Number(values.seconds), 3600);
const maxRequests = Number(values.requests);
const torrents = Number(values.torrents);
const peers = Number(values.peers);
const numwant = Number(values.numwant);
const inflight = Math.min(Number(values.inflight), values.ws ? 20_000 : 1024);
const offersPerAnnounce = Math.min(Number(values.offers), 10);

// aquatic's popularity: w(i) = N/peers + exp(6.5 - 500 i / N), sampled through a cumulative table.
const prng = new Prng(crypto.getRandomValues(new Uint32Array(4)));
const hashes: Uint8Array[] = Array.from({ length: torrents }, () => {
  const h = new Uint8Array(20);
  for (let i = 0; i < 20; i++) h[i] = prng.below(256);
  return h;
});
const cumulative = new Float64Array(torrents);
let total = 0;
for (let i = 0; i < torrents; i++) {
  total += torrents / peers + Math.exp(6.5 - (500 * i) / torrents);
  cumulative[i] = total;
}
function pickTorrent(): number {
  const x = (prng.next32() / 4294967296) * total;
  let lo = 0;
  let hi = torrents - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const latencies: number[] = [];
let sent = 0;
let answered = 0;
let errors = 0;
const deadline = performance.now() + seconds * 1000;
const more = () => performance.now() < deadline && sent < maxRequests;

function percentile(p: number): number {
  if (latencies.length === 0) return 0;
  const sorted = [...latencies].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function udpWorker(): Promise<void> {
  const sock = Deno.listenDatagram({
    hostname: host.includes(":") ? "::" : "0.0.0.0",
    port: 0,
    transport: "udp",
  });
  const addr: Deno.NetAddr = { transport: "udp", hostname: host, port };
  const buf = new Uint8Array(8192);
  const req = new Uint8Array(16 + 20 * 10 + 98);
  const receive = async (txid: number): Promise<Uint8Array | null> => {
    const timer = setTimeout(() => sock.close(), 2000);
    try {
      while (true) {
        const [data] = await sock.receive(buf);
        if (readU32(data, 4) === txid) return data;
      }
    } catch {
      return null;
    } finally {
      clearTimeout(timer);
    }
  };
  writeConnectRequest(req, 1);
  await sock.send(req.subarray(0, 16), addr);
  const connected = await receive(1);
  if (connected === null) {
    errors++;
    return;
  }
  const id = connected.slice(8, 16);
  let tx = 2;
  try {
    while (more()) {
      const t = pickTorrent();
      let len: number;
      if (prng.below(101) === 0) {
        const n = 1 + prng.below(10);
        const all = new Uint8Array(20 * n);
        for (let k = 0; k < n; k++) all.set(hashes[pickTorrent()], 20 * k);
        len = writeScrapeRequest(req, id, tx, all);
      } else {
        len = writeAnnounceRequest(req, {
          connectionId: id,
          transactionId: tx,
          infoHash: hashes[t],
          port: 1 + prng.below(65535),
          left: prng.below(4) === 0 ? 1 : 0,
          numwant,
        });
      }
      const started = performance.now();
      sent++;
      await sock.send(req.subarray(0, len), addr);
      const reply = await receive(tx++);
      if (reply === null) {
        errors++;
        return;
      }
      answered++;
      latencies.push(performance.now() - started);
    }
  } finally {
    try {
      sock.close();
    } catch { /* closed by a timeout */ }
  }
}

async function httpWorker(): Promise<void> {
  const base = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  while (more()) {
    const h = hashes[pickTorrent()];
    const enc = [...h].map((b) => "%" + b.toString(16).padStart(2, "0")).join("");
    const url = prng.below(101) === 0
      ? `${base}/scrape?info_hash=${enc}`
      : `${base}/announce?info_hash=${enc}&peer_id=-LT0001-abcdefghijkl&port=${
        1 + prng.below(65535)
      }` +
        `&left=${prng.below(4) === 0 ? 1 : 0}&numwant=${numwant}&compact=1`;
    const started = performance.now();
    sent++;
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.ok) {
        answered++;
        latencies.push(performance.now() - started);
      } else errors++;
    } catch {
      errors++;
    }
  }
}

/** A 20-character binary string, as WebTorrent writes info_hash, peer_id and offer_id. */
function binaryString(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes);
}

const SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\n" + "a=x:".padEnd(440, "y") + "\r\n";
let offersReceived = 0;
let answersReceived = 0;

/** One WebSocket peer: announces with offers in its torrents in turn, answers offers it gets. */
async function wsWorker(): Promise<void> {
  const url = `ws://${host.includes(":") ? `[${host}]` : host}:${port}/announce`;
  const socket = new WebSocket(url);
  const opened = await new Promise<boolean>((resolve) => {
    socket.onopen = () => resolve(true);
    socket.onerror = () => resolve(false);
  });
  if (!opened) {
    errors++;
    return;
  }
  const peerId = binaryString(crypto.getRandomValues(new Uint8Array(20)));
  const mine = Array.from({ length: 5 }, () => binaryString(hashes[pickTorrent()]));
  let replied: (() => void) | null = null;
  socket.onmessage = (e) => {
    const m = JSON.parse(e.data as string);
    if (m.offer !== undefined) {
      offersReceived++;
      socket.send(JSON.stringify({
        action: "announce",
        info_hash: m.info_hash,
        peer_id: peerId,
        to_peer_id: m.peer_id,
        offer_id: m.offer_id,
        answer: { type: "answer", sdp: SDP },
      }));
    } else if (m.answer !== undefined) {
      answersReceived++;
    } else if (m.action === "announce" || m["failure reason"] !== undefined) {
      if (m["failure reason"] !== undefined) errors++;
      else answered++;
      const r = replied;
      replied = null;
      r?.();
    }
  };
  const closed = new Promise<void>((resolve) => socket.onclose = () => resolve());
  let k = 0;
  while (more() && socket.readyState === WebSocket.OPEN) {
    const offers = Array.from({ length: offersPerAnnounce }, () => ({
      offer_id: binaryString(crypto.getRandomValues(new Uint8Array(20))),
      offer: { type: "offer", sdp: SDP },
    }));
    const started = performance.now();
    sent++;
    const reply = new Promise<void>((resolve) => replied = resolve);
    socket.send(JSON.stringify({
      action: "announce",
      info_hash: mine[k++ % mine.length],
      peer_id: peerId,
      numwant: offersPerAnnounce,
      uploaded: 0,
      downloaded: 0,
      left: prng.below(4) === 0 ? 1 : 0,
      offers,
    }));
    await Promise.race([reply, closed]);
    latencies.push(performance.now() - started);
  }
  socket.close();
  await closed;
}

/** Opens `n` connections, one announce on each, holds them for the duration. */
async function holdIdle(n: number): Promise<void> {
  const url = `ws://${host.includes(":") ? `[${host}]` : host}:${port}/announce`;
  const sockets: WebSocket[] = [];
  const opening: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const socket = new WebSocket(url);
    sockets.push(socket);
    opening.push(
      new Promise<void>((resolve) => {
        socket.onopen = () => {
          socket.onmessage = () => {
            answered++;
            resolve();
          };
          socket.send(JSON.stringify({
            action: "announce",
            info_hash: binaryString(hashes[pickTorrent()]),
            peer_id: binaryString(crypto.getRandomValues(new Uint8Array(20))),
            numwant: 0,
            left: 1,
            offers: [],
          }));
        };
        socket.onerror = () => {
          errors++;
          resolve();
        };
      }),
    );
    // A few hundred handshakes at a time: the tracker's accept queue is finite.
    if (opening.length % 500 === 0) await Promise.all(opening);
  }
  await Promise.all(opening);
  console.log(`holding ${answered} connections (${errors} failed)`);
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - performance.now())));
  for (const s of sockets) s.close();
}

if (values.ws && values.idle) {
  await holdIdle(Number(values.idle));
  Deno.exit(0);
}

const workerOf = values.udp ? udpWorker : values.http ? httpWorker : wsWorker;
const startedAt = performance.now();
await Promise.all(Array.from({ length: inflight }, () => workerOf()));
const elapsed = (performance.now() - startedAt) / 1000;
if (values.json) {
  console.log(JSON.stringify({
    responses_per_s: answered / elapsed,
    offers_received_per_s: offersReceived / elapsed,
    answers_received_per_s: answersReceived / elapsed,
    errors,
    p50_ms: percentile(50),
    p99_ms: percentile(99),
  }));
  Deno.exit(0);
}
const relayed = values.ws
  ? `; offers received ${(offersReceived / elapsed).toFixed(0)}/s, answers received ${
    (answersReceived / elapsed).toFixed(0)
  }/s`
  : "";
console.log(
  `${values.udp ? "UDP" : values.http ? "HTTP" : "WebSocket"} ${target}: ${answered} responses ` +
    `in ${elapsed.toFixed(1)} s = ${(answered / elapsed).toFixed(0)}/s${relayed}, ` +
    `${errors} errors or timeouts; latency p50 ${percentile(50).toFixed(2)} ms, ` +
    `p99 ${percentile(99).toFixed(2)} ms, max ${percentile(100).toFixed(2)} ms`,
);
