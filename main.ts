/**
 * Entry point: argv → configuration → tracker. The only place that exits the process.
 *
 *   ./opentracker [-f opentracker.conf] [-i ip] [-p port] [-P port] ...   (see -h)
 */

import { loadConfig } from "./src/config/flags.ts";
import { checkPermissions, readConfigFile } from "./src/config/permissions.ts";
import { ensureFifo } from "./src/server/access_feeds.ts";
import { handleSignals } from "./src/server/signals.ts";
import { formatHostPort, RunningTracker, StartError, startTracker } from "./src/tracker.ts";
import { startCluster, workerCount } from "./src/cluster.ts";

/**
 * `OPENTRACKER_FAULT_WORKER=k` (read only when the environment variable is granted) makes
 * worker k fail at the first /stats or /metrics request: how an operator or a test checks that
 * the process ends, and is restarted, when a worker dies.
 */
function faultWorker(): number | null {
  const name = "OPENTRACKER_FAULT_WORKER";
  if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") return null;
  const v = Deno.env.get(name);
  return v === undefined || !/^\d+$/.test(v) ? null : Number(v);
}

/**
 * `OPENTRACKER_FAULT_HOLD_START=path` (read only when the environment variable is granted) holds
 * the last worker's start until the FIFO at `path` has been written and closed: how a test sends
 * requests to a tracker whose first workers serve while the last one is still starting.
 */
function holdLastStart(): (() => Promise<void>) | null {
  const name = "OPENTRACKER_FAULT_HOLD_START";
  if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") return null;
  const path = Deno.env.get(name);
  return path === undefined || path === "" ? null : () => Deno.readFile(path).then(() => {});
}

async function main(): Promise<void> {
  // From the first moment: an unhandled SIGHUP or SIGUSR2 would end the process.
  const signals = handleSignals({ log: (line) => console.error(line), exit: (c) => Deno.exit(c) });
  const loaded = loadConfig(Deno.args, { readTextFile: readConfigFile });
  if (loaded.kind === "exit") {
    if (loaded.stdout) Deno.stdout.writeSync(new TextEncoder().encode(loaded.stdout));
    if (loaded.stderr) Deno.stderr.writeSync(new TextEncoder().encode(loaded.stderr));
    Deno.exit(loaded.code);
  }
  for (const w of loaded.warnings) console.error(w);
  const config = loaded.config;
  const refusals = checkPermissions(config);
  if (refusals.length > 0) {
    for (const r of refusals) console.error(r);
    Deno.exit(1);
  }
  for (const fifo of [config.fifoAdd, config.fifoDelete]) {
    const problem = fifo === null ? null : await ensureFifo(fifo);
    if (problem !== null) {
      console.error(`Error when starting dynamic accesslists: ${problem}`);
      Deno.exit(1);
    }
  }
  const workers = workerCount(config);
  // With tracker.workers auto, the portable UDP path's one line says that it serves one worker.
  const saidByUdp = config.workers === 0 && config.udpBatch === "auto" &&
    config.listeners.some((l) => l.protocol === "udp");
  if (workers.why !== null && !saidByUdp) {
    console.error(`tracker.workers: one worker serves (${workers.why})`);
  }
  let tracker: RunningTracker;
  try {
    tracker = workers.count === 1
      ? startTracker(config)
      : await startCluster(config, workers.count, {
        log: (line) => console.error(line),
        exit: (code) => Deno.exit(code),
        faultWorker: faultWorker(),
        holdLastStart: holdLastStart(),
      });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof StartError) {
      console.error(message);
      Deno.exit(error.exitCode);
    }
    // Not a start error: a bug, said as such (bind failures are start errors naming the address).
    console.error(`Cannot start: ${message}`);
    Deno.exit(111);
  }
  signals.attach(tracker);
  try {
    await tracker.ready;
  } catch (error) {
    // opentracker exits 111 when live sync cannot be set up.
    console.error(`Cannot join live sync: ${error instanceof Error ? error.message : error}`);
    Deno.exit(111);
  }
  for (const a of tracker.addresses) {
    console.log(`listening on ${a.protocol} ${formatHostPort(a.host, a.port)}`);
  }
  const sync = config.livesyncListen;
  if (sync !== null) {
    console.log(
      config.livesyncPeers.length > 0
        ? `live sync on ${
          formatHostPort(sync.host, sync.port)
        } to ${config.livesyncPeers.length} nodes`
        : `live sync on group ${config.livesyncGroup}:${sync.port} via ${sync.host}`,
    );
  }
}

await main();
