/**
 * The resolved configuration: one frozen object built from flags and configuration files before
 * any socket is bound or file opened (conventions rule 3). Everything opentracker switches at
 * compile time is a field here.
 *
 * Must not import server/.
 */

import { DEFAULTS } from "../types.ts";

/** One socket to bind. `host` is an address literal as Deno expects it (`::`, `127.0.0.1`). */
export interface Listener {
  readonly protocol: "tcp" | "udp";
  readonly host: string;
  readonly port: number;
}

/** The tracker's whole configuration. */
export interface Config {
  readonly listeners: readonly Listener[];
  /** Stats path without leading slash (`access.stats_path`). */
  readonly statsPath: string;
  /** Target of the 302 for `GET /` (`-r`, `tracker.redirect_url`), or null for 404. */
  readonly redirectUrl: string | null;
  /** `GET /scrape` without query is a full scrape (WANT_FULLSCRAPE). */
  readonly fullScrape: boolean;
  /** Honour `ip=` in announces (WANT_IP_FROM_QUERY_STRING). */
  readonly ipFromQuery: boolean;
  readonly announceIntervalSeconds: number;
  readonly announceVariationSeconds: number;
  readonly peerTimeoutMinutes: number;
  readonly torrentTimeoutMinutes: number;
  readonly httpNumwantDefault: number;
  readonly httpNumwantMax: number;
  readonly udpPeersV4Max: number;
  readonly udpPeersV6Max: number;
  readonly connectionIdLifetimeSeconds: number;
  readonly connectionIdToleranceSeconds: number;
}

/** Configuration with upstream defaults and the given listeners. */
export function defaultConfig(listeners: readonly Listener[] = []): Config {
  return Object.freeze({
    listeners: Object.freeze([...listeners]),
    statsPath: DEFAULTS.statsPath,
    redirectUrl: null,
    fullScrape: false,
    ipFromQuery: false,
    announceIntervalSeconds: DEFAULTS.announceIntervalSeconds,
    announceVariationSeconds: DEFAULTS.announceVariationSeconds,
    peerTimeoutMinutes: DEFAULTS.peerTimeoutMinutes,
    torrentTimeoutMinutes: DEFAULTS.torrentTimeoutMinutes,
    httpNumwantDefault: DEFAULTS.httpNumwantDefault,
    httpNumwantMax: DEFAULTS.httpNumwantMax,
    udpPeersV4Max: DEFAULTS.udpPeersV4Max,
    udpPeersV6Max: DEFAULTS.udpPeersV6Max,
    connectionIdLifetimeSeconds: DEFAULTS.connectionIdLifetimeSeconds,
    connectionIdToleranceSeconds: DEFAULTS.connectionIdToleranceSeconds,
  });
}
