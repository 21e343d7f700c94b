/**
 * Domain vocabulary and the LIMITS table. No logic lives here.
 *
 * Every limit carries its unit last in its name and the reason beside it, so that an operator
 * reading this file knows what bounds each buffer, list and queue of the tracker.
 *
 * Must not import anything.
 */

/**
 * Where glibc's shared library lives on the Linux distributions the tracker runs on (Debian and
 * Ubuntu on x86_64 and arm64, Fedora/RHEL/SUSE, Arch). The FFI grant names these files only, so
 * that the batched UDP path can call the C library and nothing else; `Deno.dlopen` must be given
 * the same absolute path for a scoped grant to apply.
 */
export const LIBC_PATHS: readonly string[] = [
  "/lib/x86_64-linux-gnu/libc.so.6",
  "/lib/aarch64-linux-gnu/libc.so.6",
  "/lib64/libc.so.6",
  "/usr/lib/libc.so.6",
];

/** Hard limits of the implementation (not operator settings). */
export const LIMITS = {
  /** opentracker's G_INBUF_SIZE: a request line plus headers never needs more. */
  httpRequestBytesMax: 8192,
  /** opentracker's receive buffer; larger datagrams are truncated by the kernel read. */
  udpDatagramBytesMax: 8192,
  /** BEP 15 and opentracker: 74 hashes keep a scrape reply under one 1500-byte frame. */
  udpScrapeHashesMax: 74,
  /** opentracker's OT_MAXMULTISCRAPE_COUNT; extra hashes are ignored silently. */
  httpScrapeHashesMax: 64,
  /** Largest numwant any protocol can be configured to return; sizes the reply scratch buffers. */
  numwantCeiling: 512,
  /** Decoded query parameter values never need more than this (info_hash is 20 bytes). */
  queryValueBytesMax: 2048,
  /** Peer ages are stored in one byte, as in opentracker. */
  peerTimeoutMinutesMax: 255,
  /** Blocks of the peer store are carved from pages of this size; larger lists get their own. */
  peerPageBytes: 1 << 20,
  /** Page ids live in the top 12 bits of a 32-bit block handle: at most 4 GiB of small lists. */
  peerPagesMax: 4095,
  /** A single swarm family list may not exceed this (16 M peers, far beyond any real swarm). */
  peersPerListMax: 1 << 24,
  /** Torrent slots; 2^26 torrents would already need several GiB. */
  torrentsMax: 1 << 26,
  /** Blessed nets (-A, access.stats, access.proxy, node_ip); opentracker silently keeps 64. */
  blessedNetsMax: 1024,
  /** Configuration files nest through -f only on the command line; a file may be this large. */
  configFileBytesMax: 1 << 20,
  /** Cleaning runs in slices of this many torrents so the event loop is never blocked for long. */
  cleanSliceTorrents: 2048,
  /** Unicast live sync sends each packet to every node: a cluster, not a broadcast fan-out. */
  livesyncPeersMax: 64,
  /** Sync packets waiting for the socket; beyond, new packets are dropped and counted. */
  livesyncSendQueuePackets: 256,
} as const;

/** Peer flag bits, as in opentracker's ot_peer flags byte, plus one of ours. */
export const PEER_FLAG = {
  seeding: 0x80,
  completed: 0x40,
  stopped: 0x20,
  fromSync: 0x10,
  /**
   * Ours, never sent: admitted above a budget's watermark with a shortened first lifetime; the
   * first renewal clears it (and the stored age is corrected by the shortening).
   */
  probation: 0x08,
} as const;

/** Announce events, decoded from HTTP `event=` or the UDP event field. */
export const EVENT = {
  none: 0,
  completed: 1,
  started: 2,
  stopped: 3,
} as const;

/**
 * Every default of the configuration, in one table: upstream opentracker's values where it has
 * them, ours with their reason where it has not. `config/config.ts` builds the default
 * configuration from it; options objects fall back to it.
 */
export const DEFAULTS = {
  port: 6969,
  /** The live sync port opentracker's docs use. */
  livesyncPort: 9696,
  /** The multicast group opentracker's code joins (its docs name two others). */
  livesyncGroup: "224.0.23.5",
  /** A queued sync record waits at most this long for its packet (opentracker: 15 s). */
  livesyncFlushDelaySeconds: 15,
  /** Minutes between automatic state saves: at most this much is lost in a crash. */
  stateFileIntervalMinutes: 5,
  /** The fork's popular interval; 0 keeps upstream behaviour. */
  popularIntervalSeconds: 0,
  /** Peers in the requester's family above which a torrent is popular (the fork's 50). */
  popularThresholdPeers: 50,
  /** Percent of a budget above which admission favours small swarms. */
  budgetWatermarkPercent: 70,
  announceIntervalSeconds: 1800,
  announceVariationSeconds: 360,
  peerTimeoutMinutes: 45,
  torrentTimeoutMinutes: 1440,
  cleanSweepMinutes: 2,
  httpNumwantDefault: 50,
  httpNumwantMax: 200,
  udpPeersV4Max: 200,
  udpPeersV6Max: 66,
  statsPath: "stats",
  /** 4 M peers take about 250 MiB here: room for the runtime and the OS on a 1 GB VPS. */
  peerBudget: 4_000_000,
  /** Far above any real swarm; stops one torrent from taking the whole budget. */
  torrentPeersMax: 500_000,
  /**
   * The torrent budget when none is set: one torrent per four peers of the peer budget (at
   * least 1,000). A torrent costs about 110 bytes, so the default 1,000,000 take about 110 MiB.
   */
  torrentsPerPeerBudget: 1 / 4,
  /** A new peer admitted above a budget's watermark must renew within this many minutes. */
  peerProbationMinutes: 10,
  /** Connection ids are valid this long, as BEP 15 asks. */
  connectionIdLifetimeSeconds: 120,
  /** Extra acceptance window for clients that reuse an id past BEP 15's two minutes. */
  connectionIdToleranceSeconds: 240,
  /**
   * Most open HTTP connections when the descriptor limit does not bound them lower: an idle
   * connection costs about 2 KiB (docs/benchmarks.md), so 32,768 of them hold about 64 MiB.
   */
  tcpConnectionsMax: 32768,
  /** Most connections from one address (IPv6: one /64): room for a carrier-grade NAT. */
  tcpAddressConnectionsMax: 256,
  /** A request head must be complete this long after the connection or its first byte. */
  tcpRequestTimeoutSeconds: 10,
  /** A keep-alive connection may idle this long between requests (opentracker: 30 s). */
  tcpIdleTimeoutSeconds: 30,
  /** A reply or full-scrape chunk the client does not take within this time ends it. */
  tcpWriteTimeoutSeconds: 30,
  /** WebTorrent clients re-announce over their WebSocket this often (bittorrent-tracker's). */
  wsIntervalSeconds: 120,
  /** A silent WebSocket is pinged after half of this and closed after all of it. */
  wsTimeoutSeconds: 120,
  /**
   * Bytes of one WebSocket message: 10 offers of the 1–3 KiB of SDP browsers write fit many
   * times over (aquatic_ws's limit). It bounds what a connection buffers while a message arrives.
   */
  wsMessageBytesMax: 65_536,
  /**
   * Bytes queued for one WebSocket client that does not read: past it the client is closed
   * rather than buffered without bound (some 100 relayed offers).
   */
  wsSendBufferBytesMax: 262_144,
  /** Messages per second one WebSocket connection may send, sustained (a burst may double it). */
  wsMessagesPerSecond: 20,
  wsPeerRelaysPerSecond: 20,
  /**
   * Full scrapes streaming at once. Each holds 4 bytes per torrent, a 32 KiB chunk and a gzip
   * state of about 300 KiB until it ends or its client is cut off by the write deadline.
   */
  fullScrapeConcurrency: 4,
  /** A client may full-scrape once per this many seconds (opentracker's modest full scrapes). */
  fullScrapeIntervalSeconds: 300,
} as const;

/**
 * One announce, as decoded from HTTP or UDP. Preallocated and reused for every request, so the
 * announce path allocates nothing; a parser fills it, the swarm reads it.
 */
export class AnnounceRequest {
  /** Raw 20-byte info_hash. */
  readonly infoHash: Uint8Array = new Uint8Array(20);
  /** The peer's address, 16 bytes, IPv4 v4-mapped. */
  readonly ip: Uint8Array = new Uint8Array(16);
  /** Peer port in host order (0..65535). */
  port = 0;
  /** One of {@link EVENT}. */
  event: number = EVENT.none;
  /** True when the client reported `left=0`. */
  seeding = false;
  /** Peers asked for, already capped by the protocol's limits. */
  numwant = 0;
  /** The client's 20-byte peer_id (counted by client software in /metrics), when it sent one. */
  readonly peerId: Uint8Array = new Uint8Array(20);
  hasPeerId = false;
}

/**
 * Flags an announce stores and tells live sync: SEEDING for `left=0`, COMPLETED only together
 * with it (opentracker accepts a completion only from a peer that reports `left=0`).
 */
export function requestFlags(req: AnnounceRequest): number {
  if (!req.seeding) return 0;
  return req.event === EVENT.completed
    ? PEER_FLAG.seeding | PEER_FLAG.completed
    : PEER_FLAG.seeding;
}
