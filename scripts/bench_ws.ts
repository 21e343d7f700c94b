/**
 * WebSocket (WebTorrent) side by side: this tracker against npm `bittorrent-tracker` (the Node
 * server WebTorrent's project runs, installed here on first use into `.tools/`), each pinned to
 * CPU 1, loaded from CPU 0: connections that announce with offers and answer every offer they
 * receive, by `scripts/ws_load.c` (load.ts's `--ws` workload in C, built here with `cc` into
 * `.tools/`: the TypeScript generator costs as much CPU as the tracker it loads and saturated
 * first), and `scripts/load.ts --ws --idle` for the idle connections. Every workload runs `--runs`
 * times, alternating the trackers; the table shows medians and ratios, in markdown for
 * docs/benchmarks.md.
 *
 * Rows: announce replies per second (each announce carrying `--offers` offers, relayed to other
 * peers, whose answers are relayed back), the tracker's CPU time per announce, and the resident
 * memory per idle connection (`--idle` connections that announced once, held open).
 *
 *   deno run -A scripts/bench_ws.ts [--seconds 10] [--runs 3] [--inflight 200] [--offers 5]
 *     [--idle 15000] [--only TEXT]
 */

import { parseArgs } from "node:util";
import { freePort, waitForPort } from "../tests/support/ports.ts";
import { cpuSeconds, median, ourTracker, rssKiB, Running, running, sh } from "./bench_util.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "10" },
    runs: { type: "string", default: "3" },
    inflight: { type: "string", default: "200" },
    offers: { type: "string", default: "5" },
    idle: { type: "string", default: "15000" },
    only: { type: "string", default: "" },
  },
});
const RUNS = Number(values.runs);
const ROOT = new URL("../", import.meta.url).pathname;
const REFERENCE = "bittorrent-tracker@11.2.3";
const REF_DIR = `${ROOT}.tools/bittorrent-tracker`;
/** The hard descriptor limit this process may give its children. */
const HARD_NOFILE = Number(sh(["sh", "-c", "ulimit -Hn"]).out.trim()) || 4096;
/** Descriptors for the trackers and the load: the idle row holds thousands of connections. */
const NOFILE = ["prlimit", `--nofile=${HARD_NOFILE}:${HARD_NOFILE}`];

// The reference: its server module alone (the package's command line also loads the WebRTC client
// and its native module, which its install script would build); no native helpers for `ws`
// either (--ignore-scripts), as for ours.
if (!sh(["node", "--version"], { quiet: true }).ok) {
  console.error("The side-by-side run needs node (bittorrent-tracker is a Node server)");
  Deno.exit(1);
}
try {
  Deno.statSync(`${REF_DIR}/node_modules/bittorrent-tracker/server.js`);
} catch {
  Deno.mkdirSync(REF_DIR, { recursive: true });
  console.error(`Installing ${REFERENCE} into ${REF_DIR}`);
  const r = sh([
    "npm",
    "install",
    "--prefix",
    REF_DIR,
    "--ignore-scripts",
    "--no-audit",
    "--no-fund",
    REFERENCE,
  ]);
  if (!r.ok) Deno.exit(1);
}
Deno.writeTextFileSync(
  `${REF_DIR}/serve.mjs`,
  `import Server from "bittorrent-tracker/server";
const port = Number(process.argv[2]);
const server = new Server({ udp: false, http: false, ws: true, stats: false });
server.on("error", (e) => console.error(e.message));
server.on("warning", () => {});
server.listen(port, "127.0.0.1");
`,
);

// The generator: built when missing or older than its source.
const LOADER = `${ROOT}.tools/ws_load`;
const LOADER_SOURCE = `${ROOT}scripts/ws_load.c`;
const mtime = (path: string) => {
  try {
    return Deno.statSync(path).mtime?.getTime() ?? 0;
  } catch {
    return 0;
  }
};
if (mtime(LOADER) < mtime(LOADER_SOURCE)) {
  const r = sh(["cc", "-O2", "-Wall", "-o", LOADER, LOADER_SOURCE, "-lm"]);
  if (!r.ok) {
    console.error("The WebSocket load generator needs a C compiler (cc) to build");
    Deno.exit(1);
  }
}

const work = Deno.makeTempDirSync();
Deno.chmodSync(work, 0o755);

async function startOurs(): Promise<Running> {
  const port = freePort();
  const conf = `${work}/ours.conf`;
  Deno.writeTextFileSync(
    conf,
    "tracker.workers 1\nlisten.tcp.address_connections_max 100000\n" +
      "listen.ws.messages_per_second 1000000\nlisten.ws.connections_max 100000\n" +
      // bittorrent-tracker relays every offer: so does ours here, the work being the same.
      "listen.ws.peer_relays_per_second 0\n",
  );
  const child = new Deno.Command("taskset", {
    args: [
      "-c",
      "1",
      ...NOFILE,
      ...ourTracker(ROOT, work, conf, port),
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  await waitForPort(port);
  return running(child, port);
}

async function startReference(): Promise<Running> {
  const port = freePort();
  const child = new Deno.Command("taskset", {
    args: ["-c", "1", ...NOFILE, "node", `${REF_DIR}/serve.mjs`, String(port)],
    cwd: REF_DIR,
    stdout: "null",
    stderr: "null",
  }).spawn();
  await waitForPort(port);
  return running(child, port);
}

function loadArgs(port: number, extra: string[]): string[] {
  return [
    "taskset",
    "-c",
    "0",
    ...NOFILE,
    Deno.execPath(),
    "run",
    "--allow-net",
    `${ROOT}scripts/load.ts`,
    "--ws",
    `127.0.0.1:${port}`,
    ...extra,
  ];
}

/** Announce replies per second and tracker CPU-seconds per thousand announces. */
function throughput(t: Running): { rate: number; cpuPerK: number } {
  const cpu0 = cpuSeconds(t.pid);
  const r = sh([
    "taskset",
    "-c",
    "0",
    ...NOFILE,
    LOADER,
    "-a",
    "127.0.0.1",
    "-p",
    String(t.port),
    "-c",
    values.inflight!,
    "-o",
    values.offers!,
    "-d",
    values.seconds!,
    "-W",
    "0",
    "-j",
  ]);
  const cpu = cpuSeconds(t.pid) - cpu0;
  const line = r.out.split("\n").find((l) => l.startsWith("{"));
  if (!line) throw new Error(`no result from the load:\n${r.out}`);
  const f = JSON.parse(line);
  if (f.errors > 0 || f.closed > 0) throw new Error(`errors in the load:\n${r.out}`);
  return {
    rate: f.responses_per_s,
    cpuPerK: (1000 * cpu) / (f.responses_per_s * Number(values.seconds)),
  };
}

/** Resident memory per idle connection: `--idle` connections that announced once, held open. */
async function idleBytes(t: Running): Promise<number> {
  const n = Number(values.idle);
  const before = rssKiB(t.pid);
  const child = new Deno.Command(loadArgs(t.port, [])[0], {
    args: [...loadArgs(t.port, ["--idle", String(n), "--seconds", "120"]).slice(1)],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("holding")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the idle load ended early: ${text}`);
    text += value;
  }
  const held = Number(text.match(/holding (\d+)/)![1]);
  if (held !== n) throw new Error(`only ${held} of ${n} connections were served`);
  // Let the tracker finish the handshakes' garbage before reading its memory.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const after = rssKiB(t.pid);
  child.kill("SIGTERM");
  await child.status;
  reader.releaseLock();
  return ((after - before) * 1024) / n;
}

type Row = { name: string; unit: string; ours: number; theirs: number; lowerIsBetter: boolean };
const rows: Row[] = [];

/** One workload, run alternately on both trackers; `f` gives one figure per row of `specs`. */
async function measure(
  specs: { name: string; unit: string; lowerIsBetter: boolean }[],
  f: (t: Running) => Promise<number[]>,
): Promise<void> {
  if (!specs.some((s) => s.name.includes(values.only!))) return;
  const ours: number[][] = [];
  const theirs: number[][] = [];
  for (let run = 0; run < RUNS; run++) {
    for (const [start, into] of [[startOurs, ours], [startReference, theirs]] as const) {
      const t = await start();
      try {
        into.push(await f(t));
      } finally {
        await t.stop();
      }
    }
    const show = (v: number[]) => v.map((x) => x.toFixed(3)).join(", ");
    console.error(
      `${specs[0].name}: run ${run + 1}: ours ${show(ours.at(-1)!)}; ` +
        `${REFERENCE} ${show(theirs.at(-1)!)}`,
    );
  }
  specs.forEach((spec, i) =>
    rows.push({
      ...spec,
      ours: median(ours.map((v) => v[i])),
      theirs: median(theirs.map((v) => v[i])),
    })
  );
}

await measure(
  [
    {
      name: `WebSocket announces/s, ${values.offers} offers each, every offer answered ` +
        `(${values.inflight} connections)`,
      unit: "/s",
      lowerIsBetter: false,
    },
    {
      name: "WebSocket tracker CPU-seconds per thousand announces (the same runs)",
      unit: "CPU-s",
      lowerIsBetter: true,
    },
  ],
  (t) => {
    const r = throughput(t);
    return Promise.resolve([r.rate, r.cpuPerK]);
  },
);
await measure(
  [{
    name: `Resident memory per idle WebSocket connection (${values.idle} connections)`,
    unit: "B",
    lowerIsBetter: true,
  }],
  async (t) => [await idleBytes(t)],
);

const commit = sh(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], { quiet: true }).out.trim();
const cpu = (Deno.readTextFileSync("/proc/cpuinfo").match(/model name\s*:\s*(.*)/) ?? [])[1] ?? "?";
const nodeVersion = sh(["node", "--version"]).out.trim();
console.log(
  `\n${new Date().toISOString().slice(0, 10)}, commit ${commit}, Deno ${Deno.version.deno}, ` +
    `Node ${nodeVersion}, ${cpu}; medians of ${RUNS} runs of ${values.seconds} s\n`,
);
console.log(`| workload | ours | ${REFERENCE} | ratio |`);
console.log("| --- | --- | --- | --- |");
for (const r of rows) {
  const fmt = (v: number) =>
    v >= 1000
      ? `${(v / 1000).toFixed(1)} k${r.unit}`
      : `${v.toFixed(r.unit === "CPU-s" ? 3 : 1)} ${r.unit}`;
  const ratio = (r.lowerIsBetter ? r.theirs / r.ours : r.ours / r.theirs).toFixed(2);
  console.log(`| ${r.name} | ${fmt(r.ours)} | ${fmt(r.theirs)} | ${ratio}× |`);
}
Deno.removeSync(work, { recursive: true });
