/**
 * The single counting funnel: every event the servers observe is counted here, exactly, and the
 * /stats renderers and /metrics read from here (§6.3). Counters are plain numbers (exact up to
 * 2^53), incremented synchronously on the event loop, so none is lost as in opentracker's
 * unsynchronised threads.
 *
 * Must not import server/ or protocol/.
 */

/** HTTP error slots, in opentracker's `failed[]` order (§6.3). */
export const HTTP_ERROR = {
  redirect302: 0,
  parse400: 1,
  param400: 2,
  compact400: 3,
  notModest400: 4,
  payment402: 5,
  access403: 6,
  notFound404: 7,
  server500: 8,
} as const;

/** Counters of one tracker process. */
export class Counters {
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
  completed = 0;
  livesyncRecords = 0;
  fullScrapes = 0;
  fullScrapeBytes = 0;
  /** Renewals by the renewed peer's age in minutes (`renew` mode). */
  readonly renew: Float64Array = new Float64Array(256);
  /** HTTP errors by {@link HTTP_ERROR} slot. */
  readonly httpErrors: Float64Array = new Float64Array(9);
}
