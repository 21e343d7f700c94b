/**
 * Every configuration key the tracker accepts, opentracker's (§1.4) and ours, in one table: its
 * value syntax, documentation, how it applies to the draft configuration and how it prints.
 * The config-file parser, `--print-config` and the test that checks `opentracker.conf.sample`
 * all read this table, so a key cannot exist in one of them only.
 *
 * Pure: no Deno APIs.
 */

import { DEFAULTS, LIMITS } from "../types.ts";
import { fromHex, toHex } from "../util/hex.ts";
import { formatIp, ipFromString, isV4Mapped } from "../util/ip.ts";
import { formatNet, parseHostPort, parseNet } from "./address.ts";
import { BlessedNet, Config, defaultConfig, Listener, MAY, Origin } from "./config.ts";

/** A configuration error that stops the start: it names file, line, key and value. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** The mutable configuration while flags and files are processed in order. */
export type Draft = { -readonly [K in keyof Config]: Config[K] } & {
  listeners: Listener[];
  blessed: BlessedNet[];
  origins: Record<string, Origin>;
  /** `-i`: the address the next `-p`/`-P`/`-s` binds to. */
  currentHost: string;
};

/** A fresh draft with every default. */
export function newDraft(): Draft {
  const d = defaultConfig();
  return {
    ...d,
    listeners: [],
    blessed: [],
    origins: {},
    currentHost: "::",
  };
}

/** One configuration key. */
export interface Setting {
  readonly key: string;
  /** Value syntax, for documentation. */
  readonly syntax: string;
  readonly doc: string;
  /** The key may appear several times, each adding something. */
  readonly repeatable?: boolean;
  /** Applies `value` (already trimmed, non-empty) from `origin`; throws {@link ConfigError}. */
  apply(d: Draft, value: string, origin: Origin): void;
  /** Config-file lines (values only) that reproduce the draft's effective setting. */
  show(d: Draft): string[];
}

/** A value that does not fit its key; {@link applySetting} adds where it came from. */
export class ValueError extends Error {
  override name = "ValueError";
}

function fail(why: string): never {
  throw new ValueError(why);
}

/**
 * Applies `value` of `key` from `origin`; a bad value becomes a {@link ConfigError} naming
 * origin (file:line or the flag), key and value.
 */
export function applySetting(d: Draft, key: string, value: string, origin: Origin): void {
  const setting = BY_KEY.get(key);
  if (setting === undefined) throw new ConfigError(`${origin}: unknown key "${key}"`);
  try {
    setting.apply(d, value, origin);
  } catch (error) {
    if (error instanceof ValueError) {
      throw new ConfigError(`${origin}: ${key} "${value}": ${error.message}`);
    }
    throw error;
  }
}

function uint(value: string, min: number, max: number): number {
  if (!/^[0-9]+$/.test(value)) fail("not a whole number");
  const n = Number(value);
  if (n < min || n > max) fail(`must be ${min} to ${max}`);
  return n;
}

function bool(value: string): boolean {
  const v = value.toLowerCase();
  if (v === "on" || v === "yes" || v === "true" || v === "1") return true;
  if (v === "off" || v === "no" || v === "false" || v === "0") return false;
  return fail("expected on or off");
}

function formatHostPortText(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

function listen(protocols: ("tcp" | "udp")[]): Setting["apply"] {
  return (d, value) => {
    const hp = parseHostPort(value, 6969);
    if (hp === null) fail("not an address[:port]");
    for (const protocol of protocols) d.listeners.push({ protocol, host: hp.host, port: hp.port });
  };
}

function bless(may: number): Setting["apply"] {
  return (d, value) => {
    const net = parseNet(value);
    if (net === null) fail("not an address[/bits]");
    if (d.blessed.length >= LIMITS.blessedNetsMax) {
      fail(`more than ${LIMITS.blessedNetsMax} blessed nets`);
    }
    d.blessed.push({ net, may });
  };
}

function showNets(may: number): Setting["show"] {
  return (d) => d.blessed.filter((b) => b.may === may).map((b) => formatNet(b.net));
}

function showListeners(protocol: "tcp" | "udp"): Setting["show"] {
  return (d) =>
    d.listeners.filter((l) => l.protocol === protocol).map((l) =>
      formatHostPortText(l.host, l.port)
    );
}

function path(field: "accessListFile" | "fifoAdd" | "fifoDelete" | "rootDir"): Setting["apply"] {
  return (d, value, origin) => {
    d[field] = value;
    d.origins[field] = origin;
  };
}

function number<K extends keyof Draft>(
  field: K,
  min: number,
  max: number,
): Pick<Setting, "apply" | "show"> {
  return {
    apply: (d, value) => {
      (d as Record<K, number>)[field] = uint(value, min, max);
    },
    show: (d) => [String(d[field])],
  };
}

/** Every key, in the order `--print-config` and the sample file use. */
export const SETTINGS: readonly Setting[] = [
  {
    key: "listen.tcp_udp",
    syntax: "address[:port]",
    doc: "Bind TCP and UDP on this address (default port 6969). IPv6 as [addr]:port.",
    repeatable: true,
    apply: listen(["tcp", "udp"]),
    show: () => [],
  },
  {
    key: "listen.tcp",
    syntax: "address[:port]",
    doc: "Bind TCP (HTTP) on this address.",
    repeatable: true,
    apply: listen(["tcp"]),
    show: showListeners("tcp"),
  },
  {
    key: "listen.udp",
    syntax: "address[:port]",
    doc: "Bind UDP (BEP 15) on this address.",
    repeatable: true,
    apply: listen(["udp"]),
    show: showListeners("udp"),
  },
  {
    key: "listen.tcp.connections_max",
    syntax: "auto|count",
    doc: "(ours) Most open HTTP connections. At the cap a new connection closes the longest-idle " +
      "one. auto: below the process's descriptor limit and at most " +
      `${DEFAULTS.tcpConnectionsMax}. Default auto.`,
    apply: (d, v) => {
      d.tcpConnectionsMax = v === "auto" ? 0 : uint(v, 16, 10_000_000);
    },
    show: (d) => [d.tcpConnectionsMax === 0 ? "auto" : String(d.tcpConnectionsMax)],
  },
  {
    key: "listen.tcp.address_connections_max",
    syntax: "count",
    doc: "(ours) Most open HTTP connections from one address (IPv6: one /64); more are closed " +
      `at once. Sized for carrier-grade NAT. Default ${DEFAULTS.tcpAddressConnectionsMax}.`,
    ...number("tcpAddressConnectionsMax", 1, 1_000_000),
  },
  {
    key: "listen.tcp.request_timeout",
    syntax: "seconds",
    doc: "(ours) A request head must arrive within this time of the connection (or of the " +
      `first byte of a keep-alive request). Default ${DEFAULTS.tcpRequestTimeoutSeconds}.`,
    ...number("tcpRequestTimeoutSeconds", 1, 3600),
  },
  {
    key: "listen.tcp.idle_timeout",
    syntax: "seconds",
    doc: "(ours) A keep-alive connection idle this long is closed (opentracker closes every " +
      `connection after 30 s). Default ${DEFAULTS.tcpIdleTimeoutSeconds}.`,
    ...number("tcpIdleTimeoutSeconds", 1, 3600),
  },
  {
    key: "listen.tcp.write_timeout",
    syntax: "seconds",
    doc: "(ours) A client that does not take a reply, or the next chunk of a full scrape, " +
      `within this time is disconnected. Default ${DEFAULTS.tcpWriteTimeoutSeconds}.`,
    ...number("tcpWriteTimeoutSeconds", 1, 3600),
  },
  {
    key: "listen.udp.workers",
    syntax: "count",
    doc: "Accepted for compatibility. UDP is served on the event loop; the value is not used.",
    ...number("udpWorkers", 0, 1024),
  },
  {
    key: "listen.udp.batch",
    syntax: "on|off",
    doc: "Serve UDP with batched recvmmsg/sendmmsg through FFI (Linux): about twice the " +
      "datagrams per second. Needs --allow-ffi, which widens the sandbox. Default off.",
    apply: (d, v) => {
      d.udpBatch = bool(v);
    },
    show: (d) => [d.udpBatch ? "on" : "off"],
  },
  {
    key: "access.whitelist",
    syntax: "file",
    doc: "Closed mode: only info_hashes listed in this file may announce. Excludes blacklist.",
    apply: (d, v, o) => {
      d.accessMode = "whitelist";
      path("accessListFile")(d, v, o);
      d.origins.whitelist = o;
    },
    show: (d) => d.accessMode === "whitelist" && d.accessListFile ? [d.accessListFile] : [],
  },
  {
    key: "access.blacklist",
    syntax: "file",
    doc: "Info_hashes listed in this file may not announce. Excludes whitelist.",
    apply: (d, v, o) => {
      d.accessMode = "blacklist";
      path("accessListFile")(d, v, o);
      d.origins.blacklist = o;
    },
    show: (d) => d.accessMode === "blacklist" && d.accessListFile ? [d.accessListFile] : [],
  },
  {
    key: "access.fifo_add",
    syntax: "file",
    doc: "FIFO: each info_hash written to it joins the access list until the next SIGHUP.",
    apply: path("fifoAdd"),
    show: (d) => d.fifoAdd ? [d.fifoAdd] : [],
  },
  {
    key: "access.fifo_delete",
    syntax: "file",
    doc: "FIFO: each info_hash written to it leaves the access list until the next SIGHUP.",
    apply: path("fifoDelete"),
    show: (d) => d.fifoDelete ? [d.fifoDelete] : [],
  },
  {
    key: "access.stats",
    syntax: "address[/bits]",
    doc: "Allow /stats from this net; once any is given, /stats is closed to everyone else.",
    repeatable: true,
    apply: bless(MAY.stat),
    show: showNets(MAY.stat),
  },
  {
    key: "access.stats_path",
    syntax: "path",
    doc: "Path of the stats page, without the leading slash. Default: stats.",
    apply: (d, v) => {
      d.statsPath = v.replace(/^\/+/, "");
    },
    show: (d) => [d.statsPath],
  },
  {
    key: "access.proxy",
    syntax: "address[/bits]",
    doc: "Trust X-Forwarded-For from this net: the client is the right-most address that is " +
      "not itself a trusted proxy. Used for announce, scrape and stats checks.",
    repeatable: true,
    apply: bless(MAY.proxy),
    show: showNets(MAY.proxy),
  },
  {
    key: "access.ip_from_query",
    syntax: "on|off",
    doc: "Honour the ip= announce parameter from anyone (opentracker's " +
      "WANT_IP_FROM_QUERY_STRING). Lets clients announce any address. Default: off.",
    apply: (d, v) => {
      d.ipFromQuery = bool(v);
    },
    show: (d) => [d.ipFromQuery ? "on" : "off"],
  },
  {
    key: "access.fullscrape",
    syntax: "on|off",
    doc: "GET /scrape without info_hash returns every torrent, and /stats modes tpbs and " +
      "statedump exist (opentracker's WANT_FULLSCRAPE; the seed's fork turned it off). Default on.",
    apply: (d, v) => {
      d.fullScrape = bool(v);
    },
    show: (d) => [d.fullScrape ? "on" : "off"],
  },
  {
    key: "access.fullscrape_gzip",
    syntax: "on|off",
    doc:
      "gzip full scrapes and statedumps for clients whose Accept-Encoding allows it. Default on.",
    apply: (d, v) => {
      d.fullScrapeGzip = bool(v);
    },
    show: (d) => [d.fullScrapeGzip ? "on" : "off"],
  },
  {
    key: "access.fullscrape_interval",
    syntax: "seconds",
    doc: "A client may full-scrape once per this many seconds; others get 402 (opentracker's " +
      `modest full scrapes). 0 = no limit. Default ${DEFAULTS.fullScrapeIntervalSeconds}.`,
    ...number("fullScrapeIntervalSeconds", 0, 86400),
  },
  {
    key: "access.fullscrape_concurrency",
    syntax: "count",
    doc: "(ours) Most full scrapes (and tpbs, statedump) streaming at once; more get 503. Each " +
      "holds 4 bytes per torrent and about 330 KiB until it ends or its client is cut off by " +
      `listen.tcp.write_timeout. Default ${DEFAULTS.fullScrapeConcurrency}.`,
    ...number("fullScrapeConcurrency", 1, 1024),
  },
  {
    key: "livesync.cluster.listen",
    syntax: "ipv4[:port]",
    doc: "Live sync: join the cluster on this interface address (default port 9696).",
    apply: (d, v, o) => {
      if (d.livesyncListen !== null) fail("given twice");
      const hp = parseHostPort(v, 9696);
      if (hp === null || hp.host.includes(":")) {
        fail("not an IPv4 address[:port]");
      }
      d.livesyncListen = hp;
      d.origins.livesync = o;
    },
    show: (d) =>
      d.livesyncListen ? [formatHostPortText(d.livesyncListen.host, d.livesyncListen.port)] : [],
  },
  {
    key: "livesync.cluster.node_ip",
    syntax: "address[/bits]",
    doc: "Live sync: accept sync packets from this net.",
    repeatable: true,
    apply: bless(MAY.livesync),
    show: showNets(MAY.livesync),
  },
  {
    key: "livesync.cluster.group",
    syntax: "ipv4 multicast address",
    doc: "Live sync: the multicast group (opentracker's is 224.0.23.5; its docs name others).",
    apply: (d, v) => {
      const ip = ipFromString(v);
      if (ip === null || !isV4Mapped(ip, 0) || (ip[12] & 0xf0) !== 0xe0) {
        fail("not an IPv4 multicast address (224.0.0.0/4)");
      }
      d.livesyncGroup = formatIp(ip);
    },
    show: (d) => [d.livesyncGroup],
  },
  {
    key: "livesync.flush_delay",
    syntax: "seconds",
    doc: "Live sync: a queued record is sent at the latest after this many seconds " +
      "(opentracker: 15). Full packets go at once.",
    ...number("livesyncFlushDelaySeconds", 1, 3600),
  },
  {
    key: "livesync.unicast.peer",
    syntax: "ipv4[:port]",
    doc: "Live sync without multicast: send every packet to this node (default port 9696) and " +
      "accept packets from it. Needs livesync.unicast.key; repeat for each node.",
    repeatable: true,
    apply: (d, v) => {
      const hp = parseHostPort(v, 9696);
      if (hp === null || hp.host.includes(":")) fail("not an IPv4 address[:port]");
      if (d.livesyncPeers.length >= LIMITS.livesyncPeersMax) {
        fail(`more than ${LIMITS.livesyncPeersMax} live sync peers`);
      }
      d.livesyncPeers = [...d.livesyncPeers, hp];
    },
    show: (d) => d.livesyncPeers.map((p) => formatHostPortText(p.host, p.port)),
  },
  {
    key: "livesync.unicast.key",
    syntax: "32 to 128 hex digits",
    doc: "Live sync without multicast: the key shared by all nodes; every packet carries an " +
      "HMAC-SHA256 with it and its send time. Keep the configuration file unreadable to others.",
    apply: (d, v, o) => {
      if (!/^([0-9a-fA-F]{2}){16,64}$/.test(v)) fail("must be 32 to 128 hex digits");
      d.livesyncKey = fromHex(v);
      d.origins.livesyncKey = o;
    },
    show: (d) => d.livesyncKey ? [toHex(d.livesyncKey, 0, d.livesyncKey.length)] : [],
  },
  {
    key: "tracker.rootdir",
    syntax: "directory",
    doc: "Relative paths (lists, FIFOs, state files) resolve against this directory (-d).",
    apply: path("rootDir"),
    show: (d) => d.rootDir ? [d.rootDir] : [],
  },
  {
    key: "tracker.user",
    syntax: "user",
    doc: "Accepted for compatibility (-u). The Deno permission sandbox and the systemd unit's " +
      "user replace chroot and setuid.",
    apply: (d, v) => {
      d.user = v;
    },
    show: (d) => d.user ? [d.user] : [],
  },
  {
    key: "tracker.statefile",
    syntax: "file",
    doc: "(ours) Keep every torrent and peer in this file: loaded at start, written every " +
      "statefile_interval minutes and on SIGTERM/SIGINT, atomically. Off when unset.",
    apply: (d, v, o) => {
      d.stateFile = v;
      d.origins.stateFile = o;
    },
    show: (d) => d.stateFile ? [d.stateFile] : [],
  },
  {
    key: "tracker.statefile_interval",
    syntax: "minutes",
    doc: "(ours) Minutes between automatic state saves. Default 5.",
    ...number("stateFileIntervalMinutes", 1, 1440),
  },
  {
    key: "tracker.redirect_url",
    syntax: "url",
    doc: "GET / answers 302 to this URL (-r). Default: 404.",
    apply: (d, v) => {
      d.redirectUrl = v;
    },
    show: (d) => d.redirectUrl ? [d.redirectUrl] : [],
  },
  {
    key: "tracker.announce_interval",
    syntax: "seconds",
    doc: "Base announce interval. Upstream 1800; the seed's fork 7200.",
    ...number("announceIntervalSeconds", 60, 86400),
  },
  {
    key: "tracker.announce_interval_variation",
    syntax: "seconds",
    doc: "Width of the random window around the interval (interval - v/2 .. + v/2). Default 360.",
    ...number("announceVariationSeconds", 0, 3600),
  },
  {
    key: "tracker.popular_interval",
    syntax: "seconds",
    doc: "The fork's longer interval for popular torrents; 0 turns it off (upstream). Fork: 10560.",
    ...number("popularIntervalSeconds", 0, 86400),
  },
  {
    key: "tracker.popular_threshold",
    syntax: "peers",
    doc: "A torrent is popular when the requester's address family has more peers than this.",
    ...number("popularThresholdPeers", 1, 1_000_000),
  },
  {
    key: "tracker.peer_timeout",
    syntax: "minutes",
    doc: "A peer is dropped this long after its last announce. Upstream 45; fork 180; max 255.",
    ...number("peerTimeoutMinutes", 1, LIMITS.peerTimeoutMinutesMax),
  },
  {
    key: "tracker.peer_budget",
    syntax: "peers",
    doc: "(ours) Most peers held in all. New peers beyond it are refused (they get a normal " +
      "reply, nothing is stored); renewals, completions and stops always work. 4,000,000 peers " +
      "take about 250 MiB, which fits a 1 GB VPS. Replaces cron restarts on low memory.",
    ...number("peerBudget", 1000, 1_000_000_000),
  },
  {
    key: "tracker.peer_budget_watermark",
    syntax: "percent",
    doc: "(ours) Above this share of the budget, new peers of large swarms are admitted with a " +
      "falling probability so that the rest goes to small swarms. Default 70.",
    ...number("peerBudgetWatermarkPercent", 1, 100),
  },
  {
    key: "tracker.torrent_budget",
    syntax: "auto|torrents",
    doc: "(ours) Most torrents held in all. At the budget a new torrent evicts the one that has " +
      "been without peers the longest (kept only for its download count); if none is empty, " +
      "the new torrent is refused like a peer over the peer budget. auto: a quarter of " +
      "tracker.peer_budget, at least 1000 (1,000,000 torrents take about 110 MiB). Default auto.",
    apply: (d, v) => {
      d.torrentBudget = v === "auto" ? 0 : uint(v, 100, 1_000_000_000);
    },
    show: (d) => [d.torrentBudget === 0 ? "auto" : String(d.torrentBudget)],
  },
  {
    key: "tracker.peer_probation",
    syntax: "minutes",
    doc: "(ours) A new peer admitted while the peers or torrents are above the budget " +
      "watermark must announce again within this many minutes (it is told half of it as its " +
      "interval) or it is dropped; a flood that never renews frees its room this soon instead " +
      `of after tracker.peer_timeout. 0 turns it off. Default ${DEFAULTS.peerProbationMinutes}.`,
    ...number("peerProbationMinutes", 0, LIMITS.peerTimeoutMinutesMax),
  },
  {
    key: "tracker.torrent_peers_max",
    syntax: "peers",
    doc: "(ours) Most peers of one torrent (both address families). Default 500000; the fork " +
      "used 400 per family.",
    ...number("torrentPeersMax", 1, 1_000_000_000),
  },
  {
    key: "tracker.torrent_timeout",
    syntax: "minutes",
    doc: "An empty torrent that had downloads is kept this long. Default 1440.",
    ...number("torrentTimeoutMinutes", 1, 525600),
  },
  {
    key: "tracker.numwant_default",
    syntax: "peers",
    doc: "HTTP peers when the client sends no numwant (or a negative one). Upstream 50; fork 400.",
    ...number("httpNumwantDefault", 0, LIMITS.numwantCeiling),
  },
  {
    key: "tracker.numwant_max",
    syntax: "peers",
    doc: "Most HTTP peers per announce. Upstream 200; fork 400.",
    ...number("httpNumwantMax", 0, LIMITS.numwantCeiling),
  },
  {
    key: "tracker.udp_peers_v4_max",
    syntax: "peers",
    doc: "Most peers in a UDP reply to an IPv4 client. Upstream 200; fork 222 (1352-byte replies).",
    ...number("udpPeersV4Max", 0, LIMITS.numwantCeiling),
  },
  {
    key: "tracker.udp_peers_v6_max",
    syntax: "peers",
    doc: "Most peers in a UDP reply to an IPv6 client. Upstream 66; fork 74 (1352-byte replies).",
    ...number("udpPeersV6Max", 0, LIMITS.numwantCeiling),
  },
];

/** Keys opentracker documents but never implemented; they warn instead of failing. */
export const UNIMPLEMENTED_UPSTREAM = ["batchsync.cluster.admin_ip"];

const BY_KEY: Map<string, Setting> = new Map(SETTINGS.map((s) => [s.key, s]));

/** The setting for `key`, or undefined. */
export function settingFor(key: string): Setting | undefined {
  return BY_KEY.get(key);
}
