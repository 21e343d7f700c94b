/**
 * Side-by-side benchmark: this tracker against the reference opentrackers, each pinned to CPU 1
 * with taskset, loaded from CPU 0 by the C generator of ../shared/bench/ (built here with gcc; a
 * TypeScript generator cannot saturate a tracker). The references, when present:
 *
 * - upstream opentracker 716dcfb built with -O3 (../shared/bench/opentracker-716dcfb, open mode,
 *   dual stack): the fastest opentracker and the anchor every ratio is quoted against;
 * - Debian's opentracker (/usr/bin/opentracker, 2021) in its fastest setup
 *   `listen.udp.workers 1`, whitelisting the load's hashes: a second column.
 *
 * Every workload runs `--runs` times (default 3), alternating the trackers, and the table shows
 * medians and ratios, in markdown for docs/benchmarks.md. Needs root for running opentracker as
 * nobody. Not part of the test suite: a full run takes several minutes.
 *
 * The HTTP keep-alive rows, which opentracker cannot serve, run beside a C responder that only
 * reads requests and sends a fixed reply of a real reply's size (scripts/http_ceiling.c, one
 * thread per worker on the same CPUs): the most any tracker answers on this machine.
 *
 * The multi-core rows run `--cores N` workers (default: every CPU) against opentracker with N UDP
 * workers on the same N CPUs; the generator gets the other CPUs when there are any, else it runs
 * unpinned beside the trackers (as on a 2-CPU machine), with 16 sockets per thread so that the
 * kernel's SO_REUSEPORT hash spreads the load over our workers.
 *
 *   deno run -A scripts/bench.ts [--seconds 20] [--runs 3] [--only TEXT] [--cores N]
 *     [--reference upstream|debian|all]
 */

import { parseArgs } from "node:util";
import { freePort, waitForPort } from "../tests/support/ports.ts";
import { median, ourTracker, rssKiB, Running, running, sh } from "./bench_util.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "20" },
    runs: { type: "string", default: "3" },
    /** Only the workloads whose name contains this text (e.g. "RSS"). */
    only: { type: "string", default: "" },
    /** Which reference opentrackers run beside ours. */
    reference: { type: "string", default: "all" },
    /** CPUs (and workers) of the multi-core rows. */
    cores: { type: "string", default: String(navigator.hardwareConcurrency) },
  },
});
const CPUS = navigator.hardwareConcurrency;
const CORES = Math.min(Number(values.cores), CPUS);
const SECONDS = Number(values.seconds);
const RUNS = Number(values.runs);
const ROOT = new URL("../", import.meta.url).pathname;
const SOURCE = `${ROOT}../shared/bench/udpload.c`;

const work = Deno.makeTempDirSync();
Deno.chmodSync(work, 0o755);
const gen = `${work}/udpload`;
if (!sh(["gcc", "-O2", "-pthread", "-o", gen, SOURCE, "-lm"]).ok) {
  console.error(`Cannot build ${SOURCE}: the side-by-side run needs gcc and the shared bench tool`);
  Deno.exit(1);
}

// The keep-alive rows also run a C responder that only reads and sends (scripts/http_ceiling.c):
// no tracker on this machine answers keep-alive requests faster, and opentracker does not keep
// connections open, so it is the figure those rows are read against.
const CEILING = "C read+send responder (the machine's ceiling)";
const ceilingBinary = `${work}/http_ceiling`;
const haveCeiling =
  sh(["gcc", "-O2", "-pthread", "-o", ceilingBinary, `${ROOT}scripts/http_ceiling.c`]).ok;
if (!haveCeiling) console.error("Cannot build scripts/http_ceiling.c: keep-alive rows without it");

/** Starts the C responder with one thread per worker of `setup`, on the same CPUs. */
async function startCeiling(setup: Setup): Promise<Running> {
  const port = freePort();
  const child = new Deno.Command("taskset", {
    args: ["-c", setup.trackerCpus, ceilingBinary, String(port), String(setup.workers)],
    stdout: "null",
    stderr: "null",
  }).spawn();
  await waitForPort(port);
  return running(child, port);
}

/** A reference opentracker the bench runs beside ours. */
interface Reference {
  readonly name: string;
  readonly binary: string;
  /** Debian's build is closed (whitelist); upstream's reference build is open. */
  readonly whitelist: boolean;
}

const UPSTREAM = `${ROOT}../shared/bench/opentracker-716dcfb`;
const references: Reference[] = [];
const wanted = (name: string) => values.reference === "all" || values.reference === name;
if (wanted("upstream") && sh([UPSTREAM, "-v"], { quiet: true }).ok) {
  references.push({ name: "opentracker 716dcfb", binary: UPSTREAM, whitelist: false });
}
if (wanted("debian") && sh(["/usr/bin/opentracker", "-v"], { quiet: true }).ok) {
  references.push({ name: "Debian opentracker", binary: "/usr/bin/opentracker", whitelist: true });
}
if (references.length === 0) console.error("No reference opentracker found: ours alone.");

/** How a workload runs: our UDP path and workers, the trackers' CPUs and the generator's. */
interface Setup {
  /**
   * FFI to the C library granted and `listen.udp.batch on`: batched UDP (recvmmsg/sendmmsg) and
   * TCP on epoll, our default. Off: Deno's own sockets (the portable path).
   */
  batch: boolean;
  /** Our `tracker.workers`, and opentracker's `listen.udp.workers`. */
  workers: number;
  trackerCpus: string;
  /** Generator CPUs, or null for unpinned. */
  genCpus: string | null;
  /** Generator threads and sockets per thread. */
  threads: number;
  sockets: number;
}

/** One tracker core, the generator on CPU 0: the classic side-by-side. */
const PINNED: Setup = {
  batch: false,
  workers: 1,
  trackerCpus: "1",
  genCpus: "0",
  threads: 1,
  sockets: 4,
};

/**
 * {@link PINNED} in our default configuration: FFI to the C library granted, so batched UDP and
 * TCP on epoll (without FFI the HTTP rows measured Deno's own TCP, a path only a tracker started
 * without the grant takes).
 */
const DEFAULT_SETUP: Setup = { ...PINNED, batch: true };

/** `n` workers on CPUs 0..n-1; the generator on the others, or unpinned when there are none. */
function multiCore(n: number, batch = true): Setup {
  const spare = CPUS - n;
  return {
    batch,
    workers: n,
    trackerCpus: `0-${n - 1}`,
    genCpus: spare > 0 ? `${n}-${CPUS - 1}` : null,
    threads: Math.max(1, Math.min(spare > 0 ? spare : n, 8)),
    sockets: 16,
  };
}

/** Starts this tracker in `setup`. */
async function startOurs(setup: Setup): Promise<Running> {
  const port = freePort();
  const conf = `${work}/ours.conf`;
  Deno.writeTextFileSync(
    conf,
    `listen.udp.batch ${setup.batch ? "on" : "off"}\ntracker.workers ${setup.workers}\n`,
  );
  const child = new Deno.Command("taskset", {
    args: [
      "-c",
      setup.trackerCpus,
      ...ourTracker(ROOT, work, conf, port, setup.batch),
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  await waitForPort(port);
  return running(child, port);
}

async function startOpentracker(ref: Reference, setup: Setup): Promise<Running> {
  const port = freePort();
  let conf =
    `listen.udp.workers ${setup.workers}\nlisten.udp 127.0.0.1:${port}\nlisten.tcp 127.0.0.1:${port}\n`;
  if (ref.whitelist) {
    // The whole fill pool (100,000 torrents), which contains the 10,000 of the load runs.
    Deno.writeTextFileSync(`${work}/whitelist`, sh([gen, "--hashes", "100000"]).out);
    Deno.chmodSync(`${work}/whitelist`, 0o644);
    conf += `access.whitelist ${work}/whitelist\n`;
  }
  Deno.writeTextFileSync(`${work}/ot.conf`, conf);
  Deno.chmodSync(`${work}/ot.conf`, 0o644);
  const child = new Deno.Command("taskset", {
    args: [
      "-c",
      setup.trackerCpus,
      "setpriv",
      "--reuid=nobody",
      "--regid=nogroup",
      "--clear-groups",
      ref.binary,
      "-f",
      `${work}/ot.conf`,
      "-d",
      work,
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  await waitForPort(port);
  // The whitelist loads asynchronously: a short UDP run settles it.
  sh(
    ["taskset", "-c", "0", gen, "-a", "127.0.0.1", "-p", String(port), "-d", "1", "-W", "1", "-Q"],
    { quiet: true },
  );
  // setpriv execs opentracker: the child pid is opentracker's.
  return running(child, port);
}

function load(
  port: number,
  pid: number,
  extra: string[],
  setup: Setup = PINNED,
): Record<string, number> {
  const r = sh([
    ...(setup.genCpus === null ? [] : ["taskset", "-c", setup.genCpus]),
    gen,
    "-t",
    String(setup.threads),
    "-s",
    String(setup.sockets),
    "-a",
    "127.0.0.1",
    "-p",
    String(port),
    "-d",
    String(SECONDS),
    "-W",
    "3",
    "-c",
    String(pid),
    "-Q",
    ...extra,
  ]);
  const line = r.out.split("\n").find((l) => l.startsWith("RESULT "));
  if (!line) throw new Error(`no RESULT line:\n${r.out}`);
  return JSON.parse(line.slice(7));
}

type Row = {
  name: string;
  ours: number;
  /** Median of each reference that ran (by reference name). */
  theirs: Map<string, number>;
  unit: string;
  lowerIsBetter?: boolean;
};
const rows: Row[] = [];

async function measure(
  name: string,
  unit: string,
  f: (t: Running) => number,
  withTheirs: boolean,
  lowerIsBetter = false,
  setup: Setup = PINNED,
  ceiling = false,
): Promise<void> {
  if (!name.includes(values.only!)) return;
  const ours: number[] = [];
  const theirs = new Map<string, number[]>();
  for (let run = 0; run < RUNS; run++) {
    const a = await startOurs(setup);
    try {
      ours.push(f(a));
    } finally {
      await a.stop();
    }
    let line = `${name}: run ${run + 1}: ours ${ours.at(-1)!.toFixed(1)}`;
    // The other programs of this row, by column name, and how each starts.
    const others = new Map<string, () => Promise<Running>>();
    for (const ref of withTheirs ? references : []) {
      others.set(ref.name, () => startOpentracker(ref, setup));
    }
    if (ceiling && haveCeiling) others.set(CEILING, () => startCeiling(setup));
    for (const [other, start] of others) {
      const b = await start();
      try {
        const v = f(b);
        theirs.set(other, [...(theirs.get(other) ?? []), v]);
        line += `, ${other} ${v.toFixed(1)}`;
      } finally {
        await b.stop();
      }
    }
    console.error(line);
  }
  rows.push({
    name,
    unit,
    ours: median(ours),
    theirs: new Map([...theirs].map(([k, v]) => [k, median(v)])),
    lowerIsBetter,
  });
}

await measure(
  "UDP announce responses/s (100:1, numwant 30), portable path (listen.udp.batch off)",
  "/s",
  (t) => load(t.port, t.pid, [])["responses_per_s"],
  true,
);
await measure(
  "UDP announce responses/s, 1 worker pinned to one core, batched path (the default)",
  "/s",
  (t) => load(t.port, t.pid, [])["responses_per_s"],
  true,
  false,
  DEFAULT_SETUP,
);
if (CORES > 1) {
  const setup = multiCore(CORES);
  const where = setup.genCpus === null
    ? "generator unpinned"
    : `generator on CPUs ${setup.genCpus}`;
  await measure(
    `UDP announce responses/s, ${CORES} workers on ${CORES} cores (${where})`,
    "/s",
    (t) => load(t.port, t.pid, [], setup)["responses_per_s"],
    true,
    false,
    setup,
  );
  // The hand-off's cost: tracker CPU per response with 4 workers against 1, same CPUs and load.
  // opentracker runs beside with as many UDP threads: it hands nothing between threads (one shared
  // swarm), so its own 4-against-1 figure is what more threads than CPUs cost on this machine.
  for (const workers of [1, 2, 4]) {
    await measure(
      `UDP tracker CPU-seconds per million responses, ${workers} worker${
        workers > 1 ? "s" : ""
      } on ${CORES} cores`,
      "CPU-s",
      (t) => 1e6 / load(t.port, t.pid, [], setup)["resp_per_tracker_cpu_s"],
      true,
      true,
      { ...setup, workers },
    );
  }
  await measure(
    `HTTP keep-alive responses/s, ${CORES} workers on ${CORES} cores`,
    "/s",
    (t) =>
      load(t.port, t.pid, ["--http", "-s", "64"], { ...setup, sockets: 64 })["responses_per_s"],
    false,
    false,
    setup,
    true,
  );
}
await measure(
  "HTTP, connection per request: responses per tracker CPU-second (the default, TCP on epoll)",
  "/CPU-s",
  (t) => load(t.port, t.pid, ["--http", "--close", "-s", "64"])["resp_per_tracker_cpu_s"],
  true,
  false,
  DEFAULT_SETUP,
);
await measure(
  "HTTP, connection per request: responses per tracker CPU-second, without FFI (Deno's TCP)",
  "/CPU-s",
  (t) => load(t.port, t.pid, ["--http", "--close", "-s", "64"])["resp_per_tracker_cpu_s"],
  false,
);
await measure(
  "HTTP keep-alive responses/s, 1 worker pinned to one core (the default)",
  "/s",
  (t) => load(t.port, t.pid, ["--http", "-s", "64"])["responses_per_s"],
  false,
  false,
  DEFAULT_SETUP,
  true,
);
/** RSS growth per peer while 1 M peers on 100 k torrents are added, `settleMs` after the fill. */
function rssPerPeer(t: Running, settleMs: number): number {
  const before = rssKiB(t.pid);
  const fill = sh([
    "taskset",
    "-c",
    "0",
    gen,
    "--fill",
    "-a",
    "127.0.0.1",
    "-p",
    String(t.port),
    "-P",
    "1000000",
    "-n",
    "100000",
    "-Q",
  ]);
  // A partial fill divides by the wrong number of peers: no figure rather than a wrong one.
  if (!fill.out.includes('"ok":true')) throw new Error(`the fill did not complete:\n${fill.out}`);
  const until = Date.now() + settleMs;
  while (Date.now() < until) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
  return ((rssKiB(t.pid) - before) * 1024) / 1e6;
}

// The memory rows run the default configuration: the portable path's fill of a million
// announces can outlast the generator's 20-second deadline on a slow day, and a partial fill is
// no measurement.
await measure(
  "RSS per peer, 1 M peers on 100 k torrents",
  "B",
  (t) => rssPerPeer(t, 0),
  true,
  true,
  DEFAULT_SETUP,
);
// A garbage-collected runtime frees the fill's temporary garbage (replaced typed-array columns)
// some time after the fill; this row measures what the process holds once that happened.
await measure(
  "RSS per peer, 1 M peers on 100 k torrents, 70 s after the fill",
  "B",
  (t) => rssPerPeer(t, 70_000),
  true,
  true,
  DEFAULT_SETUP,
);

// Closed loop: fewer requests in flight lower the rate. Find the depth at which ours runs at or
// below 80 % of its maximum, then measure both trackers at that depth.
for (const batch of [false, true]) {
  let depth = 0;
  await measure(
    `p99 UDP announce latency at ≈ 80 % of our max rate${batch ? ", batch on" : ""}`,
    "µs",
    (t) => {
      if (depth === 0) {
        const max = load(t.port, t.pid, [])["responses_per_s"];
        for (const d of [16, 8, 4, 2, 1]) {
          depth = d;
          if (load(t.port, t.pid, ["-q", String(d)])["responses_per_s"] <= 0.8 * max) break;
        }
        console.error(`latency depth: -q ${depth} (4 sockets)`);
      }
      return load(t.port, t.pid, ["-q", String(depth)])["lat_p99_us"];
    },
    true,
    true,
    { ...PINNED, batch },
  );
}

const deno = Deno.version.deno;
const commit = sh(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], { quiet: true }).out.trim();
const cpu = (Deno.readTextFileSync("/proc/cpuinfo").match(/model name\s*:\s*(.*)/) ?? [])[1] ?? "?";
console.log(
  `\n${
    new Date().toISOString().slice(0, 10)
  }, commit ${commit}, Deno ${deno}, ${cpu}, ${CPUS} CPUs; medians of ${RUNS} runs of ${SECONDS} s\n`,
);
const columns = [
  ...references.map((r) => r.name),
  ...(rows.some((r) => r.theirs.has(CEILING)) ? [CEILING] : []),
];
console.log(`| workload | ours |${columns.map((c) => ` ${c} | ratio |`).join("")}`);
console.log(`| --- | --- |${columns.map(() => " --- | --- |").join("")}`);
for (const r of rows) {
  const fmt = (v: number) =>
    v >= 1000 ? `${(v / 1000).toFixed(1)} k${r.unit}` : `${v.toFixed(1)} ${r.unit}`;
  let line = `| ${r.name} | ${fmt(r.ours)} |`;
  for (const c of columns) {
    const v = r.theirs.get(c);
    const ratio = v === undefined
      ? "—"
      : (r.lowerIsBetter ? v / r.ours : r.ours / v).toFixed(2) + "×";
    line += ` ${v === undefined ? "—" : fmt(v)} | ${ratio} |`;
  }
  console.log(line);
}
Deno.removeSync(work, { recursive: true });
