/**
 * Several workers as one tracker (`tracker.workers` above 1): the main isolate checks that no
 * other process holds the ports, wires the rings and wake-ups the workers hand requests over
 * with (server/shard_link.ts), starts one Deno Worker per shard (src/worker.ts) and then only
 * relays control: signals, gathering the figures for /stats and /metrics, and the stop. A
 * worker that fails ends the process with a message and a non-zero status: a tracker silently
 * missing a share of its torrents would be worse than a restart (systemd, the watchdog).
 */

import { Config } from "./config/config.ts";
import { descriptorLimit, libcUnavailableReason } from "./server/libc.ts";
import { CLOSING_SLACK, connectionCap } from "./server/connections.ts";
import { ShardWiring, wireShards } from "./server/shard_link.ts";
import { finalBlock } from "./logic/state_export.ts";
import { FullScrapeAdmission } from "./logic/full_scrape_admission.ts";
import { writeStateHeader } from "./protocol/state_file.ts";
import { StateSaver } from "./server/state_saver.ts";
import { closeFifos, feedFifos } from "./server/access_feeds.ts";
import {
  bindError,
  BoundAddress,
  GatherArg,
  GatherKind,
  reportRestored,
  RunningTracker,
  StartError,
} from "./tracker.ts";
import { mergeRestored, Restored } from "./logic/restore.ts";
import { SAMPLE_INTERVAL_SECONDS, SampleRing } from "./stats/samples.ts";
import { sumFigures } from "./stats/cluster_figures.ts";
import { MetricsSource } from "./stats/metrics.ts";
import { FromWorker, ToWorker } from "./worker.ts";
import { Gatherings } from "./util/gatherings.ts";
import { startInOrder } from "./util/start_in_order.ts";

/** Options for {@link startCluster}. */
export interface ClusterOptions {
  log: (line: string) => void;
  /** Ends the process (a worker failed after the start). */
  exit: (code: number) => void;
  /** Fault injection: this worker fails at the first /stats or /metrics (the restart path). */
  faultWorker?: number | null;
  /** Fault injection: the last worker starts once this resolves (the others serve meanwhile). */
  holdLastStart?: (() => Promise<void>) | null;
}

/**
 * File bytes that the workers starting at the same time may hold: each reads the whole state
 * file, `-l` statedump and access list while it keeps its own torrents.
 */
const RESTORE_BYTES_AT_ONCE = 1 << 30;

/**
 * How many of `count` workers restore at once when each reads `bytesPerWorker` bytes of files:
 * all of them for small files, at least one.
 */
export function restoreWindow(count: number, bytesPerWorker: number): number {
  if (bytesPerWorker <= 0) return count;
  return Math.max(1, Math.min(count, Math.floor(RESTORE_BYTES_AT_ONCE / bytesPerWorker)));
}

/** The size of the file at `path`; 0 when there is none (or it cannot be seen). */
function fileBytes(path: string | null): number {
  if (path === null) return 0;
  try {
    return Deno.statSync(path).size;
  } catch {
    return 0;
  }
}

/**
 * Bytes of the ring from one worker to another: 4 MiB, less with many workers (at most 64 MiB
 * over all rings). WebSocket traffic sets the size: with 1 MiB, 200 busy WebTorrent connections
 * (announces of ~3 KB with their offers, and the answers) overflowed a ring in bursts and about 6 %
 * of the messages were refused as busy; with 4 MiB, none (docs/benchmarks.md).
 */
export function ringDataBytes(count: number): number {
  const TOTAL_BYTES_MAX = 64 << 20;
  let bytes = 4 << 20;
  while (bytes > 64 << 10 && bytes * count * (count - 1) > TOTAL_BYTES_MAX) bytes >>= 1;
  return bytes;
}

/**
 * The workers to run for `config`: its `tracker.workers` (auto: the cores this process may
 * use), or 1 with the reason when the hand-over between workers cannot work here.
 */
export function workerCount(config: Config): { count: number; why: string | null } {
  const wanted = config.workers === 0 ? navigator.hardwareConcurrency : config.workers;
  if (wanted <= 1) return { count: 1, why: null };
  if (config.udpBatch === "off") {
    return { count: 1, why: "listen.udp.batch off (the workers share the ports through it)" };
  }
  const why = libcUnavailableReason();
  return why === null ? { count: wanted, why: null } : { count: 1, why };
}

/**
 * Binds every listener once without SO_REUSEPORT, then lets them go: fails (AddrInUse) when
 * another process holds a port, which the workers' SO_REUSEPORT would otherwise share with it
 * (opentracker sets the option too). Port 0 becomes the port the kernel picked.
 */
function probeListeners(config: Config): Config["listeners"] {
  const held: { close(): void }[] = [];
  try {
    return config.listeners.map((l) => {
      let socket;
      try {
        socket = l.protocol === "udp"
          ? Deno.listenDatagram({ hostname: l.host, port: l.port, transport: "udp" })
          : Deno.listen({ hostname: l.host, port: l.port, transport: "tcp" });
      } catch (error) {
        throw bindError(l, error);
      }
      held.push(socket);
      return { ...l, port: (socket.addr as Deno.NetAddr).port };
    });
  } finally {
    for (const s of held) s.close();
  }
}

/** Starts `count` workers over `config`; resolves when all serve, rejects as startTracker throws. */
export async function startCluster(
  config: Config,
  count: number,
  o: ClusterOptions,
): Promise<RunningTracker> {
  const listeners = probeListeners(config);
  const shared = { ...config, listeners };
  // Every connection a worker may hold (its share of the cap, and closed ones not yet gone) may
  // come from a distinct address.
  const clientAddressesMax =
    connectionCap(config.tcpConnectionsMax, descriptorLimit(), count).connectionsMax +
    CLOSING_SLACK + count;
  const wiring = wireShards(count, ringDataBytes(count), clientAddressesMax);
  const connectionKey = crypto.getRandomValues(new Uint8Array(16));
  const trackerId = crypto.getRandomValues(new Uint32Array(1))[0];
  const startedAt = Math.floor(Date.now() / 1000);

  let stopping = false;
  const workers: Worker[] = [];
  // The stop: resolves when every worker reported that its sockets are closed.
  let stoppedLeft = count;
  let allStopped!: () => void;
  const workersStopped = new Promise<void>((resolve) => allStopped = resolve);

  // The state file: the main isolate writes the header, each worker's blocks in turn (asked for
  // chunk by chunk, so that a worker's memory holds one chunk at a time), and the final block.
  let nextExport = 1;
  let waitingChunk:
    | { id: number; resolve: (m: Extract<FromWorker, { kind: "stateChunk" }>) => void }
    | null = null;
  const stateChunk = (m: Extract<FromWorker, { kind: "stateChunk" }>) => {
    if (waitingChunk?.id !== m.id) return;
    const w = waitingChunk;
    waitingChunk = null;
    w.resolve(m);
  };
  const totals = { torrents: 0, peers: 0, records: 0 };
  async function* stateChunks(): AsyncGenerator<Uint8Array> {
    totals.torrents = totals.peers = totals.records = 0;
    yield writeStateHeader(config.peerTimeoutMinutes, Math.floor(Date.now() / 1000));
    for (const worker of workers) {
      const id = nextExport++;
      while (true) {
        const m = await new Promise<Extract<FromWorker, { kind: "stateChunk" }>>((resolve) => {
          waitingChunk = { id, resolve };
          worker.postMessage({ kind: "stateNext", id } satisfies ToWorker);
        });
        if (m.bytes === null) {
          totals.torrents += m.totals.torrents;
          totals.peers += m.totals.peers;
          totals.records += m.totals.records;
          break;
        }
        yield m.bytes;
      }
    }
    yield finalBlock(totals.records);
  }
  const saver = config.stateFile === null ? null : new StateSaver({
    path: config.stateFile,
    chunks: stateChunks,
    // The same line as one worker's: log readers need not know how many wrote it.
    describe: () => `${totals.torrents} torrents and ${totals.peers} peers`,
    intervalMinutes: config.stateFileIntervalMinutes,
    log: o.log,
  });

  // One full scrape admission for all workers: the concurrency cap and the per-client interval.
  const admission = new FullScrapeAdmission(
    config.fullScrapeConcurrency,
    config.fullScrapeIntervalSeconds,
  );

  // Gathering (figures, scans, woodpeckers, full scrape buckets): a worker asks, every worker
  // answers, the asker gets them all in worker order; what is asked before the last worker
  // started waits for it. The main isolate gathers too (the status page's samples).
  const gatherings = new Gatherings<GatherKind, GatherArg>(
    count,
    (index, id, what, arg, byMain) =>
      workers[index].postMessage({ kind: "collect", id, what, arg, byMain } satisfies ToWorker),
  );

  let readyDone!: () => void;
  let readyFail!: (e: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    readyDone = resolve;
    readyFail = reject;
  });
  ready.catch(() => {}); // read by main.ts once the start returned
  const started: Promise<BoundAddress[]>[] = [];
  const restored: Restored[] = [];
  const starts: (() => void)[] = [];
  for (let index = 0; index < count; index++) {
    const worker = new Worker(new URL("./worker.ts", import.meta.url).href, { type: "module" });
    workers.push(worker);
    const send = (m: ToWorker) => worker.postMessage(m);
    let startDone: ((a: BoundAddress[]) => void) | null = null;
    let startFail: ((e: Error) => void) | null = null;
    started.push(
      new Promise((resolve, reject) => {
        startDone = resolve;
        startFail = reject;
      }),
    );
    worker.onerror = (e) => {
      e.preventDefault();
      const where = e.filename ? ` (${e.filename}:${e.lineno})` : "";
      const why = `worker ${index} of ${count} failed: ${e.message}${where}`;
      if (startFail !== null) {
        // Running from source, Deno reads the worker's module through the read permission.
        const hint = /Requires read access/.test(e.message)
          ? ` (tracker.workers needs --allow-read for ${new URL(".", import.meta.url).pathname})`
          : "";
        return startFail(new StartError(why + hint, 1));
      }
      if (stopping) return;
      o.log(`${why}; stopping the tracker so that it is restarted with every shard`);
      o.exit(70);
    };
    worker.onmessage = (e: MessageEvent<FromWorker>) => {
      const m = e.data;
      switch (m.kind) {
        case "started":
          startFail = null;
          restored[index] = m.restored;
          return startDone!(m.addresses as BoundAddress[]);
        case "failed": {
          const error = m.name === "AddrInUse"
            ? new Deno.errors.AddrInUse(m.message)
            : m.exitCode !== null
            ? new StartError(m.message, m.exitCode)
            : new Error(m.message);
          return startFail?.(error);
        }
        case "gather":
          return gatherings.start(
            m.what,
            m.arg,
            (data) => worker.postMessage({ kind: "gathered", id: m.id, data } satisfies ToWorker),
          );
        case "collected":
          return gatherings.collected(index, m.id, m.data);
        case "admit":
          return worker.postMessage(
            {
              kind: "admitted",
              id: m.id,
              admission: admission.admit(m.client, m.modest, m.now),
            } satisfies ToWorker,
          );
        case "release":
          return admission.release();
        case "stateChunk":
          return stateChunk(m);
        case "reloaded":
          return reloaded(index, m.round);
        case "stopped":
          if (--stoppedLeft === 0) allStopped();
          return;
        // Only worker 0 holds the live sync socket; the others are ready once started.
        case "ready":
          if (index === 0) readyDone();
          return;
        case "notReady":
          if (index === 0) readyFail(new Error(m.message));
          return;
      }
    };
    // Rejections are read in order below; until then they must not count as unhandled.
    started[index].catch(() => {});
    const place: Omit<ShardWiring, "index"> = wiring;
    starts.push(() =>
      send({
        kind: "start",
        config: shared,
        wiring: { ...place, index },
        connectionKey,
        trackerId,
        startedAt,
        fault: o.faultWorker === index,
      })
    );
  }

  const broadcast = (m: ToWorker) => {
    for (const w of workers) w.postMessage(m);
  };
  // SIGHUP: the other workers reload first and worker 0, which says what was loaded, once they
  // all have: when the log line comes, every worker serves with the new list (a cluster has at
  // least two workers; one runs without it).
  let nextReload = 1;
  const reloadsLeft = new Map<number, number>();
  const reload = () => {
    const round = nextReload++;
    reloadsLeft.set(round, count - 1);
    for (let i = 1; i < count; i++) {
      workers[i].postMessage({ kind: "reload", round } satisfies ToWorker);
    }
  };
  const reloaded = (index: number, round: number) => {
    if (index === 0) return;
    const left = reloadsLeft.get(round);
    if (left === undefined) return;
    if (left > 1) return void reloadsLeft.set(round, left - 1);
    reloadsLeft.delete(round);
    workers[0].postMessage({ kind: "reload", round } satisfies ToWorker);
  };
  // The workers read their files and restore their state at the same time (as many at once as
  // the files' size allows) and bind their sockets one after another in worker order
  // (ShardLink.bindInTurn): the kernel's socket-choosing program relies on socket k being worker
  // k's. A worker's start goes out when the one `startsAtOnce` places before it has started.
  const startsAtOnce = restoreWindow(
    count,
    fileBytes(config.stateFile) + fileBytes(config.stateLoadFile) +
      (config.accessMode === "open" ? 0 : fileBytes(config.accessListFile)),
  );
  let addresses: BoundAddress[] = [];
  try {
    const bound = await startInOrder(
      count,
      startsAtOnce,
      (index) => starts[index](),
      (index) => started[index],
      o.holdLastStart ?? null,
    );
    addresses = bound[0];
    // Each worker took its own torrents from the same files: one report of all of them.
    reportRestored(mergeRestored(restored), config.stateFile, startedAt, o.log);
    gatherings.open();
  } catch (error) {
    stopping = true;
    saver?.cancel();
    for (const w of workers) w.terminate();
    throw error;
  }
  // The changeset FIFOs have one reader, here; every worker applies every change (each uses
  // the ones of its own torrents).
  const fifos = config.accessMode === "open" || config.accessListFile === null
    ? []
    : feedFifos(config, (change, hash) => broadcast({ kind: "access", change, hash }), o.log);
  // The status page's samples: the whole tracker's figures, taken here and handed to every
  // worker (each serves the page from its copy).
  const samples = new SampleRing();
  const takeSample = () =>
    new Promise<void>((resolve) =>
      gatherings.start("figures", null, (data) => {
        samples.add(sumFigures(data as MetricsSource[]), Date.now() / 1000);
        broadcast({ kind: "sample", sample: samples.last()! });
        resolve();
      }, true)
    );
  // The first before the tracker serves: the status page has a sample from the start.
  await takeSample();
  const sampler = setInterval(takeSample, SAMPLE_INTERVAL_SECONDS * 1000);
  let stopped: Promise<void> | null = null;
  return {
    addresses,
    ready,
    saveState: () => {
      if (saver !== null) return saver.save();
      o.log("No state file to write: tracker.statefile is not set");
      return Promise.resolve();
    },
    reload,
    stop: () => {
      if (stopped === null) {
        stopping = true;
        clearInterval(sampler);
        const done = Promise.all([workersStopped, closeFifos(fifos)]);
        broadcast({ kind: "stop" });
        // Every socket closed first, so that the state written last is final.
        stopped = done.then(() => saver?.close()).finally(() => {
          for (const w of workers) w.terminate();
        });
      }
      return stopped;
    },
  };
}
