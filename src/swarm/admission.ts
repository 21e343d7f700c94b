/**
 * Who may join: the peer budget, the per-torrent cap, the torrent budget, their watermarks and
 * probation. Only new peers and new torrents are ever refused; renewals, completions and stops
 * of what the tracker holds always work (opentracker's fork refused renewals too, so full
 * torrents churned).
 *
 * Pure and synchronous; randomness comes from the injected PRNG.
 */

import { DEFAULTS } from "../types.ts";
import { Prng } from "../util/random.ts";

/** Swarms smaller than this are admitted up to the hard budget (erdgeist's minimum allowance). */
const SMALL_SWARM_PEERS = 10;

/** Options for {@link Admission}. */
export interface AdmissionOptions {
  /** Most peers held in all. Default: no limit. */
  peerBudget?: number;
  /** Most peers of one torrent (both families). Default: no limit. */
  torrentPeersMax?: number;
  /** Most torrents held. Default: no limit. */
  torrentBudget?: number;
  /** Fraction of each budget above which admission gets stricter. Default 0.7. */
  watermark?: number;
  /** First lifetime in minutes of a peer admitted above a watermark (0 = off). Default 0. */
  probationMinutes?: number;
  /** The peer timeout the probation shortens. */
  peerTimeoutMinutes: number;
}

/** Admission decisions of one swarm. */
export class Admission {
  readonly peerBudget: number;
  readonly torrentBudget: number;
  readonly #torrentPeersMax: number;
  readonly #peerWatermark: number;
  readonly #torrentWatermark: number;
  /** Age a probation peer starts with, so that it times out after the probation; 0 = off. */
  readonly probationAge: number;
  readonly #prng: Prng;

  constructor(options: AdmissionOptions, prng: Prng) {
    this.#prng = prng;
    this.peerBudget = options.peerBudget ?? Infinity;
    this.torrentBudget = options.torrentBudget ?? Infinity;
    this.#torrentPeersMax = options.torrentPeersMax ?? Infinity;
    const watermark = options.watermark ?? DEFAULTS.budgetWatermarkPercent / 100;
    this.#peerWatermark = Math.floor(this.peerBudget * watermark);
    this.#torrentWatermark = Math.floor(this.torrentBudget * watermark);
    const probation = options.probationMinutes ?? 0;
    this.probationAge = probation > 0 && probation < options.peerTimeoutMinutes
      ? options.peerTimeoutMinutes - probation
      : 0;
  }

  /**
   * Whether a new peer may join a swarm of `swarmPeers` peers when `peers` are held. Below the
   * watermark: yes. At the budget or the per-torrent cap: no. In between: swarms under 10 peers
   * yes, larger ones with probability (1 - load)^2 / (1 + log2(size / 10))^1.5, so that near
   * the budget the remaining room goes to the many small swarms rather than to the few that
   * already hold most peers (upstream's proposed WANT_LIMIT_PEERS).
   */
  admitPeer(swarmPeers: number, peers: number): boolean {
    if (swarmPeers >= this.#torrentPeersMax) return false;
    if (peers < this.#peerWatermark) return true;
    if (peers >= this.peerBudget) return false;
    if (swarmPeers < SMALL_SWARM_PEERS) return true;
    const load = (peers - this.#peerWatermark) /
      Math.max(1, this.peerBudget - this.#peerWatermark);
    const p = (1 - load) ** 2 / (1 + Math.log2(swarmPeers / SMALL_SWARM_PEERS)) ** 1.5;
    return this.#prng.below(1_000_000) < p * 1_000_000;
  }

  /**
   * The age a new peer starts with: the probation age when it joins above the peer watermark,
   * or creates a torrent above the torrent watermark; 0 otherwise. A peer that never renews (a
   * flood) then frees its room after the probation instead of the peer timeout.
   */
  startAge(created: boolean, peers: number, torrents: number): number {
    if (this.probationAge === 0) return 0;
    if (peers >= this.#peerWatermark || (created && torrents > this.#torrentWatermark)) {
      return this.probationAge;
    }
    return 0;
  }
}
