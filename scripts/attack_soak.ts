/**
 * Attack soak: replays, on loopback only and bounded in time and count, what a stranger can send
 * a public tracker, and measures what a legitimate client sees before, during and after:
 *
 * - idle TCP connections, more than the tracker has descriptors (`--idle`, default 6000);
 * - slow request heads, one byte per second (`--trickle`, default 500);
 * - `completed` + `stopped` churn on random info_hashes over UDP (as fast as replies come);
 * - full scrapes of 250,000 torrents whose connections never read (`--scrapes`, default 300);
 * - SIGHUP every 2 seconds (the unit's ExecReload);
 * - WebSocket relay floods: connections announcing the largest offers five times a second into
 *   16 torrents among themselves and never reading (`--ws`, default 200);
 * - UDP datagrams forged from source port 0, 5,000 a second, whose replies the kernel refuses
 *   (as root: raw sockets).
 *
 * The tracker runs under `prlimit --nofile` (`--nofile`, default 4096) with a state file, filled
 * with 250,000 torrents from a statedump, on 127.0.0.1 and ::1. The attacks come from 127.0.0.1;
 * the per-address connection cap and the per-client full-scrape interval are configured out of
 * the way, so that one loopback address stands for an attack from many. A probe announces from
 * ::1 over HTTP (a new connection each) and UDP every 50 ms; RSS is sampled every 500 ms. The
 * attacks run in a child process so that their own load does not slow the probe. At the end the tracker gets SIGTERM and must exit 0
 * with its state written. `--checkout DIR` runs another checkout's tracker (e.g. an older
 * commit) with the same attacks.
 *
 *   deno run -A scripts/attack_soak.ts [--seconds 20] [--checkout DIR]
 *                                      [--attacks idle,trickle,churn,scrapes,hup,ws,forged]
 */

import { parseArgs } from "node:util";
import { permissionFlags, RUN_DIRS } from "../src/config/permission_flags.ts";
import { readU32, writeAnnounceRequest, writeConnectRequest } from "../src/protocol/udp.ts";
import { toHex } from "../src/util/hex.ts";
import { freePort, waitForPort } from "../tests/support/ports.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "20" },
    checkout: { type: "string", default: new URL("../", import.meta.url).pathname },
    nofile: { type: "string", default: "4096" },
    idle: { type: "string", default: "6000" },
    trickle: { type: "string", default: "500" },
    scrapes: { type: "string", default: "300" },
    ws: { type: "string", default: "200" },
    torrents: { type: "string", default: "250000" },
    /** tracker.peer_budget (the torrent budget is a quarter of it unless set). */
    "peer-budget": { type: "string", default: "4000000" },
    /** Which attacks to run (comma-separated). */
    attacks: { type: "string", default: "idle,trickle,churn,scrapes,hup,ws,forged" },
  },
});
const SECONDS = Math.min(Number(values.seconds), 600);

const work = await Deno.makeTempDir();
const torrents = Number(values.torrents);
{
  const base = Math.floor(Date.now() / 60000);
  const hash = new Uint8Array(20);
  const view = new DataView(hash.buffer);
  const lines: string[] = [];
  for (let i = 0; i < torrents; i++) {
    view.setUint32(0, i * 2654435761);
    view.setUint32(16, i);
    lines.push(`${toHex(hash, 0, 20, true)}:${base}:1`);
  }
  await Deno.writeTextFile(`${work}/dump`, lines.join("\n") + "\n");
  await Deno.writeTextFile(
    `${work}/conf`,
    `tracker.statefile ${work}/state\n` +
      // One attacking address stands for many: the caps per address are not what is measured.
      "listen.tcp.address_connections_max 1000000\naccess.fullscrape_interval 0\n" +
      `tracker.peer_budget ${values["peer-budget"]}\n`,
  );
}
const port = freePort();
const checkout = values.checkout!.replace(/\/?$/, "/");
const tracker = new Deno.Command("prlimit", {
  args: [
    `--nofile=${values.nofile}:${values.nofile}`,
    Deno.execPath(),
    "run",
    // Its source too: the workers (`tracker.workers auto`) load their module from it.
    ...permissionFlags({
      read: [...RUN_DIRS.read, work],
      write: [...RUN_DIRS.write, work],
      source: `${checkout}src`,
    }),
    `${checkout}main.ts`,
    "-f",
    `${work}/conf`,
    "-l",
    `${work}/dump`,
    "-i",
    "127.0.0.1",
    "-p",
    String(port),
    "-P",
    String(port),
    "-i",
    "::1",
    "-p",
    String(port),
    "-P",
    String(port),
  ],
  cwd: work,
  stdout: "piped",
  stderr: "piped",
}).spawn();
let output = "";
const collect = async (s: ReadableStream<Uint8Array>) => {
  for await (const chunk of s.pipeThrough(new TextDecoderStream())) output += chunk;
};
const collected = Promise.all([collect(tracker.stdout), collect(tracker.stderr)]);
let exited: number | null = null;
tracker.status.then((s) => (exited = s.code));
try {
  await waitForPort(port, 60_000);
} catch (error) {
  if (exited === null) tracker.kill("SIGKILL");
  await collected;
  console.error(`the tracker did not start:\n${output}`);
  throw error;
}

function rssMiB(): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${tracker.pid}/status`);
    return Number(status.match(/VmRSS:\s+(\d+)/)![1]) / 1024;
  } catch {
    return NaN;
  }
}

interface Phase {
  name: string;
  http: number[];
  udp: number[];
  httpFailed: number;
  udpFailed: number;
  rss: number[];
}

const probeHash = crypto.getRandomValues(new Uint8Array(20));
const probeQuery = [...probeHash].map((b) => "%" + b.toString(16).padStart(2, "0")).join("");

async function httpProbe(): Promise<number | null> {
  const t0 = performance.now();
  let conn: Deno.Conn | null = null;
  const timer = setTimeout(() => conn?.close(), 2000);
  try {
    conn = await Deno.connect({ hostname: "::1", port });
    await conn.write(new TextEncoder().encode(
      `GET /announce?info_hash=${probeQuery}&port=4000&left=1 HTTP/1.1\r\nConnection: close\r\n\r\n`,
    ));
    const buf = new Uint8Array(4096);
    let text = "";
    for (let n = await conn.read(buf); n !== null; n = await conn.read(buf)) {
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    return text.startsWith("HTTP/1.1 200") && text.includes("8:complete")
      ? performance.now() - t0
      : null;
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
    try {
      conn?.close();
    } catch { /* closed */ }
  }
}

const udpSock = Deno.listenDatagram({ hostname: "::1", port: 0, transport: "udp" });
const udpTarget: Deno.NetAddr = { transport: "udp", hostname: "::1", port };
let udpId: Uint8Array | null = null;
let udpTx = 1;
const udpBuf = new Uint8Array(2048);

async function udpExchange(req: Uint8Array): Promise<Uint8Array | null> {
  const tx = readU32(req, 12);
  await udpSock.send(req, udpTarget);
  const deadline = performance.now() + 2000;
  while (performance.now() < deadline) {
    const got = await Promise.race([
      udpSock.receive(udpBuf).then(([d]) => d),
      new Promise<null>((r) => setTimeout(() => r(null), deadline - performance.now())),
    ]);
    if (got === null) return null;
    if (got.length >= 8 && readU32(got, 4) === tx) return got.slice();
  }
  return null;
}

async function udpProbe(): Promise<number | null> {
  const t0 = performance.now();
  try {
    if (udpId === null) {
      const c = new Uint8Array(16);
      writeConnectRequest(c, udpTx++);
      const r = await udpExchange(c);
      if (r === null || r.length !== 16) return null;
      udpId = r.slice(8, 16);
    }
    const req = new Uint8Array(98);
    writeAnnounceRequest(req, {
      connectionId: udpId,
      transactionId: udpTx++,
      infoHash: probeHash,
      port: 4001,
      left: 1,
      event: 0,
      numwant: 10,
    });
    const r = await udpExchange(req);
    if (r === null) return null;
    if (readU32(r, 0) !== 1) {
      udpId = null; // an expired connection id: connect again next time
      return null;
    }
    return performance.now() - t0;
  } catch {
    return null;
  }
}

async function runPhase(name: string, seconds: number): Promise<Phase> {
  const p: Phase = { name, http: [], udp: [], httpFailed: 0, udpFailed: 0, rss: [] };
  const until = performance.now() + seconds * 1000;
  const sampler = setInterval(() => p.rss.push(rssMiB()), 500);
  while (performance.now() < until) {
    const [h, u] = await Promise.all([httpProbe(), udpProbe()]);
    if (h === null) p.httpFailed++;
    else p.http.push(h);
    if (u === null) p.udpFailed++;
    else p.udp.push(u);
    await new Promise((r) => setTimeout(r, 50)); // the probe's pace
  }
  clearInterval(sampler);
  return p;
}

const phases: Phase[] = [];
console.error(
  `tracker ${checkout} on 127.0.0.1:${port}, ${torrents} torrents, nofile ${values.nofile}`,
);
phases.push(await runPhase("before", SECONDS / 2));
console.error("attacking ...");
const attacker = new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "-A",
    new URL("attacks.ts", import.meta.url).pathname,
    "--port",
    String(port),
    "--pid",
    String(tracker.pid),
    "--seconds",
    String(SECONDS),
    "--idle",
    values.idle!,
    "--trickle",
    values.trickle!,
    "--scrapes",
    values.scrapes!,
    "--ws",
    values.ws!,
    "--attacks",
    values.attacks!,
  ],
  stdout: "piped",
  stderr: "inherit",
}).spawn();
phases.push(await runPhase("during", SECONDS));
const attackOut = new TextDecoder().decode((await attacker.output()).stdout).trim();
phases.push(await runPhase("after", SECONDS / 2));

let metrics = "";
try {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  await c.write(new TextEncoder().encode("GET /metrics HTTP/1.0\r\n\r\n"));
  const buf = new Uint8Array(1 << 16);
  for (let n = await c.read(buf); n !== null; n = await c.read(buf)) {
    metrics += new TextDecoder().decode(buf.subarray(0, n));
  }
  c.close();
} catch { /* not serving */ }
udpSock.close();
if (exited === null) tracker.kill("SIGTERM");
const code = (await tracker.status).code;
await collected;

const pct = (xs: number[], q: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
const ms = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : "—");
console.log(`\nattacks: ${attackOut}`);
console.log(
  "\n| phase | RSS MiB min / max | HTTP probe p50 / p99 / max ms (failed) | UDP probe p50 / p99 / max ms (failed) |",
);
console.log("| --- | --- | --- | --- |");
for (const p of phases) {
  const rss = p.rss.filter((x) => !Number.isNaN(x));
  const memory = rss.length === 0
    ? "exited"
    : `${ms(Math.min(...rss))} / ${ms(Math.max(...rss))}${
      rss.length < p.rss.length ? " (exited)" : ""
    }`;
  console.log(
    `| ${p.name} | ${memory} | ` +
      `${ms(pct(p.http, 0.5))} / ${ms(pct(p.http, 0.99))} / ${
        ms(Math.max(...p.http))
      } (${p.httpFailed} of ${p.http.length + p.httpFailed}) | ` +
      `${ms(pct(p.udp, 0.5))} / ${ms(pct(p.udp, 0.99))} / ${
        ms(Math.max(...p.udp))
      } (${p.udpFailed} of ${p.udp.length + p.udpFailed}) |`,
  );
}
const series = (name: string) =>
  metrics.split("\n").filter((l) => l.startsWith(name)).map((l) => l.replace(/^opentracker_/, ""))
    .join(", ");
const figures = [
  "opentracker_torrents ",
  "opentracker_http_connections_peak",
  "opentracker_http_connections_max",
  "opentracker_http_connections_closed_total",
  "opentracker_http_connection_cap_waits_total",
  "opentracker_http_accept_errors_total",
  "opentracker_http_connection_failures_total",
  'opentracker_udp_errors_total{reason="reply_dropped"}',
  "opentracker_fullscrapes_refused_total",
  "opentracker_torrents_evicted_total",
  "opentracker_event_loop_lag_seconds",
  "opentracker_ws_connections",
  "opentracker_ws_send_queue_bytes",
  "opentracker_ws_closed_total",
  "opentracker_ws_relayed_total",
  "opentracker_ws_relays_limited_total",
].map(series).filter(Boolean);
console.log(`\nafter the attacks: ${figures.length > 0 ? figures.join("; ") : "(no /metrics)"}`);
console.log(
  `tracker exit status on SIGTERM: ${code}; state saved: ${
    /Saved \d+ torrents/.test(output) ? "yes" : "no"
  }`,
);
if (code !== 0) {
  console.log(`tracker output (last lines):\n${output.split("\n").slice(-8).join("\n")}`);
}
await Deno.remove(work, { recursive: true });
