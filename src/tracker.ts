/**
 * Composition root: wires configuration, swarm, counters and servers; starts and stops them.
 * Features that are switched off are simply not wired (conventions rule 4).
 */

import { Config, isBlessed, MAY, torrentBudget } from "./config/config.ts";
import { ClientAddress } from "./server/client_address.ts";
import { ConnectionIds } from "./protocol/connection_id.ts";
import { HttpRequestParser } from "./protocol/http_request.ts";
import { HttpHandler } from "./server/http_handler.ts";
import { HttpServer } from "./server/http_server.ts";
import { connectionCap, ConnectionTable } from "./server/connections.ts";
import { descriptorLimit } from "./server/libc.ts";
import { UdpHandler } from "./server/udp_handler.ts";
import { serveUdp } from "./server/udp_server.ts";
import { serveUdpBatched } from "./server/udp_batch.ts";
import { Counters } from "./stats/counters.ts";
import { StatsScanner } from "./stats/scan.ts";
import { Woodpeckers } from "./stats/woodpeckers.ts";
import { describeLoad, implausible, loadAccessList } from "./config/access_list.ts";
import { AccessControl } from "./swarm/access.ts";
import { FifoReader, readFifo } from "./server/access_feeds.ts";
import { FullScrapes } from "./server/full_scrape_stream.ts";
import { writeStateFile } from "./server/state_writer.ts";
import { Swarm } from "./swarm/swarm.ts";
import { HashSet20 } from "./swarm/hash_set.ts";
import { LIMITS } from "./types.ts";
import { randomPrng } from "./util/random.ts";
import { toHex } from "./util/hex.ts";
import { ipFromString } from "./util/ip.ts";
import { LivesyncReceiver } from "./server/livesync_handler.ts";
import { startLivesync } from "./server/livesync_socket.ts";

/** A bound socket, for the "listening on" lines. */
export interface BoundAddress {
  readonly protocol: "tcp" | "udp";
  readonly host: string;
  readonly port: number;
}

/** A running tracker. */
export interface RunningTracker {
  readonly addresses: readonly BoundAddress[];
  /** Settles when live sync has joined its group (at once without live sync); rejects if not. */
  readonly ready: Promise<void>;
  readonly swarm: Swarm;
  readonly counters: Counters;
  /** Writes the state file now (logs that there is none without `tracker.statefile`). */
  saveState(): Promise<void>;
  /** Reloads the access list (SIGHUP); logs what it did, or that there is nothing to reload. */
  reload(): void;
  /** Stops every listener and timer, then writes the state file; resolves when done. */
  stop(): Promise<void>;
}

/** Options for {@link startTracker}. */
export interface StartOptions {
  /** Where diagnostics go. Default: stderr. */
  log?: (line: string) => void;
  /** Seconds since the epoch. Default: the system clock. */
  clock?: () => number;
  /** Closed mode with its list already loaded. Default: open. */
  access?: AccessControl;
  /** Keys hash tables (four CSPRNG words). Default: fresh random words. */
  hashSeed?: Uint32Array;
  /** Fills the swarm before any socket is bound (state restore). */
  restore?: (swarm: Swarm, access: AccessControl) => void;
}

/** Unicast live sync trusts its configured nodes and the livesync.cluster.node_ip nets. */
function trustedUnicast(config: Config): (ip: Uint8Array) => boolean {
  const nodes = config.livesyncPeers.map((p) => ipFromString(p.host)!);
  return (ip) =>
    isBlessed(config, ip, MAY.livesync) ||
    nodes.some((n) => n.every((b, i) => b === ip[i]));
}

/** Period of the incremental cleaner. */
const CLEAN_TICK_MS = 250;

/** Formats `host:port` with brackets for IPv6. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Binds every listener of `config` and starts serving. Throws when a bind fails. */
export function startTracker(config: Config, options: StartOptions = {}): RunningTracker {
  const log = options.log ?? ((line: string) => console.error(line));
  const clock = options.clock ?? (() => Math.floor(Date.now() / 1000));
  const hashSeed = options.hashSeed ?? crypto.getRandomValues(new Uint32Array(4));
  const access = options.access ?? new AccessControl("open", new HashSet20(hashSeed), hashSeed);
  const counters = new Counters();
  const startedAt = clock();
  const trackerId = crypto.getRandomValues(new Uint32Array(1))[0];
  const woodpeckers = new Woodpeckers();
  const swarm = new Swarm({
    prng: randomPrng(),
    hashSeed,
    peerTimeoutMinutes: config.peerTimeoutMinutes,
    torrentTimeoutMinutes: config.torrentTimeoutMinutes,
    peerBudget: config.peerBudget,
    torrentPeersMax: config.torrentPeersMax,
    budgetWatermark: config.peerBudgetWatermarkPercent / 100,
    torrentBudget: torrentBudget(config),
    probationMinutes: config.peerProbationMinutes,
  });
  options.restore?.(swarm, access);
  const interval = {
    baseSeconds: config.announceIntervalSeconds,
    variationSeconds: config.announceVariationSeconds,
    popularBaseSeconds: config.popularIntervalSeconds,
    popularThresholdPeers: config.popularThresholdPeers,
    probationSeconds: config.peerProbationMinutes * 60,
  };
  const connectionIds = new ConnectionIds(crypto.getRandomValues(new Uint8Array(16)), {
    lifetimeSeconds: config.connectionIdLifetimeSeconds,
    toleranceSeconds: config.connectionIdToleranceSeconds,
  });
  const scanner = new StatsScanner(swarm, { clock });
  const statsSource = () => ({
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
  // Event-loop lag: how late a 100 ms timer fires, the largest over the last second.
  let lagMaxMs = 0;
  let lagReported = 0;
  let lagWindowStart = performance.now();
  let lagExpected = performance.now() + 100;
  const lagTimer = setInterval(() => {
    const now = performance.now();
    lagMaxMs = Math.max(lagMaxMs, now - lagExpected);
    lagExpected = now + 100;
    if (now - lagWindowStart >= 1000) {
      lagReported = lagMaxMs;
      lagMaxMs = 0;
      lagWindowStart = now;
    }
  }, 100);
  // Live sync binds first: its outbox goes to the handlers. The id is sent in host byte order,
  // as opentracker sends the raw bytes of its g_tracker_id.
  const trackerIdBytes = new Uint8Array(Uint32Array.of(trackerId).buffer);
  const livesync = config.livesyncListen === null ? null : startLivesync({
    host: config.livesyncListen.host,
    port: config.livesyncListen.port,
    group: config.livesyncGroup,
    peers: config.livesyncPeers,
    key: config.livesyncKey,
    flushDelaySeconds: config.livesyncFlushDelaySeconds,
    trackerId: trackerIdBytes,
    receiver: new LivesyncReceiver({
      swarm,
      access,
      counters,
      trackerId: trackerIdBytes,
      trusted: config.livesyncPeers.length === 0
        ? (ip) => isBlessed(config, ip, MAY.livesync)
        : trustedUnicast(config),
      key: config.livesyncKey,
    }),
    counters,
    clock,
    log,
  });
  const fullScrapes = new FullScrapes(swarm, {
    concurrentMax: config.fullScrapeConcurrency,
    onChunk: (bytes) => {
      counters.fullScrapeBytes += bytes;
    },
  });
  const udpHandler = new UdpHandler({
    swarm,
    access,
    woodpeckers,
    counters,
    livesync: livesync?.outbox ?? null,
    connectionIds,
    prng: randomPrng(),
    interval,
    peersV4Max: config.udpPeersV4Max,
    peersV6Max: config.udpPeersV6Max,
  });
  const httpHandler = new HttpHandler({
    swarm,
    access,
    counters,
    livesync: livesync?.outbox ?? null,
    prng: randomPrng(),
    interval,
    redirectUrl: config.redirectUrl,
    clientAddress: new ClientAddress((ip) => isBlessed(config, ip, MAY.proxy)),
    statsAllowed: config.restrictStats ? (ip) => isBlessed(config, ip, MAY.stat) : () => true,
    statsSource,
    log,
    fullScrape: config.fullScrape
      ? {
        gzip: config.fullScrapeGzip,
        intervalSeconds: config.fullScrapeIntervalSeconds,
        open: (format, gzip) => fullScrapes.open(format, gzip),
      }
      : null,
    scanner,
    woodpeckers,
    metricsSource: () => {
      const mem = Deno.memoryUsage();
      return {
        ...statsSource(),
        rssBytes: mem.rss,
        heapUsedBytes: mem.heapUsed,
        peerStoreBytes: swarm.peerStoreBytes,
        eventLoopLagSeconds: Math.max(0, lagReported) / 1000,
        statsScans: scanner.scans,
        connections: connections.figures(),
        fullScrapesActive: fullScrapes.active,
        fullScrapeIndexBytes: fullScrapes.indexBytes,
        torrentBudget: swarm.torrentBudget,
        refusedTorrents: swarm.refusedTorrents,
        evictedTorrents: swarm.evictedTorrents,
        emptyTorrents: swarm.emptyTorrents,
        probationPeers: swarm.probationPeers,
      };
    },
    parser: new HttpRequestParser({
      statsPath: config.statsPath,
      fullScrape: config.fullScrape,
      ipFromQuery: config.ipFromQuery,
      numwantDefault: config.httpNumwantDefault,
      numwantMax: Math.min(config.httpNumwantMax, LIMITS.numwantCeiling),
    }),
  });

  const fdLimit = descriptorLimit();
  const cap = connectionCap(config.tcpConnectionsMax, fdLimit);
  if (cap.lowered) {
    log(
      `listen.tcp.connections_max ${config.tcpConnectionsMax} lowered to ${cap.connectionsMax}: ` +
        `the process may open ${fdLimit} descriptors`,
    );
  }
  const connections = new ConnectionTable({
    connectionsMax: cap.connectionsMax,
    perAddressMax: config.tcpAddressConnectionsMax,
    requestTimeoutMs: config.tcpRequestTimeoutSeconds * 1000,
    idleTimeoutMs: config.tcpIdleTimeoutSeconds * 1000,
    writeTimeoutMs: config.tcpWriteTimeoutSeconds * 1000,
  });
  const http = new HttpServer({ handler: httpHandler, counters, connections, clock, log });
  const udpListeners: { close(): void; done: Promise<void> }[] = [];
  const addresses: BoundAddress[] = [];
  const closeAll = async () => {
    for (const l of udpListeners) {
      try {
        l.close();
      } catch { /* already closed */ }
    }
    await Promise.all([
      http.close(),
      ...udpListeners.map((l) => l.done),
      livesync?.close(),
    ]);
  };
  try {
    for (const l of config.listeners) {
      if (l.protocol === "tcp") {
        const { addr } = http.listen(l.host, l.port);
        addresses.push({ protocol: "tcp", host: addr.hostname, port: addr.port });
      } else {
        const o = { ...l, handler: udpHandler, clock, log };
        const u = config.udpBatch
          ? serveUdpBatched({ ...o, onDroppedReplies: (n) => counters.udpReplyDrops += n })
          : serveUdp(o);
        udpListeners.push({
          close: "socket" in u ? () => u.socket.close() : () => u.close(),
          done: u.done,
        });
        addresses.push({ protocol: "udp", host: u.addr.hostname, port: u.addr.port });
      }
    }
  } catch (error) {
    void closeAll();
    throw error;
  }

  // Incremental cleaning: one full sweep per cleanSweepMinutes, in slices.
  const ticksPerSweep = (2 * 60 * 1000) / CLEAN_TICK_MS;
  const cleaner = setInterval(() => {
    try {
      const slice = Math.min(
        LIMITS.cleanSliceTorrents,
        Math.max(64, Math.ceil(swarm.slotCount / ticksPerSweep)),
      );
      if (swarm.cleanSlice(Math.floor(clock() / 60), slice)) woodpeckers.decay();
    } catch (error) {
      log(`Cleaner failed: ${error instanceof Error ? error.stack : String(error)}`);
    }
  }, CLEAN_TICK_MS);

  // Closed mode: reload() (SIGHUP) reads the list again, keeping the old one when the new cannot
  // be read or is garbage, and empties the FIFO changesets; the FIFOs feed changesets while the
  // tracker runs.
  const fifoReaders: Promise<FifoReader | null>[] = [];
  const startFifo = (path: string, apply: (h: Uint8Array) => void, key: string) => {
    fifoReaders.push(
      readFifo(path, (h) => {
        apply(h);
        log(`${key}: ${toHex(h, 0, 20, true)}`);
      }, log).catch((error) => {
        log(`${key}: cannot read ${path}: ${error instanceof Error ? error.message : error}`);
        return null;
      }),
    );
  };
  const listFile = access.mode !== "open" ? config.accessListFile : null;
  const reload = () => {
    if (listFile === null) {
      log("SIGHUP: nothing to reload (no access list is configured)");
      return;
    }
    let parsed;
    try {
      parsed = loadAccessList(listFile, hashSeed);
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      log(`SIGHUP: keeping the previous list of ${access.listSize} hashes: ${listFile}: ${why}`);
      return;
    }
    const wrong = implausible(parsed);
    if (wrong !== null) {
      log(`SIGHUP: keeping the previous list of ${access.listSize} hashes: ${listFile}: ${wrong}`);
      return;
    }
    access.replaceList(parsed.set);
    log(`SIGHUP: ${describeLoad(listFile, parsed)}`);
  };
  if (listFile !== null) {
    // One log line per changeset line, as opentracker prints them: operators write these.
    if (config.fifoAdd !== null) {
      startFifo(config.fifoAdd, (h) => access.fifoAdd(h), "access.fifo_add");
    }
    if (config.fifoDelete !== null) {
      startFifo(config.fifoDelete, (h) => access.fifoDelete(h), "access.fifo_delete");
    }
  }

  // Persistence: one write at a time; a save asked for during a write runs after it.
  let saving: Promise<void> | null = null;
  let saveAgain = false;
  const saveOnce = async (): Promise<void> => {
    if (config.stateFile === null) return;
    try {
      const r = await writeStateFile(swarm, config.stateFile, config.peerTimeoutMinutes, clock());
      log(
        `Saved ${r.torrents} torrents and ${r.peers} peers to ${config.stateFile} ` +
          `(${r.bytes} bytes) in ${r.milliseconds.toFixed(0)} ms`,
      );
    } catch (error) {
      log(`Saving ${config.stateFile} failed: ${error instanceof Error ? error.message : error}`);
    }
  };
  const saveState = (): Promise<void> => {
    if (saving !== null) {
      saveAgain = true;
      return saving;
    }
    saving = (async () => {
      do {
        saveAgain = false;
        await saveOnce();
      } while (saveAgain);
    })().finally(() => {
      saving = null;
    });
    return saving;
  };
  const saver = config.stateFile === null
    ? null
    : setInterval(() => void saveState(), config.stateFileIntervalMinutes * 60_000);

  let stopped: Promise<void> | null = null;
  return {
    addresses,
    ready: livesync?.ready ?? Promise.resolve(),
    swarm,
    counters,
    saveState: config.stateFile === null
      ? () => {
        log("No state file to write: tracker.statefile is not set");
        return Promise.resolve();
      }
      : saveState,
    reload,
    stop(): Promise<void> {
      if (stopped === null) {
        clearInterval(cleaner);
        if (saver !== null) clearInterval(saver);
        clearInterval(lagTimer);
        const fifos = Promise.all(fifoReaders.map(async (r) => {
          const reader = await r;
          reader?.close();
          await reader?.done;
        }));
        // Close the listeners first so the state written last is final.
        stopped = Promise.all([closeAll(), fifos]).then(async () => {
          if (saving !== null) await saving;
          await saveOnce();
        });
      }
      return stopped;
    },
  };
}
