/**
 * Announces counted by client software, for /metrics: `-qB4650-` is qBittorrent 4.6.5,
 * `-TR3000-` Transmission 3.00, `-lt0D80-` libtorrent. The announce path only counts: the
 * peer_id's first 8 bytes (the part that names the client and its version in every common
 * style) are the key of a fixed open-addressing table, with one whole peer_id kept per key as a
 * sample. Names are decoded when /metrics is rendered, from the samples, by npm
 * `bittorrent-peerid` (WebTorrent's decoder of the peer_id conventions of BEP 20 and the many
 * clients that predate it).
 *
 * Bounded: at most {@link CLIENT_KEYS_MAX} keys per worker; a prefix that is not printable ASCII
 * (random peer_ids, such as libtorrent's anonymous mode) counts under one key, and once the
 * table is full a new prefix counts as `other`. /metrics shows the {@link CLIENT_SERIES_MAX}
 * clients with the most announces, and the rest as `other`.
 */

import { Buffer } from "node:buffer";
import peerid from "bittorrent-peerid";
import { toHex } from "../util/hex.ts";

/** Distinct peer_id prefixes counted (per worker). */
export const CLIENT_KEYS_MAX = 1024;
/** Client series /metrics shows besides `other`. */
export const CLIENT_SERIES_MAX = 20;

const SLOTS = CLIENT_KEYS_MAX * 2;

/** A counted prefix: its sample peer_id (40 hex digits) and its announces. */
export type ClientEntry = readonly [sampleHex: string, announces: number];

/** The announces of one worker, by peer_id prefix. */
export class ClientCounts {
  readonly #hi = new Int32Array(SLOTS);
  readonly #lo = new Int32Array(SLOTS);
  readonly #count = new Float64Array(SLOTS);
  readonly #sample = new Uint8Array(SLOTS * 20);
  #keys = 0;
  /** Announces of prefixes that found the table full. */
  overflow = 0;

  /** Counts one announce of the client whose peer_id is `id` (20 bytes). */
  count(id: Uint8Array): void {
    let printable = true;
    for (let i = 0; i < 8; i++) if (id[i] < 0x20 || id[i] > 0x7e) printable = false;
    // Key 0,0 is an empty slot; a non-printable prefix is one key, 1,0.
    const hi = printable ? (id[0] << 24) | (id[1] << 16) | (id[2] << 8) | id[3] : 1;
    const lo = printable ? (id[4] << 24) | (id[5] << 16) | (id[6] << 8) | id[7] : 0;
    let s = (Math.imul(hi ^ Math.imul(lo, 0x9e3779b1), 0x85ebca6b) >>> 21) & (SLOTS - 1);
    for (;;) {
      if (this.#count[s] === 0) {
        if (this.#keys >= CLIENT_KEYS_MAX) {
          this.overflow++;
          return;
        }
        this.#keys++;
        this.#hi[s] = hi;
        this.#lo[s] = lo;
        this.#sample.set(id.subarray(0, 20), s * 20);
        this.#count[s] = 1;
        return;
      }
      if (this.#hi[s] === hi && this.#lo[s] === lo) {
        this.#count[s]++;
        return;
      }
      s = (s + 1) & (SLOTS - 1);
    }
  }

  /** Every counted prefix (for /metrics, and for summing over workers). */
  entries(): ClientEntry[] {
    const out: ClientEntry[] = [];
    for (let s = 0; s < SLOTS; s++) {
      if (this.#count[s] === 0) continue;
      out.push([toHex(this.#sample, s * 20, 20), this.#count[s]]);
    }
    return out;
  }
}

/** The entries of several workers as one list (the same prefix counted once, summed). */
export function mergeClientEntries(lists: readonly (readonly ClientEntry[])[]): ClientEntry[] {
  const byPrefix = new Map<string, [string, number]>();
  for (const list of lists) {
    for (const [sample, n] of list) {
      const key = sample.slice(0, 16);
      const e = byPrefix.get(key);
      if (e === undefined) byPrefix.set(key, [sample, n]);
      else e[1] += n;
    }
  }
  return [...byPrefix.values()];
}

/** Name and version of the client that sent `sampleHex`, or "unknown". */
export function clientName(sampleHex: string): { client: string; version: string } {
  try {
    const r = peerid(Buffer.from(sampleHex, "hex")) as { client?: string; version?: string };
    const client = r.client && !/^unknown/i.test(r.client) ? r.client.trim() : "unknown";
    return { client, version: client === "unknown" ? "" : (r.version ?? "").trim() };
  } catch {
    return { client: "unknown", version: "" };
  }
}

/** One series of /metrics: announces of a client version. */
export interface ClientSeries {
  readonly client: string;
  readonly version: string;
  readonly announces: number;
}

/**
 * The series /metrics shows: the {@link CLIENT_SERIES_MAX} client versions with the most
 * announces (ties by name), then `other` with the rest and the table's overflow.
 */
export function clientSeries(entries: readonly ClientEntry[], overflow: number): ClientSeries[] {
  const byName = new Map<string, { client: string; version: string; announces: number }>();
  for (const [sample, n] of entries) {
    const { client, version } = clientName(sample);
    const key = `${client}\u0000${version}`;
    const e = byName.get(key);
    if (e === undefined) byName.set(key, { client, version, announces: n });
    else e.announces += n;
  }
  const all = [...byName.values()].sort((a, b) =>
    b.announces - a.announces || a.client.localeCompare(b.client) ||
    a.version.localeCompare(b.version)
  );
  const top = all.slice(0, CLIENT_SERIES_MAX);
  const rest = all.slice(CLIENT_SERIES_MAX).reduce((n, e) => n + e.announces, overflow);
  return [...top, { client: "other", version: "", announces: rest }];
}
