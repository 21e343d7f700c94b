/**
 * Entry of one worker when the tracker runs several (`tracker.workers`, src/cluster.ts starts
 * them): builds a tracker over this worker's share of the torrents and its own sockets, and
 * answers the main isolate's control messages. Requests never pass through here: they reach
 * the worker's sockets, or its rings from the other workers.
 */

import { Config } from "./config/config.ts";
import { ShardWiring } from "./server/shard_link.ts";
import { StateExportTotals } from "./logic/state_export.ts";
import { Restored } from "./logic/restore.ts";
import { AccessChange } from "./server/access_feeds.ts";
import { Admission } from "./logic/full_scrape_admission.ts";
import {
  GatherArg,
  Gathered,
  GatherKind,
  RunningShard,
  RunningTracker,
  startTracker,
} from "./tracker.ts";

/** What the main isolate sends a worker. */
export type ToWorker =
  | {
    kind: "start";
    config: Config;
    wiring: ShardWiring;
    connectionKey: Uint8Array;
    trackerId: number;
    startedAt: number;
    /** Fault injection (OPENTRACKER_FAULT_WORKER): fail at the first /stats or /metrics. */
    fault: boolean;
  }
  /** Send this worker's share of `what` (for the gathering `id`). */
  | { kind: "collect"; id: number; what: GatherKind; arg: GatherArg; byMain: boolean }
  /** Every worker's share, in worker order, of what this worker asked for. */
  | { kind: "gathered"; id: number; data: unknown[] }
  | { kind: "admitted"; id: number; admission: Admission }
  /** SIGHUP: read the access list (and certificate) again; answer with `reloaded`. */
  | { kind: "reload"; round: number }
  | { kind: "access"; change: AccessChange; hash: Uint8Array }
  /** The whole tracker's newest sample for the status page (stats/samples.ts). */
  | { kind: "sample"; sample: number[] }
  /** The next chunk of this worker's state file blocks (a new export when `id` is new). */
  | { kind: "stateNext"; id: number }
  | { kind: "stop" };

/** What a worker sends the main isolate. */
export type FromWorker =
  | { kind: "started"; addresses: RunningTracker["addresses"]; restored: Restored }
  | { kind: "failed"; name: string; message: string; exitCode: number | null }
  | { kind: "collected"; id: number; data: unknown }
  | { kind: "gather"; id: number; what: GatherKind; arg: GatherArg }
  /** May `client` start a full scrape (the one table is the main isolate's)? */
  | { kind: "admit"; id: number; client: string; modest: boolean; now: number }
  | { kind: "release" }
  /** A chunk of state blocks, or null at the end with the export's totals. */
  | {
    kind: "stateChunk";
    id: number;
    bytes: Uint8Array | null;
    totals: StateExportTotals;
  }
  /** Live sync joined its group (at once without live sync), or could not. */
  | { kind: "ready" }
  | { kind: "notReady"; message: string }
  /** This worker serves with what the reload `round` read. */
  | { kind: "reloaded"; round: number }
  | { kind: "stopped" };

/** The worker's global scope (the main program's types do not describe it). */
const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
};

let tracker: RunningShard | null = null;
let nextGather = 1;
/**
 * A gathering whose shares have not all come by then fails (its request gets a 500 and the log a
 * line): a running worker answers at once, so only one that stopped answering brings this about,
 * and the request must not wait for ever (nor hold up the stop, which waits for the requests).
 */
const GATHER_TIMEOUT_MS = 60_000;
const gathers = new Map<
  number,
  {
    resolve: (data: unknown[]) => void;
    reject: (e: Error) => void;
    timer: ReturnType<typeof setTimeout>;
  }
>();
const admissions = new Map<number, (a: Admission) => void>();

function start(m: Extract<ToWorker, { kind: "start" }>): void {
  const index = m.wiring.index;
  const log = index === 0
    ? (line: string) => console.error(line)
    : (line: string) => console.error(`worker ${index}: ${line}`);
  try {
    tracker = startTracker(m.config, {
      log,
      shard: {
        wiring: m.wiring,
        connectionKey: m.connectionKey,
        trackerId: m.trackerId,
        startedAt: m.startedAt,
        admitFullScrape: (client, modest, now) =>
          new Promise<Admission>((resolve) => {
            const id = nextGather++;
            admissions.set(id, resolve);
            scope.postMessage({ kind: "admit", id, client, modest, now });
          }),
        releaseFullScrape: () => scope.postMessage({ kind: "release" }),
        gather: <K extends GatherKind>(what: K, arg: GatherArg = null) =>
          new Promise<Gathered[K][]>((resolve, reject) => {
            const id = nextGather++;
            const timer = setTimeout(() => {
              gathers.delete(id);
              reject(
                new Error(`the workers' ${what} did not come within ${GATHER_TIMEOUT_MS / 1000} s`),
              );
            }, GATHER_TIMEOUT_MS);
            gathers.set(id, { resolve: resolve as (data: unknown[]) => void, reject, timer });
            scope.postMessage({ kind: "gather", id, what, arg });
          }),
      },
    });
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    const exitCode = "exitCode" in e && typeof e.exitCode === "number" ? e.exitCode : null;
    scope.postMessage({ kind: "failed", name: e.name, message: e.message, exitCode });
    return;
  }
  scope.postMessage({ kind: "started", addresses: tracker.addresses, restored: tracker.restored });
  tracker.ready.then(
    () => scope.postMessage({ kind: "ready" }),
    (e) =>
      scope.postMessage({ kind: "notReady", message: e instanceof Error ? e.message : String(e) }),
  );
  fault = m.fault;
}

/** This worker's share of a gathering. */
async function collect(
  t: RunningShard,
  id: number,
  what: GatherKind,
  arg: GatherArg,
): Promise<void> {
  let data: Gathered[GatherKind];
  if (what === "figures") data = t.figures();
  else if (what === "scan") data = await t.scanPart();
  else if (what === "woodpeckers") data = t.woodpeckerEntries();
  else if (what === "bucket") data = await t.packBucket(arg!.id, arg!.bucket ?? 0);
  else data = t.endExport(arg!.id);
  scope.postMessage({ kind: "collected", id, data });
}

/** Set by OPENTRACKER_FAULT_WORKER: fail at the first gathering of figures (/stats, /metrics). */
let fault = false;

/** The export in progress (one at a time: the main isolate writes one file at a time). */
let exporting: {
  id: number;
  chunks: AsyncGenerator<Uint8Array>;
  totals: StateExportTotals;
} | null = null;

async function nextStateChunk(id: number): Promise<void> {
  if (tracker === null) return;
  if (exporting === null || exporting.id !== id) {
    await exporting?.chunks.return(undefined);
    const totals = { torrents: 0, peers: 0, records: 0 };
    exporting = { id, chunks: tracker.stateBlocks(totals), totals };
  }
  const { chunks, totals } = exporting;
  const next = await chunks.next();
  if (next.done) {
    exporting = null;
    scope.postMessage({ kind: "stateChunk", id, bytes: null, totals });
    return;
  }
  // A copy: the export reuses its buffer for the next chunk.
  const bytes = next.value.slice();
  scope.postMessage({ kind: "stateChunk", id, bytes, totals }, [bytes.buffer]);
}

scope.onmessage = (e) => {
  const m = e.data;
  switch (m.kind) {
    case "start":
      return start(m);
    case "collect":
      // A request's gathering, not the main isolate's periodic sample.
      if (fault && !m.byMain) throw new Error("fault injected by OPENTRACKER_FAULT_WORKER");
      if (tracker !== null) void collect(tracker, m.id, m.what, m.arg);
      return;
    case "admitted":
      admissions.get(m.id)?.(m.admission);
      admissions.delete(m.id);
      return;
    case "gathered": {
      const g = gathers.get(m.id);
      if (g === undefined) return;
      gathers.delete(m.id);
      clearTimeout(g.timer);
      return g.resolve(m.data);
    }
    case "sample":
      tracker?.pushSample(m.sample);
      return;
    case "reload":
      tracker?.reload();
      return scope.postMessage({ kind: "reloaded", round: m.round });
    case "access":
      return tracker?.accessChange(m.change, m.hash);
    case "stateNext":
      return void nextStateChunk(m.id);
    case "stop":
      // The requests that wait for a gathering end now: the stop waits for every request.
      for (const g of gathers.values()) {
        clearTimeout(g.timer);
        g.reject(new Error("the tracker stops"));
      }
      gathers.clear();
      // The swarm stays: the main isolate writes the state file after every worker stopped,
      // then ends the workers.
      void (tracker?.stop() ?? Promise.resolve()).then(() => {
        scope.postMessage({ kind: "stopped" });
      });
      return;
  }
};
