/**
 * The resolved configuration: one frozen object built from flags and configuration files before
 * any socket is bound or file opened (conventions rule 3). Everything opentracker switches at
 * compile time is a field here.
 *
 * Must not import server/.
 */

import { DEFAULTS } from "../types.ts";
import { HostPort, Net, netContains } from "./address.ts";

/** One socket to bind. `host` is an address literal as Deno expects it (`::`, `127.0.0.1`). */
export interface Listener {
  /** `tls`: HTTPS (and, later, WSS) with the certificate of `listen.tcp.tls_cert`. */
  readonly protocol: "tcp" | "udp" | "tls";
  readonly host: string;
  readonly port: number;
}

/** Permission bits of a blessed net: what its addresses may do (read stats, sync, proxy). */
/** Most workers `tracker.workers` accepts (shard numbers travel in 16 bits; this is plenty). */
export const WORKERS_MAX = 256;

export const MAY = { stat: 0x2, livesync: 0x4, proxy: 0x8, all: 0xffff } as const;

/** A blessed net with its permission bits. */
export interface BlessedNet {
  readonly net: Net;
  readonly may: number;
}

/** Where a setting came from, for error messages: `file:line` or `command line`. */
export type Origin = string;

/** The tracker's whole configuration. */
export interface Config {
  readonly listeners: readonly Listener[];
  /** Stats path without leading slash (`access.stats_path`). */
  readonly statsPath: string;
  /** Target of the 302 for `GET /` (`-r`, `tracker.redirect_url`), or null for 404. */
  readonly redirectUrl: string | null;
  /** Directory relative paths resolve against (`-d`, `tracker.rootdir`), or null for the cwd. */
  readonly rootDir: string | null;
  /** `-u`/`tracker.user`: accepted, not used (the sandbox and the service user replace it). */
  readonly user: string | null;
  /** Access list mode and its file (`-w`/`access.whitelist`, `-b`/`access.blacklist`). */
  readonly accessMode: "open" | "whitelist" | "blacklist";
  readonly accessListFile: string | null;
  /** FIFOs for dynamic access-list changesets (`access.fifo_add`, `access.fifo_delete`). */
  readonly fifoAdd: string | null;
  readonly fifoDelete: string | null;
  /** Blessed nets (`-A`, `access.stats`, `access.proxy`, `livesync.cluster.node_ip`). */
  readonly blessed: readonly BlessedNet[];
  /** /stats only for MAY_STAT nets: true as soon as one is configured (WANT_RESTRICT_STATS). */
  readonly restrictStats: boolean;
  /** Honour `ip=` in announces (WANT_IP_FROM_QUERY_STRING). */
  readonly ipFromQuery: boolean;
  /** `GET /scrape` without query is a full scrape, and `tpbs`/`statedump` exist (WANT_FULLSCRAPE). */
  readonly fullScrape: boolean;
  /** gzip full scrapes for clients that accept it (WANT_COMPRESSION_GZIP). */
  readonly fullScrapeGzip: boolean;
  /** Per-client minimum seconds between full scrapes; 0 = off (WANT_MODEST_FULLSCRAPES: 300). */
  readonly fullScrapeIntervalSeconds: number;
  /** Full scrapes streaming at once; more get 503. */
  readonly fullScrapeConcurrency: number;
  /** Live sync listen address (`livesync.cluster.listen`, `-s`), or null when off. */
  readonly livesyncListen: HostPort | null;
  /** Multicast group of the cluster (`livesync.cluster.group`). */
  readonly livesyncGroup: string;
  /** Most seconds a queued sync record waits before its packet is sent. */
  readonly livesyncFlushDelaySeconds: number;
  /** Unicast transport: the other nodes (`livesync.unicast.peer`); empty = multicast. */
  readonly livesyncPeers: readonly HostPort[];
  /** Unicast transport: the shared HMAC key (`livesync.unicast.key`), or null. */
  readonly livesyncKey: Uint8Array | null;
  /** State file loaded at start (`-l`), or null. */
  readonly stateLoadFile: string | null;
  /** The tracker's own state file with peers (`tracker.statefile`), or null when off. */
  readonly stateFile: string | null;
  /** `listen.tcp.tls_cert` / `listen.tcp.tls_key`: PEM files of the TLS listeners. */
  readonly tlsCertFile: string | null;
  readonly tlsKeyFile: string | null;
  /** Minutes between automatic state saves (`tracker.statefile_interval`). */
  readonly stateFileIntervalMinutes: number;
  /** Most open HTTP connections; 0 = auto (below the descriptor limit, at most the default). */
  readonly tcpConnectionsMax: number;
  /** Most open HTTP connections from one address (IPv6: one /64). */
  readonly tcpAddressConnectionsMax: number;
  /** Seconds a request head may take to arrive (from the connection or its first byte). */
  readonly tcpRequestTimeoutSeconds: number;
  /** Seconds a keep-alive connection may idle between requests. */
  readonly tcpIdleTimeoutSeconds: number;
  /** Seconds a reply (or a chunk of a full scrape) may wait for the client to read it. */
  readonly tcpWriteTimeoutSeconds: number;
  /** `listen.ws`: WebSocket (WebTorrent) upgrades on the HTTP and TLS listeners. */
  readonly webSocket: boolean;
  /** Most open WebSocket connections; 0 = auto (half the HTTP connection cap). */
  readonly wsConnectionsMax: number;
  /** The interval WebSocket announce replies give. */
  readonly wsIntervalSeconds: number;
  /** Seconds of silence after which a WebSocket connection is closed (pinged at half). */
  readonly wsTimeoutSeconds: number;
  /** Messages per second one WebSocket connection may send (bursts of twice as many). */
  readonly wsMessagesPerSecond: number;
  /** Offers and answers relayed to one WebSocket peer per second (bursts twice as many); 0: none. */
  readonly wsPeerRelaysPerSecond: number;
  /** `listen.udp.workers`: accepted for compatibility; Deno serves UDP on the event loop. */
  readonly udpWorkers: number;
  /**
   * `listen.udp.batch`: UDP through recvmmsg/sendmmsg over FFI to the C library; `auto` takes
   * it when FFI is granted on Linux.
   */
  readonly udpBatch: "auto" | "on" | "off";
  /**
   * `listen.tcp.batch`: plain TCP listeners on epoll through FFI to the C library; `auto` takes
   * it when FFI is granted on Linux.
   */
  readonly tcpBatch: "auto" | "on" | "off";
  /** `tracker.workers`: shards of the swarm, each in its own worker; 0 = one per core. */
  readonly workers: number;
  readonly announceIntervalSeconds: number;
  readonly announceVariationSeconds: number;
  /** The fork's longer interval for popular torrents; 0 = off (upstream). */
  readonly popularIntervalSeconds: number;
  /** Peers in the requester's family list above which a torrent is popular. */
  readonly popularThresholdPeers: number;
  readonly peerTimeoutMinutes: number;
  /** Most peers held; new peers beyond are refused (renewals never). */
  readonly peerBudget: number;
  /** Most peers of one torrent. */
  readonly torrentPeersMax: number;
  /** Percent of the budget above which admission favours small swarms. */
  readonly peerBudgetWatermarkPercent: number;
  /**
   * Most torrents held; at the budget the longest-empty torrent makes room. 0 = derived from
   * the peer budget (read it through {@link torrentBudget}).
   */
  readonly torrentBudget: number;
  /** First lifetime (minutes) of a peer admitted above a budget's watermark; 0 = off. */
  readonly peerProbationMinutes: number;
  readonly torrentTimeoutMinutes: number;
  readonly httpNumwantDefault: number;
  readonly httpNumwantMax: number;
  readonly udpPeersV4Max: number;
  readonly udpPeersV6Max: number;
  readonly connectionIdLifetimeSeconds: number;
  readonly connectionIdToleranceSeconds: number;
  /** Where each file-valued setting came from (key → origin), for permission messages. */
  readonly origins: Readonly<Record<string, Origin>>;
}

/** Configuration with upstream defaults and the given listeners. */
export function defaultConfig(listeners: readonly Listener[] = []): Config {
  return Object.freeze({
    listeners: Object.freeze([...listeners]),
    statsPath: DEFAULTS.statsPath,
    redirectUrl: null,
    rootDir: null,
    user: null,
    accessMode: "open",
    accessListFile: null,
    fifoAdd: null,
    fifoDelete: null,
    blessed: [],
    restrictStats: false,
    ipFromQuery: false,
    fullScrape: true,
    fullScrapeGzip: true,
    fullScrapeIntervalSeconds: DEFAULTS.fullScrapeIntervalSeconds,
    fullScrapeConcurrency: DEFAULTS.fullScrapeConcurrency,
    livesyncListen: null,
    livesyncGroup: DEFAULTS.livesyncGroup,
    livesyncFlushDelaySeconds: DEFAULTS.livesyncFlushDelaySeconds,
    livesyncPeers: [],
    livesyncKey: null,
    stateLoadFile: null,
    stateFile: null,
    tlsCertFile: null,
    tlsKeyFile: null,
    stateFileIntervalMinutes: DEFAULTS.stateFileIntervalMinutes,
    tcpConnectionsMax: 0,
    tcpAddressConnectionsMax: DEFAULTS.tcpAddressConnectionsMax,
    tcpRequestTimeoutSeconds: DEFAULTS.tcpRequestTimeoutSeconds,
    tcpIdleTimeoutSeconds: DEFAULTS.tcpIdleTimeoutSeconds,
    tcpWriteTimeoutSeconds: DEFAULTS.tcpWriteTimeoutSeconds,
    webSocket: true,
    wsConnectionsMax: 0,
    wsIntervalSeconds: DEFAULTS.wsIntervalSeconds,
    wsTimeoutSeconds: DEFAULTS.wsTimeoutSeconds,
    wsMessagesPerSecond: DEFAULTS.wsMessagesPerSecond,
    wsPeerRelaysPerSecond: DEFAULTS.wsPeerRelaysPerSecond,
    udpWorkers: 0,
    udpBatch: "auto",
    tcpBatch: "auto",
    workers: 0,
    announceIntervalSeconds: DEFAULTS.announceIntervalSeconds,
    announceVariationSeconds: DEFAULTS.announceVariationSeconds,
    popularIntervalSeconds: DEFAULTS.popularIntervalSeconds,
    popularThresholdPeers: DEFAULTS.popularThresholdPeers,
    peerTimeoutMinutes: DEFAULTS.peerTimeoutMinutes,
    peerBudget: DEFAULTS.peerBudget,
    torrentPeersMax: DEFAULTS.torrentPeersMax,
    peerBudgetWatermarkPercent: DEFAULTS.budgetWatermarkPercent,
    torrentBudget: 0,
    peerProbationMinutes: DEFAULTS.peerProbationMinutes,
    torrentTimeoutMinutes: DEFAULTS.torrentTimeoutMinutes,
    httpNumwantDefault: DEFAULTS.httpNumwantDefault,
    httpNumwantMax: DEFAULTS.httpNumwantMax,
    udpPeersV4Max: DEFAULTS.udpPeersV4Max,
    udpPeersV6Max: DEFAULTS.udpPeersV6Max,
    connectionIdLifetimeSeconds: DEFAULTS.connectionIdLifetimeSeconds,
    connectionIdToleranceSeconds: DEFAULTS.connectionIdToleranceSeconds,
    origins: {},
  });
}

/** The torrent budget of `config`: the configured one, or derived from the peer budget. */
export function torrentBudget(config: Pick<Config, "torrentBudget" | "peerBudget">): number {
  if (config.torrentBudget > 0) return config.torrentBudget;
  return Math.max(1000, Math.floor(config.peerBudget * DEFAULTS.torrentsPerPeerBudget));
}

/** True when `ip` (16 bytes) is in a blessed net with any of the bits `may`. */
export function isBlessed(config: Config, ip: Uint8Array, may: number): boolean {
  for (const b of config.blessed) {
    if ((b.may & may) !== 0 && netContains(b.net, ip)) return true;
  }
  return false;
}
