/**
 * The keys of live sync (`livesync.*`) and of the tracker itself (`tracker.*`), in the order
 * `--print-config` and the sample file use.
 *
 * Pure: no Deno APIs.
 */

import { DEFAULTS, LIMITS } from "../types.ts";
import { fromHex, toHex } from "../util/hex.ts";
import { formatIp, ipFromString, isV4Mapped } from "../util/ip.ts";
import { MAY, WORKERS_MAX } from "./config.ts";
import { parseHostPort } from "./address.ts";
import {
  autoCount,
  bless,
  fail,
  formatHostPortText,
  number,
  path,
  pathSetting,
  Setting,
  showNets,
  uint,
} from "./setting.ts";

/** `livesync.*` and `tracker.*`. */
export const TRACKER_SETTINGS: readonly Setting[] = [
  {
    key: "livesync.cluster.listen",
    syntax: "ipv4[:port]",
    doc: "Live sync: join the cluster on this interface address (default port 9696).",
    apply: (d, v, o) => {
      if (d.livesyncListen !== null) fail("given twice");
      const hp = parseHostPort(v, DEFAULTS.livesyncPort);
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
      const hp = parseHostPort(v, DEFAULTS.livesyncPort);
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
    key: "tracker.workers",
    syntax: "count|auto",
    doc: "(ours) Workers (threads), each owning a share of the torrents and its own sockets on " +
      "the same ports (SO_REUSEPORT); a request reaching the wrong worker is handed to the " +
      "owner through shared memory. auto: one per core the process may use. Needs the " +
      "batched UDP path (FFI to the C library); without it one worker serves. Default auto.",
    apply: (d, v) => {
      d.workers = v.toLowerCase() === "auto" ? 0 : uint(v, 1, WORKERS_MAX);
    },
    show: (d) => [d.workers === 0 ? "auto" : String(d.workers)],
  },
  {
    key: "tracker.statefile",
    syntax: "file",
    doc: "(ours) Keep every torrent and peer in this file: loaded at start, written every " +
      "statefile_interval minutes and on SIGTERM/SIGINT, atomically. Off when unset.",
    ...pathSetting("stateFile"),
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
    ...autoCount("torrentBudget", 100, 1_000_000_000),
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
