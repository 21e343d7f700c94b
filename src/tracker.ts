/**
 * Composition root: builds the swarm, the tracker logic and the frontends from one Config,
 * restores the saved state, binds the sockets and starts the timers; stops them in order. The
 * only module that wires layers together: everything else receives what it needs. Features that
 * are switched off are simply not wired.
 */

import { readTlsPair, TlsPair } from "./config/tls_files.ts";
import { giveBackHere, GiveBackPolicy } from "./server/memory_giveback.ts";
import { SAMPLE_INTERVAL_SECONDS, SampleRing } from "./stats/samples.ts";
import { ClientCounts } from "./stats/clients.ts";
import { Config, isBlessed, MAY, torrentBudget } from "./config/config.ts";
import { describeLoad, implausible, readAccessList } from "./config/access_list.ts";
import { readStatedumpText, readStateFileBytes } from "./config/state_file.ts";
import { ConnectionIds } from "./protocol/connection_id.ts";
import { HttpRequestParser } from "./protocol/http_request.ts";
import { parseStatedump } from "./protocol/statedump.ts";
import { AccessControl, hashSetOf } from "./logic/access.ts";
import { Cleaner } from "./logic/cleaner.ts";
import { BucketIndex, FullScrapes, packBucket } from "./logic/full_scrape.ts";
import { Admission, FullScrapeAdmission } from "./logic/full_scrape_admission.ts";
import {
  DumpLoad,
  importState,
  Restored,
  restoreLines,
  restoreStatedump,
  stateDamage,
  StateLoad,
} from "./logic/restore.ts";
import { stateBlockChunks, StateExportTotals, stateFileChunks } from "./logic/state_export.ts";
import { StatsScanner } from "./logic/stats_scan.ts";
import { TrackerLogic } from "./logic/tracker_logic.ts";
import { Counters } from "./stats/counters.ts";
import { Woodpeckers } from "./stats/woodpeckers.ts";
import { HashSet20 } from "./swarm/hash_set.ts";
import { Swarm } from "./swarm/swarm.ts";
import { AccessChange, closeFifos, feedFifos } from "./server/access_feeds.ts";
import { ClientAddress } from "./server/client_address.ts";
import {
  CLOSING_SLACK,
  connectionCap,
  ConnectionTable,
  LocalAddressCounts,
} from "./server/connections.ts";
import { SharedCounts } from "./util/shared_counts.ts";
import { HttpRoutes } from "./server/http_routes.ts";
import { HttpServer } from "./server/http_server.ts";
import { wsConnectionLimits, WsHub } from "./server/ws_hub.ts";
import { WS_SWARM_LIMITS, WsLink, WsSwarm } from "./logic/ws_swarm.ts";
import { LagMeter } from "./server/lag_meter.ts";
import { descriptorLimit, libcUnavailableReason } from "./server/libc.ts";
import { LivesyncReceiver } from "./server/livesync_handler.ts";
import { LivesyncNode, startLivesync } from "./server/livesync_socket.ts";
import { setAside, StateSaver } from "./server/state_saver.ts";
import { BatchedUdpListener, serveUdpBatched } from "./server/udp_batch.ts";
import { serveShardLink, ShardLink, ShardWiring } from "./server/shard_link.ts";
import { setEpollCompanion } from "./server/epoll_loop.ts";
import { sumFigures } from "./stats/cluster_figures.ts";
import { mergeScanParts, ScanPart } from "./stats/snapshot.ts";
import { renderWoodpeckers } from "./stats/woodpeckers.ts";
import { MetricsSource } from "./stats/metrics.ts";
import { UdpHandler } from "./server/udp_handler.ts";
import { serveUdp, UdpListener } from "./server/udp_server.ts";
import { AnnounceRequest, DEFAULTS, LIMITS } from "./types.ts";
import { readSyncRecord, requestIdOf, SHARD_MESSAGE } from "./protocol/shard_message.ts";
import { ipFromString } from "./util/ip.ts";
import { randomPrng } from "./util/random.ts";

/** A bound socket, for the "listening on" lines. */
export interface BoundAddress {
  readonly protocol: "tcp" | "udp" | "tls";
  readonly host: string;
  readonly port: number;
}

/** A running tracker. */
export interface RunningTracker {
  readonly addresses: readonly BoundAddress[];
  /** Settles when live sync has joined its group (at once without live sync); rejects if not. */
  readonly ready: Promise<void>;
  /** Writes the state file now (logs that there is none without `tracker.statefile`). */
  saveState(): Promise<void>;
  /** Reloads the access list (SIGHUP); logs what it did, or that there is nothing to reload. */
  reload(): void;
  /** Stops every listener and timer, then writes the state file; resolves when done. */
  stop(): Promise<void>;
}

/** A tracker of one process or one worker. */
export interface RunningShard extends RunningTracker {
  /** What it restored at start (with several workers, reported once by the main isolate). */
  readonly restored: Restored;
  /** Its own figures, for /metrics and for gathering across workers. */
  figures(): MetricsSource;
  /** Its torrents as state file blocks (logic/state_export.ts), for the one file of all workers. */
  stateBlocks(totals: StateExportTotals): AsyncGenerator<Uint8Array>;
  /** Its scan for the expensive stats modes, every network kept (merged across workers). */
  scanPart(): Promise<ScanPart>;
  /** Its woodpecker counts per network. */
  woodpeckerEntries(): [number, number][];
  /** Bucket `bucket` of the full scrape `id` over several workers (its index built once). */
  packBucket(id: number, bucket: number): Promise<Uint8Array>;
  /** Frees the index of the full scrape `id`; returns the bytes freed. */
  endExport(id: number): number;
  /** Adds the whole tracker's newest status page sample (taken by the main isolate). */
  pushSample(sample: number[]): void;
  /** Applies an access-list FIFO line (read by the main isolate when there are several workers). */
  accessChange(change: AccessChange, hash: Uint8Array): void;
}

/** What workers gather from each other for /stats and /metrics. */
export interface Gathered {
  figures: MetricsSource;
  scan: ScanPart;
  woodpeckers: [number, number][];
  /** A full scrape's bucket, packed (logic/full_scrape.ts); `arg` names the export and bucket. */
  bucket: Uint8Array;
  /** A full scrape ended: its indexes are freed (`arg` names it). */
  bucketsEnd: number;
}
export type GatherKind = keyof Gathered;
/** What a full scrape's gathering names: its export id (unique in the process) and bucket. */
export type GatherArg = { id: number; bucket?: number } | null;

/** A worker's place among several (`tracker.workers`), given by the main isolate. */
export interface ShardPlace {
  readonly wiring: ShardWiring;
  /** The same in every worker: a connection id issued by one verifies in all. */
  readonly connectionKey: Uint8Array;
  readonly trackerId: number;
  readonly startedAt: number;
  /** Asks the main isolate's full scrape admission (one for all workers). */
  readonly admitFullScrape: (client: string, modest: boolean, now: number) => Promise<Admission>;
  /** Releases an admitted full scrape. */
  readonly releaseFullScrape: () => void;
  /** Every worker's share of `what` (this one's included), asked through the main isolate. */
  readonly gather: <K extends GatherKind>(what: K, arg?: GatherArg) => Promise<Gathered[K][]>;
}

/** Options for {@link startTracker}. */
export interface StartOptions {
  /** Where diagnostics go. Default: stderr. */
  log?: (line: string) => void;
  /** Seconds since the epoch. Default: the system clock. */
  clock?: () => number;
  /** Set in a worker when the tracker runs several (src/worker.ts). */
  shard?: ShardPlace;
}

/** The start cannot go on; `exitCode` is what opentracker would exit with. */
export class StartError extends Error {
  override name = "StartError";
  constructor(message: string, readonly exitCode: number) {
    super(message);
  }
}

/**
 * The start error of a listener that could not be bound, naming it. An address in use exits 1:
 * opentracker's SO_REUSEPORT lets a second instance share the port and silently split the swarm,
 * and we refuse to start next to another tracker instead. Any other failure exits 111, as
 * opentracker's does.
 */
export function bindError(l: Config["listeners"][number], error: unknown): StartError {
  const where = `${l.protocol} ${formatHostPort(l.host, l.port)}`;
  if (error instanceof Deno.errors.AddrInUse) {
    return new StartError(
      `Refusing to start: ${where} is already in use; another tracker instance probably serves it`,
      1,
    );
  }
  return new StartError(
    `Cannot bind ${where}: ${error instanceof Error ? error.message : String(error)}`,
    111,
  );
}

/** Full scrape indexes a worker keeps for other workers' full scrapes at once. */
const EXPORTS_MAX = 64;

/** Period of the incremental cleaner's ticks. */
const CLEAN_TICK_MS = 250;

/** Formats `host:port` with brackets for IPv6. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Unicast live sync trusts its configured nodes and the livesync.cluster.node_ip nets. */
function trustedUnicast(config: Config): (ip: Uint8Array) => boolean {
  const nodes = config.livesyncPeers.map((p) => ipFromString(p.host)!);
  return (ip) =>
    isBlessed(config, ip, MAY.livesync) ||
    nodes.some((n) => n.every((b, i) => b === ip[i]));
}

/**
 * The access control of `config`, its list loaded: before any socket is bound, so a closed
 * tracker never answers with an empty list. Throws a {@link StartError} when it cannot be read.
 */
function accessControl(
  config: Config,
  { seed, log }: { seed: Uint32Array; log: (l: string) => void },
): AccessControl {
  const path = config.accessListFile;
  if (config.accessMode === "open" || path === null) {
    return new AccessControl("open", new HashSet20(seed), seed);
  }
  let parsed;
  try {
    parsed = readAccessList(path);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new StartError(`Can't open accesslist file: ${path}: ${why}`, 1);
  }
  const wrong = implausible(parsed);
  if (wrong !== null) throw new StartError(`Refusing the accesslist file ${path}: ${wrong}`, 1);
  const set = hashSetOf(parsed.hashes, seed);
  log(describeLoad(path, parsed, set.size));
  return new AccessControl(config.accessMode, set, seed);
}

/** Restores the state file and the `-l` statedump into `swarm`; says what it restored. */
function restore(
  config: Config,
  { swarm, access, owned }: {
    swarm: Swarm;
    access: AccessControl;
    /** With several workers: this worker's torrents (the others are left to their owners). */
    owned: ((h: Uint8Array, o: number) => boolean) | null;
  },
): Restored {
  const allowed = (h: Uint8Array, o: number) => access.allowed(h, o);
  let state: StateLoad | null = null;
  const path = config.stateFile;
  if (path !== null) {
    const file = readStateFileBytes(path);
    state = file.kind === "missing"
      ? { kind: "missing", path }
      : file.kind === "error"
      ? { kind: "error", path, message: file.message }
      : {
        kind: "loaded",
        path,
        bytes: file.data.length,
        result: importState(file.data, swarm, allowed, owned),
      };
  }
  let dump: DumpLoad | null = null;
  const dumpPath = config.stateLoadFile;
  if (dumpPath !== null) {
    const text = readStatedumpText(dumpPath);
    dump = text.kind !== "read"
      ? {
        kind: "unread",
        path: dumpPath,
        why: text.kind === "missing" ? "No such file" : text.message,
      }
      : {
        kind: "read",
        path: dumpPath,
        report: restoreStatedump(parseStatedump(text.data), swarm, allowed, owned),
      };
  }
  return { state, dump };
}

/** Logs what a start restored, and moves a damaged state file aside (it was read whole). */
export function reportRestored(
  r: Restored,
  path: string | null,
  nowSeconds: number,
  log: (line: string) => void,
): void {
  for (const line of restoreLines(r, nowSeconds)) log(line);
  const damage = stateDamage(r);
  if (damage !== null && path !== null) log(setAside(path, damage, nowSeconds));
}

/**
 * Builds the tracker of `config`, restores its state and binds every listener. Throws a
 * {@link StartError} (access list), `Deno.errors.AddrInUse` or another bind error.
 */
export function startTracker(config: Config, options: StartOptions = {}): RunningShard {
  const log = options.log ?? ((line: string) => console.error(line));
  const clock = options.clock ?? (() => Math.floor(Date.now() / 1000));
  const place = options.shard ?? null;
  const link = place === null ? null : new ShardLink(place.wiring);
  // Budgets are split evenly (the keyed shard map spreads the torrents evenly over the workers),
  // the remainder to the first workers, so that the shares add up to the configured figure.
  const share = (total: number) =>
    link === null
      ? total
      : Math.floor(total / link.count) + (link.index < total % link.count ? 1 : 0);
  const hashSeed = crypto.getRandomValues(new Uint32Array(4));
  // Every worker reads the same files: worker 0 alone says what they held (a failure is said by
  // every worker that met it).
  const say = link === null || link.index === 0 ? log : () => {};
  const access = accessControl(config, { seed: hashSeed, log: say });
  const counters = new Counters();
  const startedAt = place?.startedAt ?? clock();
  const trackerId = place?.trackerId ?? crypto.getRandomValues(new Uint32Array(1))[0];
  const woodpeckers = new Woodpeckers();
  const swarm = new Swarm({
    prng: randomPrng(),
    hashSeed,
    peerTimeoutMinutes: config.peerTimeoutMinutes,
    torrentTimeoutMinutes: config.torrentTimeoutMinutes,
    peerBudget: share(config.peerBudget),
    torrentPeersMax: config.torrentPeersMax,
    budgetWatermark: config.peerBudgetWatermarkPercent / 100,
    torrentBudget: share(torrentBudget(config)),
    probationMinutes: config.peerProbationMinutes,
  });
  const restored = restore(config, {
    swarm,
    access,
    owned: link === null ? null : (h, o) => link.map.of(h, o) === link.index,
  });
  // With several workers the main isolate reports what all of them restored, once.
  if (link === null) reportRestored(restored, config.stateFile, clock(), log);

  // Live sync's outbox exists once its sockets are bound; the logic's sink forwards to it.
  let livesync: LivesyncNode | null = null;
  const clients = new ClientCounts();
  const wsSwarm = new WsSwarm<WsLink>({
    ...WS_SWARM_LIMITS,
    peerRelaysPerSecond: config.wsPeerRelaysPerSecond,
  });
  const logic = new TrackerLogic({
    swarm,
    access,
    counters,
    clients,
    woodpeckers,
    // With several workers the live sync socket is worker 0's: the others hand it their records.
    sync: config.livesyncListen === null
      ? null
      : link === null || link.index === 0
      ? { add: (h, ip, port, flags) => livesync?.outbox.add(h, ip, port, flags, performance.now()) }
      : {
        add: (h, ip, port, flags) => {
          link.sendSync(0, SHARD_MESSAGE.syncOut, h, ip, port, flags);
          link.flush();
        },
      },
    prng: randomPrng(),
    interval: {
      baseSeconds: config.announceIntervalSeconds,
      variationSeconds: config.announceVariationSeconds,
      popularBaseSeconds: config.popularIntervalSeconds,
      popularThresholdPeers: config.popularThresholdPeers,
      probationSeconds: config.peerProbationMinutes * 60,
    },
    ws: wsSwarm,
  });
  const lag = new LagMeter();
  const scanner = new StatsScanner(swarm, { clock });
  // With several workers a full scrape merges every worker's buckets, in hash order.
  let nextExport = 1;
  const merged = place === null ? null : () => {
    const id = (link!.index << 24) + (nextExport++ & 0xffffff);
    return {
      pull: (bucket: number) => place.gather("bucket", { id, bucket }),
      // When this fails (the tracker stops) nothing is lost: a worker holds a bounded number of
      // bucket indexes and drops the oldest one nobody ended first.
      end: () => void place.gather("bucketsEnd", { id }).catch(() => {}),
    };
  };
  const admission = new FullScrapeAdmission(
    config.fullScrapeConcurrency,
    config.fullScrapeIntervalSeconds,
  );
  const fullScrapes = new FullScrapes(swarm, {
    concurrentMax: config.fullScrapeConcurrency,
    onChunk: (bytes) => {
      counters.fullScrapeBytes += bytes;
    },
  });
  const ownStats = () => ({
    trackerId,
    counters,
    torrents: swarm.torrentCount,
    peers: swarm.peerCount,
    seeds: swarm.seedCount,
    uptimeSeconds: clock() - startedAt,
    peerTimeoutMinutes: config.peerTimeoutMinutes,
    peerBudget: swarm.peerBudget,
    refusedPeers: swarm.refusedPeers,
  });

  // Live sync binds first: local announces queue into its outbox from the first request. The
  // id is sent in host byte order, as opentracker sends the raw bytes of its g_tracker_id.
  const trackerIdBytes = new Uint8Array(Uint32Array.of(trackerId).buffer);
  if (config.livesyncListen !== null && (link === null || link.index === 0)) {
    livesync = startLivesync({
      host: config.livesyncListen.host,
      port: config.livesyncListen.port,
      group: config.livesyncGroup,
      peers: config.livesyncPeers,
      key: config.livesyncKey,
      flushDelaySeconds: config.livesyncFlushDelaySeconds,
      trackerId: trackerIdBytes,
      receiver: new LivesyncReceiver({
        logic,
        counters,
        trackerId: trackerIdBytes,
        trusted: config.livesyncPeers.length === 0
          ? (ip) => isBlessed(config, ip, MAY.livesync)
          : trustedUnicast(config),
        key: config.livesyncKey,
        // Each received record goes to the worker that owns its torrent.
        route: link === null ? undefined : {
          apply: (req, flags, now) => {
            const owner = link.map.of(req.infoHash, 0);
            if (owner === 0) return logic.applySync(req, flags, now);
            link.sendSync(owner, SHARD_MESSAGE.syncRecord, req.infoHash, req.ip, req.port, flags);
          },
          done: () => link.flush(),
        },
      }),
      counters,
      clock,
      log,
    });
  }

  const fdLimit = descriptorLimit();
  // The descriptor limit is the process's: the workers share the capped figure.
  const cap = connectionCap(config.tcpConnectionsMax, fdLimit, link?.count ?? 1);
  if (cap.lowered && (link === null || link.index === 0)) {
    log(
      `listen.tcp.connections_max ${config.tcpConnectionsMax} lowered to ${cap.connectionsMax}: ` +
        `the process may open ${fdLimit} descriptors`,
    );
  }
  const samples = new SampleRing();
  const ownFigures = (): MetricsSource => {
    const mem = Deno.memoryUsage();
    return {
      ...ownStats(),
      rssBytes: mem.rss,
      heapUsedBytes: mem.heapUsed,
      peerStoreBytes: swarm.peerStoreBytes,
      eventLoopLagSeconds: lag.lagSeconds,
      statsScans: scanner.scans,
      connections: connections.figures(),
      fullScrapesActive: fullScrapes.active,
      fullScrapeIndexBytes: fullScrapes.indexBytes + exportBytes,
      torrentBudget: swarm.torrentBudget,
      refusedTorrents: swarm.refusedTorrents,
      evictedTorrents: swarm.evictedTorrents,
      emptyTorrents: swarm.emptyTorrents,
      probationPeers: swarm.probationPeers,
      workers: 1,
      handoffSent: link?.sent ?? 0,
      handoffReceived: link?.received ?? 0,
      handoffDropped: link?.dropped ?? 0,
      handoffExpired: link?.expired ?? 0,
      handoffWakeups: link?.wakeups ?? 0,
      handoffConnections: link?.connectionsReceived ?? 0,
      clients: clients.entries(),
      clientsOverflow: clients.overflow,
      wsConnections: ws?.open ?? 0,
      wsQueuedBytes: ws?.queuedBytes ?? 0,
      wsTorrents: wsSwarm.torrents,
      wsPeers: wsSwarm.peers,
      wsSeeders: wsSwarm.seeders,
    };
  };
  // With several workers, /stats and /metrics show the sums of the last gathering, which every
  // request for them refreshes first.
  let gathered: MetricsSource | null = null;
  const metricsSource = () => gathered ?? ownFigures();
  const statsSource = () => gathered ?? ownStats();
  const refresh = place === null ? null : async () => {
    gathered = sumFigures(await place.gather("figures"));
  };
  const connections = new ConnectionTable({
    connectionsMax: share(cap.connectionsMax),
    perAddressMax: config.tcpAddressConnectionsMax,
    requestTimeoutMs: config.tcpRequestTimeoutSeconds * 1000,
    idleTimeoutMs: config.tcpIdleTimeoutSeconds * 1000,
    writeTimeoutMs: config.tcpWriteTimeoutSeconds * 1000,
    websocketTimeoutMs: config.wsTimeoutSeconds * 1000,
    closingSlack: Math.max(1, share(CLOSING_SLACK)),
  }, place === null ? new LocalAddressCounts() : new SharedCounts(place.wiring.addressCounts));
  const routes = new HttpRoutes({
    logic,
    counters,
    redirectUrl: config.redirectUrl,
    clientAddress: new ClientAddress((ip) => isBlessed(config, ip, MAY.proxy)),
    parser: new HttpRequestParser({
      statsPath: config.statsPath,
      fullScrape: config.fullScrape,
      ipFromQuery: config.ipFromQuery,
      numwantDefault: config.httpNumwantDefault,
      numwantMax: Math.min(config.httpNumwantMax, LIMITS.numwantCeiling),
    }),
    admin: {
      statsAllowed: config.restrictStats ? (ip) => isBlessed(config, ip, MAY.stat) : () => true,
      statsSource,
      metricsSource,
      samples,
      scanner,
      woodpeckers,
      fullScrape: config.fullScrape
        ? {
          gzip: config.fullScrapeGzip,
          // With several workers the main isolate holds the one admission table.
          admit: place?.admitFullScrape ?? ((c, m, n) => admission.admit(c, m, n)),
          release: place?.releaseFullScrape ?? (() => admission.release()),
          open: (format, gzip, ended) => fullScrapes.open(format, gzip, ended, merged),
        }
        : null,
      log,
      refresh,
      scanAll: place === null ? null : async () => mergeScanParts(await place.gather("scan")),
      woodpeckersAll: place === null
        ? null
        : async () => renderWoodpeckers(await place.gather("woodpeckers")),
    },
    shards: link,
  });
  const ws = config.webSocket
    ? new WsHub({
      logic,
      counters,
      table: connections,
      worker: link?.index ?? 0,
      connectionsMax: share(config.wsConnectionsMax || Math.floor(cap.connectionsMax / 2)),
      limits: wsConnectionLimits(config.wsMessagesPerSecond),
      intervalSeconds: config.wsIntervalSeconds,
      timeoutMs: config.wsTimeoutSeconds * 1000,
      shards: link,
      log,
      fullScrape: config.fullScrape,
      fullScrapeIntervalSeconds: config.fullScrapeIntervalSeconds,
    })
    : null;
  // Plain TCP on epoll (fd_tcp.ts) needs FFI to the C library, as the batched UDP path does.
  const tcpWhy = config.tcpBatch === "off" ? null : libcUnavailableReason();
  if (config.tcpBatch === "on" && tcpWhy !== null) {
    throw new StartError(`listen.tcp.batch on: ${tcpWhy}`, 1);
  }
  const epoll = config.tcpBatch !== "off" && tcpWhy === null;
  const http = new HttpServer({ routes, counters, connections, clock, log, ws, epoll });
  const udpHandler = new UdpHandler({
    logic,
    counters,
    connectionIds: new ConnectionIds(
      place?.connectionKey ?? crypto.getRandomValues(new Uint8Array(16)),
      {
        lifetimeSeconds: config.connectionIdLifetimeSeconds,
        toleranceSeconds: config.connectionIdToleranceSeconds,
      },
    ),
    peersV4Max: config.udpPeersV4Max,
    peersV6Max: config.udpPeersV6Max,
    shards: link,
  });

  // The batched UDP path needs FFI to the C library; auto falls back and says what it costs.
  const portableWhy = config.udpBatch === "auto" ? libcUnavailableReason() : null;
  const batched = config.udpBatch === "on" || (config.udpBatch === "auto" && portableWhy === null);
  if (portableWhy !== null && config.listeners.some((l) => l.protocol === "udp")) {
    // tracker.workers auto wanted one worker per core: without the batched path it gets one.
    const oneWorker = config.workers === 0 && navigator.hardwareConcurrency > 1
      ? ", and one worker instead of one per core"
      : "";
    log(
      "UDP on the portable path, about half the datagrams per second of the batched one" +
        `${oneWorker} (listen.udp.batch auto: ${portableWhy})`,
    );
  }
  if (link !== null && !batched) {
    throw new StartError(`tracker.workers needs the batched UDP path: ${portableWhy}`, 1);
  }
  let shardLoop: ReturnType<typeof serveShardLink> | null = null;
  const udpListeners: UdpListener[] = [];
  const batchedListeners: BatchedUdpListener[] = [];
  const addresses: BoundAddress[] = [];
  const closeSockets = async () => {
    for (const l of udpListeners) l.close();
    setEpollCompanion(null);
    shardLoop?.close();
    ws?.close();
    await Promise.all([
      http.close(),
      ...udpListeners.map((l) => l.done),
      livesync?.close(),
      shardLoop?.done,
    ]);
  };
  // The TLS listeners' certificate, read before anything is bound.
  let tls: TlsPair | null = null;
  if (config.listeners.some((l) => l.protocol === "tls")) {
    try {
      tls = readTlsPair(config.tlsCertFile!, config.tlsKeyFile!);
    } catch (error) {
      lag.close();
      throw new StartError(error instanceof Error ? error.message : String(error), 1);
    }
  }
  let binding: Config["listeners"][number] | null = null;
  const bindAll = () => {
    for (const l of config.listeners) {
      binding = l;
      if (l.protocol === "tls" && link === null && l.port !== 0) {
        // A TLS listener shares its port (for certificate reloads): first make sure that no
        // other process holds it (with several workers the main isolate checked).
        Deno.listen({ hostname: l.host, port: l.port, transport: "tcp" }).close();
      }
      if (l.protocol === "tcp" || l.protocol === "tls") {
        const { addr } = http.listen(
          l.host,
          l.port,
          link !== null,
          l.protocol === "tls" ? tls : null,
        );
        addresses.push({ protocol: l.protocol, host: addr.hostname, port: addr.port });
        continue;
      }
      const o = {
        ...l,
        handler: udpHandler,
        clock,
        log,
        onDroppedReplies: (n: number) => counters.udpReplyDrops += n,
      };
      let u: UdpListener;
      if (batched) {
        const b = serveUdpBatched({
          ...o,
          shards: link === null ? null : { link, listener: batchedListeners.length },
        });
        batchedListeners.push(b);
        u = b;
      } else u = serveUdp(o);
      udpListeners.push(u);
      addresses.push({ protocol: "udp", host: u.addr.hostname, port: u.addr.port });
    }
  };
  try {
    if (link === null) bindAll();
    else link.bindInTurn(bindAll);
  } catch (error) {
    lag.close();
    void closeSockets();
    throw binding === null || error instanceof StartError ? error : bindError(binding, error);
  }

  if (link !== null) {
    const syncReq = new AnnounceRequest();
    link.attach({
      forwardedUdp: (data, at, len) =>
        batchedListeners[data[at + 1]]?.answerForwarded(data, at, len),
      scrapeQuery: (data, at) =>
        link.answerScrape(data, at, (h, o, counts) => logic.scrape(h, o, clock(), counts)),
      httpAnnounce: (data, at) => routes.answerForwarded(data, at, clock()),
      httpAnnounceConn: (data, at) =>
        http.replyHandedOver(requestIdOf(data, at) | 0, routes.answerHandedOver(data, at, clock())),
      syncRecord: (data, at) => {
        const flags = readSyncRecord(data, at, syncReq);
        logic.applySync(syncReq, flags, clock());
      },
      syncOut: (data, at) => {
        const flags = readSyncRecord(data, at, syncReq);
        livesync?.outbox.add(syncReq.infoHash, syncReq.ip, syncReq.port, flags, performance.now());
      },
      wsMessage: (from, id, text) => ws?.received(from, id, text),
      wsDeliver: (id, text) => ws?.delivered(id, text),
      wsClosed: (from, id) => ws?.remoteClosed(from, id),
      drained: () => {
        for (const b of batchedListeners) b.flushQueued();
      },
    });
    // The isolate's epoll loop (UDP, and TCP unless tcp.batch is off) waits on the link's
    // eventfd too and answers the other workers' records after each batch it handles.
    shardLoop = serveShardLink(link);
    setEpollCompanion(link);
  }

  const cleaner = new Cleaner(swarm, woodpeckers, {
    sweepMinutes: DEFAULTS.cleanSweepMinutes,
    tickMs: CLEAN_TICK_MS,
  });
  // The status page's samples: a single tracker takes its own; with several workers the main
  // isolate takes the whole tracker's and hands every worker a copy (pushSample).
  const sampling = place === null
    ? setInterval(
      () => samples.add(ownFigures(), Date.now() / 1000),
      SAMPLE_INTERVAL_SECONDS * 1000,
    )
    : null;
  // Memory the swarm freed goes back to the system once a burst is over; so does what WebSocket
  // clients had queued (a relay flood to clients that do not read leaves tens of MiB behind).
  const giveBack = giveBackHere();
  const givePolicy = new GiveBackPolicy();
  const cleaning = setInterval(() => {
    const held = swarm.peerStoreBytes + (ws?.queuedBytes ?? 0);
    if (giveBack !== null && givePolicy.due(performance.now(), held)) {
      giveBack();
      counters.memoryGiveBacks++;
    }
    try {
      cleaner.tick(clock());
    } catch (error) {
      log(`Cleaner failed: ${error instanceof Error ? error.stack : String(error)}`);
    }
  }, CLEAN_TICK_MS);

  // Closed mode: reload() (SIGHUP) reads the list again, keeping the old one when the new cannot
  // be read or is garbage, and empties the FIFO changesets; the FIFOs feed changesets while the
  // tracker runs, one log line per changeset line, as opentracker prints them.
  const listFile = access.mode !== "open" ? config.accessListFile : null;
  // With several workers the main isolate reads the FIFOs and hands every change to every worker.
  const applyChange = (change: AccessChange, h: Uint8Array) =>
    change === "add" ? access.fifoAdd(h) : access.fifoDelete(h);
  const fifoReaders = listFile === null || place !== null
    ? []
    : feedFifos(config, applyChange, log);
  // Certificates renew every 60-90 days: SIGHUP serves the TLS listeners with the files' pair.
  const reloadCertificate = () => {
    let pair: TlsPair;
    try {
      pair = readTlsPair(config.tlsCertFile!, config.tlsKeyFile!);
      const n = http.replaceCertificate(pair);
      say(
        `SIGHUP: TLS certificate reloaded from ${config.tlsCertFile} ` +
          `(${n} ${n === 1 ? "listener" : "listeners"})`,
      );
    } catch (error) {
      log(
        `SIGHUP: keeping the previous TLS certificate: ${
          error instanceof Error ? error.message : String(error)
        }`,
      );
    }
  };
  const reload = () => {
    if (tls !== null) reloadCertificate();
    if (listFile === null) {
      if (tls === null) say("SIGHUP: nothing to reload (no access list is configured)");
      return;
    }
    const keep = (why: string) =>
      log(`SIGHUP: keeping the previous list of ${access.listSize} hashes: ${listFile}: ${why}`);
    let parsed;
    try {
      parsed = readAccessList(listFile);
    } catch (error) {
      return keep(error instanceof Error ? error.message : String(error));
    }
    const wrong = implausible(parsed);
    if (wrong !== null) return keep(wrong);
    const set = hashSetOf(parsed.hashes, hashSeed);
    access.replaceList(set);
    say(`SIGHUP: ${describeLoad(listFile, parsed, set.size)}`);
  };

  const totals = { torrents: 0, peers: 0, records: 0 };
  // With several workers the main isolate writes the one file from every worker's blocks.
  const saver = config.stateFile === null || place !== null ? null : new StateSaver({
    path: config.stateFile,
    chunks: () => {
      totals.torrents = totals.peers = totals.records = 0;
      return stateFileChunks(swarm, config.peerTimeoutMinutes, clock(), totals);
    },
    describe: () => `${totals.torrents} torrents and ${totals.peers} peers`,
    intervalMinutes: config.stateFileIntervalMinutes,
    log,
  });

  // Full scrapes over several workers: this worker's bucket index of each one running.
  const exports = new Map<number, { index: BucketIndex; bytes: number; built: Promise<void> }>();
  let exportBytes = 0;
  const endExport = (id: number) => {
    const e = exports.get(id);
    if (e === undefined) return 0;
    exports.delete(id);
    e.index.free();
    exportBytes -= e.bytes;
    return e.bytes;
  };

  // The first sample once every figure exists.
  if (place === null) samples.add(ownFigures(), Date.now() / 1000);
  let stopped: Promise<void> | null = null;
  return {
    addresses,
    ready: livesync?.ready ?? Promise.resolve(),
    saveState: () => {
      if (saver !== null) return saver.save();
      log("No state file to write: tracker.statefile is not set");
      return Promise.resolve();
    },
    reload,
    restored,
    figures: ownFigures,
    stateBlocks: (t) => stateBlockChunks(swarm, t),
    accessChange: applyChange,
    scanPart: () => scanner.part(),
    packBucket: async (id, bucket) => {
      let e = exports.get(id);
      if (e === undefined) {
        // Bounded: a full scrape's index the serving worker never ended goes first.
        if (exports.size >= EXPORTS_MAX) endExport(exports.keys().next().value!);
        const index = new BucketIndex(swarm);
        const made = { index, bytes: 0, built: Promise.resolve() };
        made.built = index.build((n) => {
          made.bytes = n;
          exportBytes += n;
        });
        exports.set(id, made);
        e = made;
      }
      await e.built;
      return packBucket(e.index, swarm, bucket);
    },
    endExport,
    woodpeckerEntries: () => woodpeckers.entries(),
    pushSample: (sample) => samples.push(sample),
    stop(): Promise<void> {
      if (stopped === null) {
        clearInterval(cleaning);
        if (sampling !== null) clearInterval(sampling);
        lag.close();
        const fifos = closeFifos(fifoReaders);
        // Close the sockets first so the state written last is final.
        stopped = Promise.all([closeSockets(), fifos]).then(() => saver?.close());
      }
      return stopped;
    },
  };
}
