/**
 * The result of a full scan of the swarm (logic/stats_scan.ts), as the /stats renderers read it.
 *
 * Pure: imports nothing.
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

/**
 * What one scan found before the network lists are cut to their largest entries: with several
 * workers (`tracker.workers`), every worker's part is merged into one {@link Snapshot}. A
 * torrent lives in one worker, so the top lists of the whole are among the parts' top lists; a
 * network's peers are in every worker, so the parts carry every network: `nets28` and `nets24`
 * hold every IPv4 network with its peers, not only the largest.
 */
export type ScanPart = Snapshot;

/** Entries a top list keeps, and networks a network list keeps. */
export const TOP_ENTRIES = 100;
export const TOP_NETS = 128;

/** The `TOP_NETS` largest networks, largest first, ties by network ascending. */
export function topNets(nets: Iterable<readonly [number, number]>): [number, number][] {
  return [...nets].map(([k, v]): [number, number] => [k, v])
    .sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, TOP_NETS);
}

/** Orders top entries: count descending, ties by hash ascending (opentracker's order). */
export function compareTop(a: TopEntry, b: TopEntry): number {
  return b.count - a.count || (a.hex < b.hex ? -1 : a.hex > b.hex ? 1 : 0);
}

/** One worker's part as a snapshot. */
export function snapshotOf(part: ScanPart): Snapshot {
  return { ...part, nets28: topNets(part.nets28), nets24: topNets(part.nets24) };
}

/** The parts of every worker as one snapshot (`parts` is not empty). */
export function mergeScanParts(parts: readonly ScanPart[]): Snapshot {
  const top = (pick: (p: ScanPart) => readonly TopEntry[]) =>
    parts.flatMap(pick).sort(compareTop).slice(0, TOP_ENTRIES);
  const nets = (pick: (p: ScanPart) => readonly (readonly [number, number])[]) => {
    const sums = new Map<number, number>();
    for (const p of parts) for (const [k, v] of pick(p)) sums.set(k, (sums.get(k) ?? 0) + v);
    return topNets(sums);
  };
  return {
    at: Math.min(...parts.map((p) => p.at)),
    torrents: parts.reduce((a, p) => a + p.torrents, 0),
    topPeers: top((p) => p.topPeers),
    topSeeds: top((p) => p.topSeeds),
    topLeechers: top((p) => p.topLeechers),
    nets28: nets((p) => p.nets28),
    nets24: nets((p) => p.nets24),
  };
}
