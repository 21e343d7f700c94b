/**
 * The attacks of scripts/attack_soak.ts, run in their own process (so that their load does not
 * slow the soak's probe), against a tracker on 127.0.0.1:PORT whose process id is PID. Each is
 * bounded in count and all end after `--seconds`; prints what was sent as one JSON line.
 *
 *   deno run -A scripts/attacks.ts --port PORT --pid PID [--seconds 20]
 *       [--attacks idle,trickle,churn,scrapes,hup] [--idle 6000] [--trickle 500] [--scrapes 300]
 */

import { parseArgs } from "node:util";
import { writeAnnounceRequest, writeConnectRequest } from "../src/protocol/udp.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    port: { type: "string" },
    pid: { type: "string" },
    seconds: { type: "string", default: "20" },
    idle: { type: "string", default: "6000" },
    trickle: { type: "string", default: "500" },
    scrapes: { type: "string", default: "300" },
    attacks: { type: "string", default: "idle,trickle,churn,scrapes,hup" },
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
  const counts = { idle: 0, trickle: 0, scrapes: 0, churn: 0, hups: 0, refused: 0 };
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
