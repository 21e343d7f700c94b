/**
 * The figures of several workers (`tracker.workers`) as one tracker: what /stats and /metrics
 * show. Each worker owns a share of the torrents and counts what it served, so totals are sums;
 * a figure of the whole process (resident memory, the uptime, the tracker id) is taken once, and
 * the event-loop lag is the worst worker's.
 *
 * Pure: the figures arrive as structured clones (plain objects and typed arrays).
 */

import { Counters } from "./counters.ts";
import { ConnectionFigures, MetricsSource } from "./metrics.ts";
import { mergeClientEntries } from "./clients.ts";

/** Figures that describe the whole process or its configuration: taken from the first worker. */
const SHARED: ReadonlySet<string> = new Set([
  "trackerId",
  "uptimeSeconds",
  "peerTimeoutMinutes",
  "rssBytes",
]);

/** Adds `from`'s counters into `into` (the same fields: numbers and typed arrays). */
export function addCounters(into: Counters, from: Counters): void {
  const target = into as unknown as Record<string, number | Float64Array>;
  const source = from as unknown as Record<string, number | Float64Array>;
  for (const key of Object.keys(target)) {
    const t = target[key];
    const s = source[key];
    if (typeof t === "number" && typeof s === "number") target[key] = t + s;
    else if (t instanceof Float64Array && s instanceof Float64Array) {
      for (let i = 0; i < t.length && i < s.length; i++) t[i] += s[i];
    }
  }
}

/** Sums pairs `[label, count]` by label, keeping the first list's order. */
function sumPairs(
  lists: readonly (readonly (readonly [string, number])[])[],
): [string, number][] {
  const sums = new Map<string, number>();
  for (const list of lists) for (const [k, v] of list) sums.set(k, (sums.get(k) ?? 0) + v);
  return [...sums];
}

function sumConnections(all: readonly ConnectionFigures[]): ConnectionFigures {
  const sum = (f: (c: ConnectionFigures) => number) => all.reduce((a, c) => a + f(c), 0);
  return {
    open: sum((c) => c.open),
    ceiling: sum((c) => c.ceiling),
    peak: sum((c) => c.peak),
    accepted: sum((c) => c.accepted),
    acceptErrors: sum((c) => c.acceptErrors),
    tlsErrors: sum((c) => c.tlsErrors),
    failures: sum((c) => c.failures),
    capWaits: sum((c) => c.capWaits),
    byState: sumPairs(all.map((c) => c.byState)),
    refused: sumPairs(all.map((c) => c.refused)),
    closed: sumPairs(all.map((c) => c.closed)),
  };
}

/** The figures of all workers as one tracker's (`all` is not empty). */
export function sumFigures(all: readonly MetricsSource[]): MetricsSource {
  const counters = new Counters();
  for (const f of all) addCounters(counters, f.counters);
  const first = all[0] as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(first)) {
    if (key === "counters" || key === "connections" || key === "clients") continue;
    const values = all.map((f) => (f as unknown as Record<string, unknown>)[key]);
    if (SHARED.has(key) || typeof values[0] !== "number") out[key] = values[0];
    else if (key === "eventLoopLagSeconds") out[key] = Math.max(...(values as number[]));
    else out[key] = (values as number[]).reduce((a, b) => a + b, 0);
  }
  out.counters = counters;
  out.connections = sumConnections(all.map((f) => f.connections));
  out.clients = mergeClientEntries(all.map((f) => f.clients));
  return out as unknown as MetricsSource;
}
