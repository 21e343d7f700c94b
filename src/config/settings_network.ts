/**
 * The keys of the listeners (`listen.*`) and of access and statistics (`access.*`), in the
 * order `--print-config` and the sample file use.
 *
 * Pure: no Deno APIs.
 */

import { DEFAULTS } from "../types.ts";
import { MAY } from "./config.ts";
import {
  autoCount,
  autoSwitch,
  bless,
  bool,
  listen,
  number,
  path,
  pathSetting,
  Setting,
  showListeners,
  showNets,
} from "./setting.ts";

/** `listen.*` and `access.*`. */
export const NETWORK_SETTINGS: readonly Setting[] = [
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
    key: "listen.tls",
    syntax: "address[:port]",
    doc: "(ours) Bind TCP with TLS (HTTPS) on this address, with the certificate and key of " +
      "listen.tcp.tls_cert and listen.tcp.tls_key. Default port 6969 (443 is the usual one).",
    repeatable: true,
    apply: listen(["tls"]),
    show: showListeners("tls"),
  },
  {
    key: "listen.tcp.tls_cert",
    syntax: "file",
    doc: "(ours) The PEM certificate chain of every listen.tls listener.",
    ...pathSetting("tlsCertFile"),
  },
  {
    key: "listen.tcp.tls_key",
    syntax: "file",
    doc: "(ours) The PEM private key of listen.tcp.tls_cert.",
    ...pathSetting("tlsKeyFile"),
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
    ...autoCount("tcpConnectionsMax", 16, 10_000_000),
  },
  {
    key: "listen.tcp.address_connections_max",
    syntax: "count",
    doc: "(ours) Most open HTTP connections from one address (IPv6: one /64), counted across " +
      "every worker; more are closed at once. Sized for carrier-grade NAT. Default " +
      `${DEFAULTS.tcpAddressConnectionsMax}.`,
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
    key: "listen.ws",
    syntax: "on|off",
    doc: "(ours) Serve WebTorrent clients: a WebSocket upgrade on /announce or / of any HTTP or " +
      "TLS listener speaks the WebSocket tracker protocol (ws:// and wss://). off: such a " +
      "request is an ordinary HTTP request, as in opentracker. Default on.",
    apply: (d, v) => {
      d.webSocket = bool(v);
    },
    show: (d) => [d.webSocket ? "on" : "off"],
  },
  {
    key: "listen.ws.connections_max",
    syntax: "auto|count",
    doc: "(ours) Most open WebSocket connections (they count among the HTTP connections too, " +
      "and are never evicted for a newcomer). auto: half the HTTP connection cap. Default auto.",
    ...autoCount("wsConnectionsMax", 1, 10_000_000),
  },
  {
    key: "listen.ws.interval",
    syntax: "seconds",
    doc: "(ours) The interval of WebSocket announce replies; a WebSocket peer that has not " +
      "announced for twice this is dropped. Default " + `${DEFAULTS.wsIntervalSeconds}.`,
    ...number("wsIntervalSeconds", 10, 86_400),
  },
  {
    key: "listen.ws.timeout",
    syntax: "seconds",
    doc: "(ours) A WebSocket connection silent for half of this is pinged; silent for all of " +
      `it, it is closed. Default ${DEFAULTS.wsTimeoutSeconds}.`,
    ...number("wsTimeoutSeconds", 2, 86_400),
  },
  {
    key: "listen.ws.messages_per_second",
    syntax: "count",
    doc: "(ours) Messages one WebSocket connection may send per second, sustained (a burst may " +
      "reach twice as many); more are answered with an error and dropped. Default " +
      `${DEFAULTS.wsMessagesPerSecond}.`,
    ...number("wsMessagesPerSecond", 1, 1_000_000),
  },
  {
    key: "listen.ws.peer_relays_per_second",
    syntax: "count",
    doc: "(ours) Offers and answers relayed to one WebSocket peer per second, sustained (a burst " +
      "may reach twice as many); a peer that had its fill is left out when offers are handed " +
      "out and answers to it are dropped, so that strangers announcing or answering as fast as " +
      "allowed cannot flood a peer until it is closed as a slow reader. A peer of a busy swarm " +
      `gets an offer every few seconds. 0: no limit. Default ${DEFAULTS.wsPeerRelaysPerSecond}.`,
    ...number("wsPeerRelaysPerSecond", 0, 1_000_000),
  },
  {
    key: "listen.tcp.batch",
    syntax: "auto|on|off",
    doc: "(ours) Serve the plain TCP listeners (HTTP, WebSocket) on epoll through FFI to the C " +
      "library (Linux): one wait reports every ready connection, reads and writes are direct " +
      "calls. auto: when FFI to the C library is granted on Linux, else Deno's own TCP. on: " +
      "refuse to start without it. TLS listeners always use Deno's. Default auto.",
    ...autoSwitch("tcpBatch"),
  },
  {
    key: "listen.udp.workers",
    syntax: "count",
    doc: "Accepted for compatibility. UDP is served on the event loop; the value is not used.",
    ...number("udpWorkers", 0, 1024),
  },
  {
    key: "listen.udp.batch",
    syntax: "auto|on|off",
    doc: "(ours) Serve UDP with batched recvmmsg/sendmmsg through FFI to the C library (Linux): " +
      "about twice the datagrams per second of the portable path. auto: batched when FFI to " +
      "the C library is granted on Linux (deno task start and compile grant it), else " +
      "portable, saying so in the log. on: refuse to start without it. Default auto.",
    ...autoSwitch("udpBatch"),
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
    doc: "GET /scrape without info_hash returns every torrent, a WebSocket scrape without " +
      "info_hash the 500 with the most WebSocket peers, and /stats modes tpbs and statedump exist " +
      "(opentracker's WANT_FULLSCRAPE; the seed's fork turned it off). Default on.",
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
];
