/**
 * Prometheus text exposition (version 0.0.4) of the tracker's counters and gauges, for
 * `GET /metrics`: counters end in `_total`, every family has `# HELP` and `# TYPE`.
 * Pure: process figures come in through {@link MetricsSource}.
 */

import { ACTION_KIND, HTTP_ERROR, PROTOCOL, requestIndex } from "./counters.ts";
import { StatsSource } from "./render.ts";
import { CLIENT_SERIES_MAX, ClientEntry, clientSeries } from "./clients.ts";

/** HTTP connection figures; label values come with the numbers. */
export interface ConnectionFigures {
  readonly open: number;
  /** The connection cap in force. */
  readonly ceiling: number;
  readonly peak: number;
  readonly accepted: number;
  readonly acceptErrors: number;
  /** Connections ended by the client's TLS (counted, not logged). */
  readonly tlsErrors: number;
  /** Connections ended by an unexpected error (logged at most once per period). */
  readonly failures: number;
  /** Times the accept loops waited at the cap for a connection to go. */
  readonly capWaits: number;
  /** Open connections by what they wait for. */
  readonly byState: readonly (readonly [string, number])[];
  /** Connections refused at accept, by reason. */
  readonly refused: readonly (readonly [string, number])[];
  /** Connections the tracker closed, by reason. */
  readonly closed: readonly (readonly [string, number])[];
}

/** What /metrics reads besides the stats source. */
export interface MetricsSource extends StatsSource {
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  readonly peerStoreBytes: number;
  /** Largest event-loop delay seen in the last measurement window, seconds. */
  readonly eventLoopLagSeconds: number;
  /** Full scans run for the expensive stats modes. */
  readonly statsScans: number;
  readonly connections: ConnectionFigures;
  /** The torrent budget, torrents refused and evicted at it, and torrents without peers. */
  readonly torrentBudget: number;
  readonly refusedTorrents: number;
  readonly evictedTorrents: number;
  readonly emptyTorrents: number;
  /** New peers admitted on probation (above a budget's watermark). */
  readonly probationPeers: number;
  /** Full scrapes streaming now, and the bytes of their sort indexes. */
  readonly fullScrapesActive: number;
  readonly fullScrapeIndexBytes: number;
  /** Workers serving (`tracker.workers`; 1 per worker, so the sum counts them). */
  readonly workers: number;
  /** Records handed between workers, sent and received; dropped at a full ring or queue. */
  readonly handoffSent: number;
  readonly handoffReceived: number;
  readonly handoffDropped: number;
  /** Requests given up because another worker's answer did not come. */
  readonly handoffExpired: number;
  /** Eventfd writes that woke a sleeping worker. */
  readonly handoffWakeups: number;
  /** HTTP connections handed to the worker owning their last request's torrent. */
  readonly handoffConnections: number;
  /** Announces by peer_id prefix (stats/clients.ts), and those that found the table full. */
  readonly clients: readonly ClientEntry[];
  readonly clientsOverflow: number;
  /** WebSocket (WebTorrent): open connections, bytes queued for them, torrents and peers held. */
  readonly wsConnections: number;
  readonly wsQueuedBytes: number;
  readonly wsTorrents: number;
  readonly wsPeers: number;
  readonly wsSeeders: number;
}

const HTTP_CODES: [number, string][] = [
  [HTTP_ERROR.redirect302, "302"],
  [HTTP_ERROR.parse400, "400"],
  [HTTP_ERROR.param400, "400"],
  [HTTP_ERROR.compact400, "400"],
  [HTTP_ERROR.notModest402, "402"],
  [HTTP_ERROR.payment402, "402"],
  [HTTP_ERROR.access403, "403"],
  [HTTP_ERROR.notFound404, "404"],
  [HTTP_ERROR.server500, "500"],
];

const REASONS = [
  "parse",
  "parameter",
  "compact",
  "not_modest",
  "payment",
  "access",
  "not_found",
  "server",
];

/** The /metrics body. */
/** A label value in the exposition format: backslash, double quote and newline escaped. */
export function labelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

export function renderMetrics(m: MetricsSource): string {
  const c = m.counters;
  const out: string[] = [];
  const family = (name: string, type: "counter" | "gauge", help: string) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  };
  family(
    "opentracker_requests_total",
    "counter",
    "Requests by protocol, address family and action.",
  );
  for (const [proto, p] of [["http", PROTOCOL.http], ["udp", PROTOCOL.udp]] as const) {
    for (const [fam, v6] of [["ipv4", false], ["ipv6", true]] as const) {
      for (const [action, a] of Object.entries(ACTION_KIND)) {
        if (proto === "udp" && action === "other") continue;
        if (proto === "http" && action === "connect") continue;
        const name = proto === "http" && action === "other" ? "stats" : action;
        out.push(
          `opentracker_requests_total{protocol="${proto}",family="${fam}",action="${name}"} ` +
            c.requests[requestIndex(p, v6, a)],
        );
      }
    }
  }
  family(
    "opentracker_http_errors_total",
    "counter",
    "HTTP error replies by status code and reason.",
  );
  for (const [slot, code] of HTTP_CODES) {
    const reason = slot === 0 ? "redirect" : REASONS[slot - 1];
    out.push(
      `opentracker_http_errors_total{code="${code}",reason="${reason}"} ${c.httpErrors[slot]}`,
    );
  }
  family(
    "opentracker_udp_errors_total",
    "counter",
    "UDP requests answered with an error or dropped, by reason.",
  );
  out.push(`opentracker_udp_errors_total{reason="connection_id"} ${c.udpConnectionIdMismatches}`);
  out.push(`opentracker_udp_errors_total{reason="malformed"} ${c.udpDropped}`);
  out.push(`opentracker_udp_errors_total{reason="access"} ${c.udpRefused}`);
  out.push(`opentracker_udp_errors_total{reason="reply_dropped"} ${c.udpReplyDrops}`);
  family(
    "opentracker_connection_id_failures_total",
    "counter",
    "UDP requests with an invalid or expired connection id.",
  );
  out.push(`opentracker_connection_id_failures_total ${c.udpConnectionIdMismatches}`);
  family("opentracker_access_refused_total", "counter", "Announces refused by the access list.");
  out.push(`opentracker_access_refused_total{protocol="http"} ${c.httpRefused}`);
  out.push(`opentracker_access_refused_total{protocol="udp"} ${c.udpRefused}`);
  family("opentracker_completed_total", "counter", "Completed downloads counted.");
  out.push(`opentracker_completed_total ${c.completed}`);
  family("opentracker_livesync_records_total", "counter", "Live sync records received.");
  out.push(`opentracker_livesync_records_total ${c.livesyncRecords}`);
  family(
    "opentracker_livesync_packets_total",
    "counter",
    "Live sync packets received, by outcome (applied or why dropped).",
  );
  for (
    const [result, n] of [
      ["applied", c.livesyncPackets],
      ["untrusted", c.livesyncUntrusted],
      ["bad_hmac", c.livesyncUnauthenticated],
      ["malformed", c.livesyncMalformed],
    ] as const
  ) out.push(`opentracker_livesync_packets_total{result="${result}"} ${n}`);
  family(
    "opentracker_livesync_refused_total",
    "counter",
    "Live sync records of torrents the access list refuses.",
  );
  out.push(`opentracker_livesync_refused_total ${c.livesyncRefused}`);
  family("opentracker_livesync_sent_records_total", "counter", "Live sync records sent.");
  out.push(`opentracker_livesync_sent_records_total ${c.livesyncSentRecords}`);
  family(
    "opentracker_livesync_sent_packets_total",
    "counter",
    "Live sync packets sent, one per destination.",
  );
  out.push(`opentracker_livesync_sent_packets_total ${c.livesyncSentPackets}`);
  family(
    "opentracker_livesync_send_failures_total",
    "counter",
    "Live sync packets not sent (queue full or socket error).",
  );
  out.push(`opentracker_livesync_send_failures_total ${c.livesyncSendFailures}`);
  const k = m.connections;
  family(
    "opentracker_http_connections",
    "gauge",
    "Open HTTP connections by what they wait for (closing: closed, descriptor not yet freed).",
  );
  for (const [state, n] of k.byState) {
    out.push(`opentracker_http_connections{state="${state}"} ${n}`);
  }
  family(
    "opentracker_http_connections_max",
    "gauge",
    "The HTTP connection cap in force (lowered when descriptors ran out).",
  );
  out.push(`opentracker_http_connections_max ${k.ceiling}`);
  family("opentracker_http_connections_peak", "gauge", "Most HTTP connections open at once.");
  out.push(`opentracker_http_connections_peak ${k.peak}`);
  family("opentracker_http_connections_accepted_total", "counter", "HTTP connections admitted.");
  out.push(`opentracker_http_connections_accepted_total ${k.accepted}`);
  family(
    "opentracker_http_connections_refused_total",
    "counter",
    "HTTP connections closed at accept because their address was at its cap.",
  );
  for (const [reason, n] of k.refused) {
    out.push(`opentracker_http_connections_refused_total{reason="${reason}"} ${n}`);
  }
  family(
    "opentracker_http_connections_closed_total",
    "counter",
    "HTTP connections the tracker closed: deadlines passed, evicted at the cap, or shutdown.",
  );
  for (const [reason, n] of k.closed) {
    out.push(`opentracker_http_connections_closed_total{reason="${reason}"} ${n}`);
  }
  family(
    "opentracker_http_connection_cap_waits_total",
    "counter",
    "Times new connections waited in the kernel queue because the cap was reached.",
  );
  out.push(`opentracker_http_connection_cap_waits_total ${k.capWaits}`);
  family(
    "opentracker_http_accept_errors_total",
    "counter",
    "Failed accepts (out of descriptors or buffers); the tracker backs off and keeps serving.",
  );
  out.push(`opentracker_http_accept_errors_total ${k.acceptErrors}`);
  family(
    "opentracker_http_tls_errors_total",
    "counter",
    "TLS connections ended by the client's TLS: not TLS, a corrupt handshake, or its alert " +
      "(an untrusted certificate, an old protocol version).",
  );
  out.push(`opentracker_http_tls_errors_total ${k.tlsErrors}`);
  family(
    "opentracker_http_connection_failures_total",
    "counter",
    "Connections ended by an unexpected error (logged at most every 10 s, with a count).",
  );
  out.push(`opentracker_http_connection_failures_total ${k.failures}`);
  family(
    "opentracker_fullscrapes_total",
    "counter",
    "Full scrapes served (tpbs and statedump too).",
  );
  out.push(`opentracker_fullscrapes_total ${c.fullScrapes}`);
  family(
    "opentracker_fullscrapes_refused_total",
    "counter",
    "Full scrapes refused with 503: access.fullscrape_concurrency were streaming.",
  );
  out.push(`opentracker_fullscrapes_refused_total ${c.fullScrapesRefused}`);
  family("opentracker_fullscrapes_active", "gauge", "Full scrapes streaming now.");
  out.push(`opentracker_fullscrapes_active ${m.fullScrapesActive}`);
  family(
    "opentracker_fullscrape_index_bytes",
    "gauge",
    "Bytes of the sort indexes the streaming full scrapes hold (4 per torrent each).",
  );
  out.push(`opentracker_fullscrape_index_bytes ${m.fullScrapeIndexBytes}`);
  family("opentracker_stats_scans_total", "counter", "Full swarm scans for top/s24s/everything.");
  out.push(`opentracker_stats_scans_total ${m.statsScans}`);
  family("opentracker_torrents", "gauge", "Torrents held.");
  out.push(`opentracker_torrents ${m.torrents}`);
  family("opentracker_peers", "gauge", "Peers held, seeders included.");
  out.push(`opentracker_peers ${m.peers}`);
  family(
    "opentracker_peer_budget",
    "gauge",
    "Most peers the tracker stores (tracker.peer_budget).",
  );
  out.push(`opentracker_peer_budget ${m.peerBudget}`);
  family(
    "opentracker_peers_refused_total",
    "counter",
    "New peers refused by the peer budget or the per-torrent cap.",
  );
  out.push(`opentracker_peers_refused_total ${m.refusedPeers}`);
  family(
    "opentracker_torrent_budget",
    "gauge",
    "Most torrents the tracker stores (tracker.torrent_budget).",
  );
  out.push(`opentracker_torrent_budget ${m.torrentBudget}`);
  family(
    "opentracker_torrents_refused_total",
    "counter",
    "New torrents refused at the torrent budget (no empty torrent to evict).",
  );
  out.push(`opentracker_torrents_refused_total ${m.refusedTorrents}`);
  family(
    "opentracker_torrents_evicted_total",
    "counter",
    "Torrents without peers evicted to make room at the torrent budget.",
  );
  out.push(`opentracker_torrents_evicted_total ${m.evictedTorrents}`);
  family("opentracker_torrents_empty", "gauge", "Torrents without peers (kept for downloads).");
  out.push(`opentracker_torrents_empty ${m.emptyTorrents}`);
  family(
    "opentracker_peers_probation_total",
    "counter",
    "New peers admitted above a budget's watermark with a short first lifetime.",
  );
  out.push(`opentracker_peers_probation_total ${m.probationPeers}`);
  webSocketMetrics(m, family, out);
  family("opentracker_workers", "gauge", "Workers serving (tracker.workers).");
  out.push(`opentracker_workers ${m.workers}`);
  family(
    "opentracker_handoff_records_total",
    "counter",
    "Requests and answers handed between workers through their rings.",
  );
  out.push(`opentracker_handoff_records_total{direction="sent"} ${m.handoffSent}`);
  out.push(`opentracker_handoff_records_total{direction="received"} ${m.handoffReceived}`);
  family(
    "opentracker_handoff_dropped_total",
    "counter",
    "Records not handed over: the ring to the owner was full or too many requests waited.",
  );
  out.push(`opentracker_handoff_dropped_total ${m.handoffDropped}`);
  family(
    "opentracker_handoff_expired_total",
    "counter",
    "Requests given up after 5 s without another worker's answer.",
  );
  out.push(`opentracker_handoff_expired_total ${m.handoffExpired}`);
  family("opentracker_handoff_wakeups_total", "counter", "Wake-ups of a sleeping worker.");
  out.push(`opentracker_handoff_wakeups_total ${m.handoffWakeups}`);
  family(
    "opentracker_handoff_http_connections_total",
    "counter",
    "HTTP connections handed with their last request to the worker owning its torrent, which " +
      "replied on them.",
  );
  out.push(`opentracker_handoff_http_connections_total ${m.handoffConnections}`);
  family(
    "opentracker_announces_by_client_total",
    "counter",
    `Announces by client software (from the peer_id), the ${CLIENT_SERIES_MAX} most frequent ` +
      "and other.",
  );
  for (const s of clientSeries(m.clients, m.clientsOverflow)) {
    out.push(
      `opentracker_announces_by_client_total{client="${labelValue(s.client)}",version="${
        labelValue(s.version)
      }"} ${s.announces}`,
    );
  }
  family("opentracker_seeders", "gauge", "Seeders held.");
  out.push(`opentracker_seeders ${m.seeds}`);
  family("opentracker_peer_store_bytes", "gauge", "Bytes reserved by the peer store.");
  out.push(`opentracker_peer_store_bytes ${m.peerStoreBytes}`);
  family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
  out.push(`process_resident_memory_bytes ${m.rssBytes}`);
  family(
    "opentracker_memory_givebacks_total",
    "counter",
    "Times the memory the swarm freed was given back to the system (collection and trim).",
  );
  out.push(`opentracker_memory_givebacks_total ${c.memoryGiveBacks}`);
  family("opentracker_heap_used_bytes", "gauge", "V8 heap in use, bytes.");
  out.push(`opentracker_heap_used_bytes ${m.heapUsedBytes}`);
  family(
    "opentracker_event_loop_lag_seconds",
    "gauge",
    "Largest event-loop delay in the last second.",
  );
  out.push(`opentracker_event_loop_lag_seconds ${m.eventLoopLagSeconds}`);
  family("opentracker_uptime_seconds", "gauge", "Seconds since start.");
  out.push(`opentracker_uptime_seconds ${m.uptimeSeconds}`);
  return out.join("\n") + "\n";
}

/** The WebSocket (WebTorrent) series. */
function webSocketMetrics(
  m: MetricsSource,
  family: (name: string, type: "counter" | "gauge", help: string) => void,
  out: string[],
): void {
  const c = m.counters;
  family("opentracker_ws_connections", "gauge", "Open WebSocket connections.");
  out.push(`opentracker_ws_connections ${m.wsConnections}`);
  family(
    "opentracker_ws_send_queue_bytes",
    "gauge",
    "Bytes queued for WebSocket clients that have not read them yet.",
  );
  out.push(`opentracker_ws_send_queue_bytes ${m.wsQueuedBytes}`);
  family("opentracker_ws_torrents", "gauge", "Torrents with WebSocket peers.");
  out.push(`opentracker_ws_torrents ${m.wsTorrents}`);
  family("opentracker_ws_peers", "gauge", "WebSocket peers held, by role.");
  out.push(`opentracker_ws_peers{role="seeder"} ${m.wsSeeders}`);
  out.push(`opentracker_ws_peers{role="leecher"} ${m.wsPeers - m.wsSeeders}`);
  family(
    "opentracker_ws_handshakes_total",
    "counter",
    "WebSocket upgrades, accepted and refused (a bad handshake, or the connection cap).",
  );
  out.push(`opentracker_ws_handshakes_total{result="accepted"} ${c.wsHandshakes}`);
  out.push(`opentracker_ws_handshakes_total{result="refused"} ${c.wsHandshakesRefused}`);
  family("opentracker_ws_messages_total", "counter", "WebSocket messages read, by action.");
  out.push(`opentracker_ws_messages_total{action="announce"} ${c.wsAnnounces}`);
  out.push(`opentracker_ws_messages_total{action="scrape"} ${c.wsScrapes}`);
  out.push(
    `opentracker_ws_messages_total{action="other"} ${c.wsMessages - c.wsAnnounces - c.wsScrapes}`,
  );
  family(
    "opentracker_ws_refused_total",
    "counter",
    "WebSocket announces refused by the access list.",
  );
  out.push(`opentracker_ws_refused_total ${c.wsRefused}`);
  family(
    "opentracker_ws_bad_messages_total",
    "counter",
    "WebSocket messages answered with an error: bad JSON or fields, a limit, the message rate.",
  );
  out.push(`opentracker_ws_bad_messages_total ${c.wsBadMessages}`);
  family("opentracker_ws_relayed_total", "counter", "Offers and answers relayed to a peer.");
  out.push(`opentracker_ws_relayed_total{kind="offer"} ${c.wsOffersRelayed}`);
  out.push(`opentracker_ws_relayed_total{kind="answer"} ${c.wsAnswersRelayed}`);
  family(
    "opentracker_ws_answers_undelivered_total",
    "counter",
    "Answers whose offering peer had gone.",
  );
  out.push(`opentracker_ws_answers_undelivered_total ${c.wsAnswersUndelivered}`);
  family(
    "opentracker_ws_relays_limited_total",
    "counter",
    "Offers and answers not relayed because the peers they would go to had their fill " +
      "(listen.ws.peer_relays_per_second).",
  );
  out.push(`opentracker_ws_relays_limited_total{kind="offer"} ${c.wsOffersLimited}`);
  out.push(`opentracker_ws_relays_limited_total{kind="answer"} ${c.wsAnswersLimited}`);
  family(
    "opentracker_ws_closed_total",
    "counter",
    "WebSocket connections the tracker closed: a client that did not read its queue " +
      "(slow_reader), a broken frame or an oversized message (protocol). Timeouts are in " +
      "opentracker_http_connections_closed_total.",
  );
  out.push(`opentracker_ws_closed_total{reason="slow_reader"} ${c.wsClosedSlow}`);
  out.push(`opentracker_ws_closed_total{reason="protocol"} ${c.wsClosedProtocol}`);
}
