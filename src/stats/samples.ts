/**
 * The last hour of the tracker's figures, for the live status page (`/stats?mode=html`): every
 * {@link SAMPLE_INTERVAL_SECONDS} a sample of the request rates by protocol and action, the
 * swarm's size, refused peers, memory and event-loop lag goes into a ring of
 * {@link SAMPLES_MAX} (a fixed 360 × 16 numbers, whatever the uptime). Rates are the counters'
 * growth since the previous sample, per second.
 *
 * Pure: the caller takes the figures and keeps the clock.
 */

import { ACTION_KIND, PROTOCOL, requestIndex } from "./counters.ts";
import { MetricsSource } from "./metrics.ts";

/** Seconds between two samples. */
export const SAMPLE_INTERVAL_SECONDS = 10;
/** Samples kept: one hour. */
export const SAMPLES_MAX = 360;

/** The series of a sample, in order (the status page names its charts' lines after them). */
export const SAMPLE_SERIES = [
  "time",
  "udp_connect",
  "udp_announce",
  "udp_scrape",
  "http_announce",
  "http_scrape",
  "http_other",
  "torrents",
  "peers",
  "seeders",
  "leechers",
  "refused_peers",
  "rss_bytes",
  "heap_bytes",
  "lag_seconds",
] as const;

const WIDTH = SAMPLE_SERIES.length;

/** The counters a rate is computed from, kept from the previous sample. */
interface Previous {
  readonly time: number;
  readonly rates: readonly number[];
}

/** Totals behind each rate series (requests of both families, refused peers). */
function totals(m: MetricsSource): number[] {
  const r = m.counters.requests;
  const both = (p: number, a: number) => r[requestIndex(p, false, a)] + r[requestIndex(p, true, a)];
  return [
    both(PROTOCOL.udp, ACTION_KIND.connect),
    both(PROTOCOL.udp, ACTION_KIND.announce),
    both(PROTOCOL.udp, ACTION_KIND.scrape),
    both(PROTOCOL.http, ACTION_KIND.announce),
    both(PROTOCOL.http, ACTION_KIND.scrape),
    both(PROTOCOL.http, ACTION_KIND.other),
    m.refusedPeers,
  ];
}

/** The ring of samples; {@link add} takes the figures of the moment. */
export class SampleRing {
  readonly #data = new Float64Array(SAMPLES_MAX * WIDTH);
  #next = 0;
  #count = 0;
  #previous: Previous | null = null;

  /** Samples held. */
  get length(): number {
    return this.#count;
  }

  /** Takes a sample of `m` at `timeSeconds` (the first one has rates of 0). */
  add(m: MetricsSource, timeSeconds: number): void {
    const now = totals(m);
    const prev = this.#previous;
    const dt = prev === null ? 0 : timeSeconds - prev.time;
    const rate = (k: number) => dt <= 0 ? 0 : Math.max(0, (now[k] - prev!.rates[k]) / dt);
    this.push([
      timeSeconds,
      rate(0),
      rate(1),
      rate(2),
      rate(3),
      rate(4),
      rate(5),
      m.torrents,
      m.peers,
      m.seeds,
      m.peers - m.seeds,
      rate(6),
      m.rssBytes,
      m.heapUsedBytes,
      m.eventLoopLagSeconds,
    ]);
    this.#previous = { time: timeSeconds, rates: now };
  }

  /** Appends a whole sample (one number per {@link SAMPLE_SERIES}), dropping the oldest. */
  push(sample: readonly number[]): void {
    this.#data.set(sample.slice(0, WIDTH), this.#next * WIDTH);
    this.#next = (this.#next + 1) % SAMPLES_MAX;
    if (this.#count < SAMPLES_MAX) this.#count++;
  }

  /** The newest sample, or null. */
  last(): number[] | null {
    if (this.#count === 0) return null;
    const at = ((this.#next + SAMPLES_MAX - 1) % SAMPLES_MAX) * WIDTH;
    return [...this.#data.subarray(at, at + WIDTH)];
  }

  /** Every sample as columns, oldest first: `{ time: [...], udp_connect: [...], ... }`. */
  columns(): Record<(typeof SAMPLE_SERIES)[number], number[]> {
    const out = {} as Record<(typeof SAMPLE_SERIES)[number], number[]>;
    for (const name of SAMPLE_SERIES) out[name] = [];
    const first = (this.#next + SAMPLES_MAX - this.#count) % SAMPLES_MAX;
    for (let i = 0; i < this.#count; i++) {
      const at = ((first + i) % SAMPLES_MAX) * WIDTH;
      SAMPLE_SERIES.forEach((name, k) => out[name].push(this.#data[at + k]));
    }
    return out;
  }
}
