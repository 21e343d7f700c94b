/**
 * Entry of one worker when the tracker runs several (`tracker.workers`, src/cluster.ts starts
 * them): builds a tracker over this worker's share of the torrents and its own sockets, and
 * answers the main isolate's control messages. Requests never pass through here: they reach
 * the worker's sockets, or its rings from the other workers.
 */

import { Config } from "./config/config.ts";
import { MetricsSource } from "./stats/metrics.ts";
import { ShardWiring } from "./server/shard_link.ts";
import { RunningShard, RunningTracker, startTracker } from "./tracker.ts";

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
  | { kind: "figures"; id: number }
  | { kind: "gathered"; id: number; figures: MetricsSource[] }
  | { kind: "reload" }
  | { kind: "save" }
  | { kind: "stop" };

/** What a worker sends the main isolate. */
export type FromWorker =
  | { kind: "started"; addresses: RunningTracker["addresses"] }
  | { kind: "failed"; name: string; message: string; exitCode: number | null }
  | { kind: "figures"; id: number; figures: MetricsSource }
  | { kind: "gather"; id: number }
  | { kind: "saved" }
  | { kind: "stopped" };

/** The worker's global scope (the main program's types do not describe it). */
const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
  postMessage(message: FromWorker): void;
  close(): void;
};

let tracker: RunningShard | null = null;
let nextGather = 1;
const gathers = new Map<number, (figures: MetricsSource[]) => void>();

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
        gather: () =>
          new Promise((resolve) => {
            const id = nextGather++;
            gathers.set(id, resolve);
            scope.postMessage({ kind: "gather", id });
          }),
      },
    });
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    const exitCode = "exitCode" in e && typeof e.exitCode === "number" ? e.exitCode : null;
    scope.postMessage({ kind: "failed", name: e.name, message: e.message, exitCode });
    return;
  }
  scope.postMessage({ kind: "started", addresses: tracker.addresses });
  fault = m.fault;
}

/** Set by OPENTRACKER_FAULT_WORKER: fail at the first gathering of figures (/stats, /metrics). */
let fault = false;

scope.onmessage = (e) => {
  const m = e.data;
  switch (m.kind) {
    case "start":
      return start(m);
    case "figures":
      if (fault) throw new Error("fault injected by OPENTRACKER_FAULT_WORKER");
      if (tracker !== null) {
        scope.postMessage({ kind: "figures", id: m.id, figures: tracker.figures() });
      }
      return;
    case "gathered":
      gathers.get(m.id)?.(m.figures);
      gathers.delete(m.id);
      return;
    case "reload":
      return tracker?.reload();
    case "save":
      void tracker?.saveState().then(() => scope.postMessage({ kind: "saved" }));
      return;
    case "stop":
      void (tracker?.stop() ?? Promise.resolve()).then(() => {
        scope.postMessage({ kind: "stopped" });
        scope.close();
      });
      return;
  }
};
