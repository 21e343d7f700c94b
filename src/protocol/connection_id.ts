/**
 * Stateless BEP 15 connection ids.
 *
 * opentracker's ids are a pure function of the client IP and never expire, and its key derives
 * from `srandom(time(NULL))`, so anyone can forge ids for any address. Ours carry their issue time and a MAC:
 *
 * | offset | size | field                                                          |
 * | ------ | ---- | -------------------------------------------------------------- |
 * | 0      | 4    | issue time, seconds since the Unix epoch, big-endian           |
 * | 4      | 4    | SipHash-2-4(key, issue time ‖ 16-byte client address), 32 bits |
 *
 * The key is 128 bits from a CSPRNG, chosen at start. Nothing is stored per client, so a connect
 * flood costs no memory. An id is accepted while `0 <= now - issued <= lifetime + tolerance`.
 *
 * Pure: no Deno APIs; time is passed in.
 */

import { DEFAULTS } from "../types.ts";
import { sipHash24, SipKey, sipOut } from "../util/siphash.ts";

/** Options for {@link ConnectionIds}. */
export interface ConnectionIdsOptions {
  /** BEP 15 validity. Default 120 s. */
  lifetimeSeconds?: number;
  /** Extra acceptance for clients that reuse ids past the lifetime. Default 240 s. */
  toleranceSeconds?: number;
}

/** Issues and verifies connection ids for one process lifetime. */
export class ConnectionIds {
  #key: SipKey;
  #maxAgeSeconds: number;
  #msg = new Uint8Array(20);

  /** `key` must be 16 bytes from a CSPRNG. */
  constructor(key: Uint8Array, options: ConnectionIdsOptions = {}) {
    this.#key = new SipKey(key);
    this.#maxAgeSeconds = (options.lifetimeSeconds ?? DEFAULTS.connectionIdLifetimeSeconds) +
      (options.toleranceSeconds ?? DEFAULTS.connectionIdToleranceSeconds);
  }

  #mac(issued: number, ip: Uint8Array, ipOff: number): number {
    const m = this.#msg;
    m[0] = issued >>> 24;
    m[1] = issued >>> 16;
    m[2] = issued >>> 8;
    m[3] = issued;
    for (let i = 0; i < 16; i++) m[4 + i] = ip[ipOff + i];
    sipHash24(this.#key, m, 0, 20);
    return sipOut.lo;
  }

  /** Writes a fresh 8-byte id for the 16-byte address `ip[ipOff..]` at `out[off..]`. */
  issue(ip: Uint8Array, ipOff: number, nowSeconds: number, out: Uint8Array, off: number): void {
    const issued = nowSeconds >>> 0;
    const mac = this.#mac(issued, ip, ipOff);
    out[off] = issued >>> 24;
    out[off + 1] = issued >>> 16;
    out[off + 2] = issued >>> 8;
    out[off + 3] = issued;
    out[off + 4] = mac >>> 24;
    out[off + 5] = mac >>> 16;
    out[off + 6] = mac >>> 8;
    out[off + 7] = mac;
  }

  /**
   * True when the 8 bytes at `id[off..]` were issued to `ip` by this process, not in the future
   * and not longer ago than lifetime + tolerance. The MAC comparison does not exit early.
   */
  verify(id: Uint8Array, off: number, ip: Uint8Array, ipOff: number, nowSeconds: number): boolean {
    const issued = ((id[off] << 24) | (id[off + 1] << 16) | (id[off + 2] << 8) | id[off + 3]) >>> 0;
    const age = nowSeconds - issued;
    const mac = this.#mac(issued, ip, ipOff);
    const given = ((id[off + 4] << 24) | (id[off + 5] << 16) | (id[off + 6] << 8) | id[off + 7]) >>>
      0;
    // Constant time over the MAC: the decision is taken on the combined difference.
    const diff = (mac ^ given) >>> 0;
    return (diff === 0) && age >= 0 && age <= this.#maxAgeSeconds;
  }
}
