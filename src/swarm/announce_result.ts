/**
 * What the swarm's operations report: the reply mode of an announce, its result (counts, how
 * many peers of each family the reply takes, the facts statistics count) and a torrent's scrape
 * counts. Preallocated by the callers and reused.
 *
 * Must not import anything.
 */

/** Which peers an announce's reply returns. */
export const REPLY = {
  /** Both families, proportionally (HTTP). */
  bothFamilies: 0,
  /** The requester's family only (UDP). */
  ownFamily: 1,
  /** No reply at all (live sync records). */
  none: 2,
} as const;

/**
 * Outcome of an announce or a stop: counts, how many peers of each family the reply takes
 * (written afterwards by the swarm's writePeers), and the facts statistics count.
 */
export class AnnounceResult {
  /** Seeders over both families. */
  seeders = 0;
  /** Leechers over both families. */
  leechers = 0;
  /** Completed downloads over both families. */
  downloaded = 0;
  /** IPv4 and IPv6 peers the reply takes. */
  n4 = 0;
  n6 = 0;
  /** The announce stored a new peer. */
  isNewPeer = false;
  /** Age in minutes of the renewed peer, or -1 when none was renewed. */
  renewedAgeMinutes = -1;
  /** The announce counted a completed download. */
  completed = false;
  /** Peers in the requester's family list after the announce (the fork's popularity rule). */
  familyPeers = 0;
  /** A stop found and removed the peer. */
  removed = false;
  /** A new peer was refused by a budget or the per-torrent cap (nothing stored). */
  refused = false;
  /** The new peer was admitted on probation: a short first lifetime, so a short interval. */
  probation = false;
  /** The torrent the peers come from (valid until the next swarm operation). */
  slot = -1;
}

/** Counts of one torrent, for scrapes. */
export class ScrapeCounts {
  seeders = 0;
  leechers = 0;
  downloaded = 0;
}
