/**
 * The result of a full scan of the swarm (logic/stats_scan.ts), as the /stats renderers read it.
 *
 * Must not import anything.
 */

/** One entry of a top list. */
export interface TopEntry {
  readonly count: number;
  /** The info_hash as 40 upper-case hex digits. */
  readonly hex: string;
}

/** The result of one full scan. */
export interface Snapshot {
  /** Seconds since the epoch when the scan finished. */
  readonly at: number;
  /** Torrents counted by iteration (`count_iterator`). */
  readonly torrents: number;
  readonly topPeers: readonly TopEntry[];
  readonly topSeeds: readonly TopEntry[];
  readonly topLeechers: readonly TopEntry[];
  /** IPv4 peers per /28 and /24 network, the 128 largest, largest first: [network, count]. */
  readonly nets28: readonly (readonly [number, number])[];
  readonly nets24: readonly (readonly [number, number])[];
}
