/**
 * HTTP reply bodies byte for byte as opentracker writes them (announce, scrape, error pages), into a
 * caller-owned buffer with a hand-rolled bencode emitter: the key order is fixed, so a generic
 * encoder would only add work.
 *
 * Pure: no Deno APIs.
 */

/** An opentracker error page: status, reason phrase and body. */
export interface ErrorPage {
  readonly status: number;
  readonly reason: string;
  readonly body: string;
}

/** The error pages opentracker sends, by name. */
export const ERROR_PAGE = {
  badRequest: { status: 400, reason: "Invalid Request", body: "<title>Invalid Request</title>\n" },
  paymentRequired: {
    status: 402,
    reason: "Payment Required",
    body: "<title>Payment Required</title>\n",
  },
  accessDenied: { status: 403, reason: "Access Denied", body: "<title>Access Denied</title>\n" },
  notFound: { status: 404, reason: "Not Found", body: "<title>Not Found</title>\n" },
  serverError: {
    status: 500,
    reason: "Internal Server Error",
    body: "<title>Internal Server Error</title>\n",
  },
  /** Ours (opentracker never sends 503): too many full scrapes are streaming. */
  unavailable: {
    status: 503,
    reason: "Service Unavailable",
    body: "<title>Service Unavailable</title>\n",
  },
} as const satisfies Record<string, ErrorPage>;

/** Failure reason for an announce without info_hash (a 200, as opentracker sends it). */
export const FAILURE_NO_INFO_HASH =
  "d14:failure reason80:Your client forgot to send your torrent's info_hash. Please upgrade your client.e";
/** Failure reason for a torrent refused by the access list (a 200, as opentracker sends it). */
export const FAILURE_NOT_AUTHORIZED =
  "d14:failure reason63:Requested download is not authorized for use with this tracker.e";

/** Writes ASCII `text` at `out[off]`; returns the new offset. */
export function putAscii(out: Uint8Array, off: number, text: string): number {
  for (let i = 0; i < text.length; i++) out[off + i] = text.charCodeAt(i);
  return off + text.length;
}

/** Writes the decimal digits of the non-negative integer `n`; returns the new offset. */
export function putUint(out: Uint8Array, off: number, n: number): number {
  if (n < 10) {
    out[off] = 48 + n;
    return off + 1;
  }
  let digits = 1;
  for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
  let x = n;
  for (let i = off + digits - 1; i >= off; i--) {
    out[i] = 48 + (x % 10);
    x = Math.floor(x / 10);
  }
  return off + digits;
}

/** Writes `i<n>e`. */
function putInt(out: Uint8Array, off: number, n: number): number {
  out[off] = 105; // i
  off = putUint(out, off + 1, n);
  out[off] = 101; // e
  return off + 1;
}

/**
 * An announce reply's content: counts, interval, and its peers, which the writer asks for at
 * their place in the body so that they are copied once, straight into the reply buffer.
 */
export interface AnnounceBody {
  seeders: number;
  leechers: number;
  downloaded: number;
  interval: number;
  /** IPv4 and IPv6 peers the reply takes. */
  n4: number;
  n6: number;
  /** Writes the peers of family `f` (0: IPv4, 6 bytes each; 1: IPv6, 18) at `out[off..]`. */
  writePeers(f: number, out: Uint8Array, off: number): number;
}

/**
 * Writes opentracker's announce body: counts, interval, min interval = interval/2, then `peers`
 * and `peers6` only when non-empty. Returns the end offset.
 */
export function writeAnnounceBody(out: Uint8Array, off: number, r: AnnounceBody): number {
  off = putAscii(out, off, "d8:complete");
  off = putInt(out, off, r.seeders);
  off = putAscii(out, off, "10:downloaded");
  off = putInt(out, off, r.downloaded);
  off = putAscii(out, off, "10:incomplete");
  off = putInt(out, off, r.leechers);
  off = putAscii(out, off, "8:interval");
  off = putInt(out, off, r.interval);
  off = putAscii(out, off, "12:min interval");
  off = putInt(out, off, Math.floor(r.interval / 2));
  if (r.n4 > 0) {
    off = putAscii(out, off, "5:peers");
    off = putUint(out, off, r.n4 * 6);
    out[off++] = 58; // :
    off = r.writePeers(0, out, off);
  }
  if (r.n6 > 0) {
    off = putAscii(out, off, "6:peers6");
    off = putUint(out, off, r.n6 * 18);
    out[off++] = 58;
    off = r.writePeers(1, out, off);
  }
  out[off] = 101; // e
  return off + 1;
}

/**
 * Writes opentracker's stop body: no `downloaded`, and an empty peer string of the requester's
 * family. Returns the end offset.
 */
export function writeStopBody(
  out: Uint8Array,
  off: number,
  r: { seeders: number; leechers: number },
  interval: number,
  v6: boolean,
): number {
  off = putAscii(out, off, "d8:complete");
  off = putInt(out, off, r.seeders);
  off = putAscii(out, off, "10:incomplete");
  off = putInt(out, off, r.leechers);
  off = putAscii(out, off, "8:interval");
  off = putInt(out, off, interval);
  off = putAscii(out, off, "12:min interval");
  off = putInt(out, off, Math.floor(interval / 2));
  return putAscii(out, off, v6 ? "6:peers60:e" : "5:peers0:e");
}

/** Start of a scrape body. */
export function writeScrapeHead(out: Uint8Array, off: number): number {
  return putAscii(out, off, "d5:filesd");
}

/** One scrape entry: `20:<hash>d8:completei..e10:downloadedi..e10:incompletei..ee`. */
export function writeScrapeEntry(
  out: Uint8Array,
  off: number,
  hash: Uint8Array,
  hashOff: number,
  c: { seeders: number; leechers: number; downloaded: number },
): number {
  off = putAscii(out, off, "20:");
  out.set(hash.subarray(hashOff, hashOff + 20), off);
  off = putAscii(out, off + 20, "d8:complete");
  off = putInt(out, off, c.seeders);
  off = putAscii(out, off, "10:downloaded");
  off = putInt(out, off, c.downloaded);
  off = putAscii(out, off, "10:incomplete");
  off = putInt(out, off, c.leechers);
  out[off] = 101; // e: end of this torrent's dictionary
  return off + 1;
}

/** End of a scrape body. */
export function writeScrapeTail(out: Uint8Array, off: number): number {
  return putAscii(out, off, "ee");
}
