/**
 * The attacks of scripts/attack_soak.ts, run in their own process (so that their load does not
 * slow the soak's probe), against a tracker on 127.0.0.1:PORT whose process id is PID. Each is
 * bounded in count and all end after `--seconds`; prints what was sent as one JSON line.
 *
 *   deno run -A scripts/attacks.ts --port PORT --pid PID [--seconds 20]
 *       [--attacks idle,trickle,churn,scrapes,hup,ws,forged] [--idle 6000] [--trickle 500]
 *       [--scrapes 300] [--ws 200]
 */

import { parseArgs } from "node:util";
import { clientFrame } from "../tests/support/ws_client.ts";
import { writeAnnounceRequest, writeConnectRequest } from "../src/protocol/udp.ts";
import { RawUdp } from "../tests/support/raw_udp.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    port: { type: "string" },
    pid: { type: "string" },
    seconds: { type: "string", default: "20" },
    idle: { type: "string", default: "6000" },
    trickle: { type: "string", default: "500" },
    scrapes: { type: "string", default: "300" },
    ws: { type: "string", default: "200" },
    attacks: { type: "string", default: "idle,trickle,churn,scrapes,hup,ws,forged" },
  },
});
if (values.port === undefined || values.pid === undefined) {
  console.error("usage: attacks.ts --port PORT --pid PID [--seconds N] [--attacks LIST]");
  Deno.exit(2);
}

async function attack(port: number, pid: number, seconds: number): Promise<void> {
  const until = Date.now() + seconds * 1000;
  const chosen = new Set(values.attacks!.split(","));
  const held: Deno.Conn[] = [];
  const counts = {
    idle: 0,
    trickle: 0,
    scrapes: 0,
    churn: 0,
    hups: 0,
    refused: 0,
    wsConnections: 0,
    wsMessages: 0,
    wsClosedByTracker: 0,
    forged: 0,
  };
  const connect = async () => {
    try {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      held.push(c);
      return c;
    } catch {
      counts.refused++;
      return null;
    }
  };
  const enc = new TextEncoder();
  const jobs: Promise<void>[] = [];
  const job = (name: string, fn: () => Promise<void>) => {
    if (chosen.has(name)) jobs.push(fn());
  };
  // Stalled full scrapes: ask, never read.
  job("scrapes", async () => {
    for (let i = 0; i < Number(values.scrapes) && Date.now() < until; i++) {
      const c = await connect();
      if (c === null) continue;
      await c.write(enc.encode("GET /scrape HTTP/1.1\r\nAccept-Encoding: gzip\r\n\r\n")).catch(
        () => {},
      );
      counts.scrapes++;
    }
  });
  // Idle connections: connect and say nothing.
  job("idle", async () => {
    for (let i = 0; i < Number(values.idle) && Date.now() < until; i++) {
      if (await connect()) counts.idle++;
    }
  });
  // Slow heads: one byte per second on each.
  job("trickle", async () => {
    const slow: Deno.Conn[] = [];
    for (let i = 0; i < Number(values.trickle) && Date.now() < until; i++) {
      const c = await connect();
      if (c) slow.push(c);
    }
    counts.trickle = slow.length;
    const head = enc.encode("GET /announce?info_hash=aaaaaaaaaaaaaaaaaaaa&port=1 HTTP/1.1\r\n");
    for (let k = 0; Date.now() < until; k++) {
      await Promise.all(
        slow.map((c) =>
          c.write(head.subarray(k % head.length, k % head.length + 1)).catch(() => 0)
        ),
      );
      await new Promise((r) => setTimeout(r, 1000)); // the trickle's pace
    }
  });
  // Churn: completed + stopped on random info_hashes, windows of 100.
  job("churn", async () => {
    const sock = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
    const target: Deno.NetAddr = { transport: "udp", hostname: "127.0.0.1", port };
    const buf = new Uint8Array(2048);
    const req = new Uint8Array(98);
    let tx = 2;
    const receiveOne = () =>
      Promise.race([
        sock.receive(buf).then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), 200)),
      ]);
    // Connect (retried: the tracker may be down, and then the attack ends with the time).
    let id: Uint8Array | null = null;
    while (id === null && Date.now() < until) {
      writeConnectRequest(req, 1);
      await sock.send(req.subarray(0, 16), target);
      if (await receiveOne()) id = buf.slice(8, 16);
    }
    if (id === null) {
      sock.close();
      return;
    }
    while (Date.now() < until) {
      for (let i = 0; i < 50; i++) {
        const hash = crypto.getRandomValues(new Uint8Array(20));
        for (const event of [1, 3]) {
          writeAnnounceRequest(req, {
            connectionId: id,
            transactionId: tx++,
            infoHash: hash,
            port: 7,
            left: 0,
            event,
            numwant: 0,
          });
          await sock.send(req, target);
        }
      }
      for (let i = 0; i < 100; i++) if (!(await receiveOne())) break;
      counts.churn += 100;
    }
    sock.close();
  });
  // WebSocket relay floods: connections that announce five times a second in one of 16 torrents,
  // each message as large as allowed (10 offers of ~6 KiB of SDP: just under 64 KiB), so that the
  // tracker relays every offer to other attacking peers, which never read. The tracker must close
  // them as slow readers (its send queue per connection is bounded); each is then reconnected.
  job("ws", async () => {
    const n = Number(values.ws);
    const sdp = "v=0\r\n" + "a=x:".padEnd(6000, "y") + "\r\n";
    const binary = () => String.fromCharCode(...crypto.getRandomValues(new Uint8Array(20)));
    const torrents = Array.from({ length: 16 }, binary);
    const handshake = enc.encode(
      "GET /announce HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    const flood = async (i: number) => {
      // One frame per connection, sent again and again (a renewal of the same peer).
      const message = JSON.stringify({
        action: "announce",
        info_hash: torrents[i % torrents.length],
        peer_id: binary(),
        left: 1,
        numwant: 10,
        offers: Array.from({ length: 10 }, () => ({
          offer_id: binary(),
          offer: { type: "offer", sdp },
        })),
      });
      const frame = clientFrame(1, message);
      while (Date.now() < until) {
        const c = await connect();
        if (c === null) {
          await new Promise((r) => setTimeout(r, 100)); // the tracker is full: retry later
          continue;
        }
        counts.wsConnections++;
        try {
          await c.write(handshake);
          while (Date.now() < until) {
            await c.write(frame);
            counts.wsMessages++;
            await new Promise((r) => setTimeout(r, 200)); // under the tracker's message rate
          }
        } catch {
          counts.wsClosedByTracker++;
        }
        try {
          c.close();
        } catch { /* closed */ }
        held.splice(held.indexOf(c), 1);
      }
    };
    await Promise.all(Array.from({ length: n }, (_, i) => flood(i)));
  });
  // Datagrams forged from source port 0, whose replies the kernel refuses (needs root: raw
  // sockets); 5,000 a second among the churn's datagrams on the same socket.
  job("forged", async () => {
    let raw: RawUdp;
    try {
      raw = new RawUdp();
    } catch {
      console.error("forged: skipped (raw sockets need root)");
      return;
    }
    const req = new Uint8Array(16);
    while (Date.now() < until) {
      for (let i = 0; i < 50; i++) {
        writeConnectRequest(req, counts.forged++);
        raw.send(0, port, req);
      }
      await new Promise((r) => setTimeout(r, 10)); // the attack's pace
    }
    raw.close();
  });
  // SIGHUP every 2 s.
  job("hup", async () => {
    while (Date.now() < until) {
      try {
        Deno.kill(pid, "SIGHUP");
        counts.hups++;
      } catch { /* gone */ }
      await new Promise((r) => setTimeout(r, 2000)); // the operator's pace
    }
  });
  await Promise.all(jobs);
  for (const c of held) {
    try {
      c.close();
    } catch { /* closed by the tracker */ }
  }
  console.log(JSON.stringify(counts));
}

await attack(Number(values.port), Number(values.pid), Math.min(Number(values.seconds), 600));
