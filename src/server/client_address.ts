/**
 * The HTTP client's address: the socket's, or — when the socket peer is a trusted proxy
 * (`access.proxy`, `-A`) — taken from X-Forwarded-For.
 *
 * Deviation from opentracker: opentracker trusts the left-most entry, which
 * the client writes itself when the proxy appends (as Cloudflare does), so any client could claim
 * any address. We walk the list from the right and take the first address that is not itself a
 * trusted proxy; an entry that does not parse stops the walk at the last trusted hop.
 */

import { parseIp } from "../util/ip.ts";

/** Resolves client addresses; one instance per server, reusing its scratch buffer. */
export class ClientAddress {
  readonly #trusted: (ip: Uint8Array) => boolean;
  readonly #scratch = new Uint8Array(16);

  constructor(trusted: (ip: Uint8Array) => boolean) {
    this.#trusted = trusted;
  }

  /**
   * Writes the client address into `out` (16 bytes): `socketIp` unless it is a trusted proxy and
   * `forwardedFor` (the X-Forwarded-For value, or null) names a client behind it.
   */
  resolve(socketIp: Uint8Array, forwardedFor: string | null, out: Uint8Array): void {
    out.set(socketIp);
    if (forwardedFor === null || !this.#trusted(socketIp)) return;
    let end = forwardedFor.length;
    while (end > 0) {
      const comma = forwardedFor.lastIndexOf(",", end - 1);
      let start = comma + 1;
      let stop = end;
      while (start < stop && (forwardedFor[start] === " " || forwardedFor[start] === "\t")) start++;
      while (stop > start && (forwardedFor[stop - 1] === " " || forwardedFor[stop - 1] === "\t")) {
        stop--;
      }
      if (forwardedFor[start] === "[" && forwardedFor[stop - 1] === "]") {
        start++;
        stop--;
      }
      if (!parseIp(forwardedFor, this.#scratch, 0, start, stop)) return;
      out.set(this.#scratch);
      if (!this.#trusted(this.#scratch)) return;
      end = comma < 0 ? 0 : comma;
    }
  }
}
