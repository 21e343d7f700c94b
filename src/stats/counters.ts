/**
 * The single counting funnel: every event the servers observe is counted here, exactly, and the
 * /stats renderers and /metrics read from here. Counters are plain numbers (exact up to
 * 2^53), incremented synchronously on the event loop, so none is lost as in opentracker's
 * unsynchronised threads.
 *
 * Must not import server/ or protocol/.
 */

/** HTTP error slots, in opentracker's `failed[]` order (the `herr` mode prints them so). */
export const HTTP_ERROR = {
  redirect302: 0,
  parse400: 1,
  param400: 2,
  compact400: 3,
  notModest402: 4,
  payment402: 5,
  access403: 6,
  notFound404: 7,
  server500: 8,
} as const;

/** Request kinds for /metrics, by protocol, address family and action. */
export const PROTOCOL = { http: 0, udp: 1 } as const;
export const ACTION_KIND = { connect: 0, announce: 1, scrape: 2, other: 3 } as const;

/** Index into {@link Counters.requests}. */
export function requestIndex(protocol: number, v6: boolean, action: number): number {
  return protocol * 8 + (v6 ? 4 : 0) + action;
}

/** Counters of one tracker process. */
export class Counters {
  /** Requests by {@link requestIndex}: protocol × family × action. */
  readonly requests: Float64Array = new Float64Array(16);
  /** UDP announces refused by the access list. */
  udpRefused = 0;
  /** HTTP announces refused by the access list. */
  httpRefused = 0;
  /** Announces by the numwant they asked for (after defaults and caps), 0..200 (`numwants`). */
  readonly numwants: Float64Array = new Float64Array(201);
  tcpAccepts = 0;
  tcpAnnounces = 0;
  tcpScrapes = 0;
  udpPackets = 0;
  udpConnects = 0;
  udpAnnounces = 0;
  udpScrapes = 0;
  udpConnectionIdMismatches = 0;
  /** Datagrams dropped without a reply (too short, unknown action, bad magic). */
  udpDropped = 0;
  /** UDP replies not sent: the send buffer was full, or the client's address cannot be sent to. */
  udpReplyDrops = 0;
  completed = 0;
  /** Live sync records received in accepted packets (`syncs`). */
  livesyncRecords = 0;
  /** Live sync packets applied. */
  livesyncPackets = 0;
  /** Live sync packets from senders outside livesync.cluster.node_ip (or the unicast peers). */
  livesyncUntrusted = 0;
  /** Unicast live sync packets with a wrong or stale HMAC trailer. */
  livesyncUnauthenticated = 0;
  /** Live sync packets with a bad header, type or length. */
  livesyncMalformed = 0;
  /** Synced peers of torrents the access list refuses. */
  livesyncRefused = 0;
  /** Live sync packets sent (one per destination) and records queued for sending. */
  livesyncSentPackets = 0;
  livesyncSentRecords = 0;
  /** Live sync packets dropped because the send queue was full or the send failed. */
  livesyncSendFailures = 0;
  fullScrapes = 0;
  fullScrapeBytes = 0;
  /** Full scrapes refused because access.fullscrape_concurrency were streaming. */
  fullScrapesRefused = 0;
  /** WebSocket (WebTorrent): upgrades accepted, and refused (a bad handshake or the cap). */
  wsHandshakes = 0;
  wsHandshakesRefused = 0;
  /** WebSocket messages read, announces and scrapes among them. */
  wsMessages = 0;
  wsAnnounces = 0;
  wsScrapes = 0;
  /** WebSocket announces refused by the access list. */
  wsRefused = 0;
  /** WebSocket messages answered with an error (bad JSON, fields, limits, the rate). */
  wsBadMessages = 0;
  /** Offers and answers relayed to another peer; answers whose peer had gone. */
  wsOffersRelayed = 0;
  wsAnswersRelayed = 0;
  wsAnswersUndelivered = 0;
  /**
   * Offers and answers not relayed: the peers they could go to had their fill (a per-peer rate,
   * listen.ws.peer_relays_per_second).
   */
  wsOffersLimited = 0;
  wsAnswersLimited = 0;
  /** WebSocket connections closed by the tracker, by why: a slow reader, a protocol breach. */
  wsClosedSlow = 0;
  wsClosedProtocol = 0;
  /** Times freed memory was given back to the system (server/memory_giveback.ts). */
  memoryGiveBacks = 0;
  /** Renewals by the renewed peer's age in minutes (`renew` mode). */
  readonly renew: Float64Array = new Float64Array(256);
  /** HTTP errors by {@link HTTP_ERROR} slot. */
  readonly httpErrors: Float64Array = new Float64Array(9);
}
