/**
 * The live sync frontend: a received packet is checked (trust, then the HMAC of unicast, then
 * the header, protocol/livesync.ts) and its records applied through the tracker logic. The
 * sockets live in livesync_socket.ts; which local announces are told to the cluster is the
 * logic's rule.
 */

import {
  checkLivesync,
  LIVESYNC_DROP,
  openLivesync,
  readLivesyncRecord,
} from "../protocol/livesync.ts";
import { Counters } from "../stats/counters.ts";
import { TrackerLogic } from "../logic/tracker_logic.ts";
import { AnnounceRequest } from "../types.ts";

/** What {@link LivesyncReceiver} needs. */
export interface LivesyncReceiverOptions {
  logic: TrackerLogic;
  counters: Counters;
  /** Our 4-byte tracker id: packets carrying it are our own. */
  trackerId: Uint8Array;
  /** Whether a source address (16 bytes) may send sync packets. */
  trusted: (ip: Uint8Array) => boolean;
  /** Unicast transport: packets must carry a valid HMAC trailer with this key. */
  key: Uint8Array | null;
  /**
   * With several workers: applies one record (the owner of its torrent may be another worker);
   * `done` after each packet. Default: the logic applies every record here.
   */
  route?: { apply(req: AnnounceRequest, flags: number, nowSeconds: number): void; done(): void };
}

/** Applies received packets through the tracker logic. */
export class LivesyncReceiver {
  readonly #o: LivesyncReceiverOptions;
  readonly #req = new AnnounceRequest();

  constructor(o: LivesyncReceiverOptions) {
    this.#o = o;
  }

  /**
   * Handles one datagram of `len` bytes from `ip`. The trust check comes first and costs a
   * net lookup only, so a flood from elsewhere is dropped before any parsing or hashing.
   */
  receive(buf: Uint8Array, len: number, ip: Uint8Array, nowSeconds: number): void {
    const o = this.#o;
    const c = o.counters;
    if (!o.trusted(ip)) {
      c.livesyncUntrusted++;
      return;
    }
    if (o.key !== null) {
      len = openLivesync(buf, len, o.key, nowSeconds);
      if (len < 0) {
        c.livesyncUnauthenticated++;
        return;
      }
    }
    const n = checkLivesync(buf, len, o.trackerId);
    if (n === LIVESYNC_DROP.ownTrackerId) return;
    if (n < 0) {
      c.livesyncMalformed++;
      return;
    }
    c.livesyncPackets++;
    c.livesyncRecords += n;
    const req = this.#req;
    const route = o.route;
    for (let i = 0; i < n; i++) {
      const flags = readLivesyncRecord(buf, i, req);
      if (route) route.apply(req, flags, nowSeconds);
      else o.logic.applySync(req, flags, nowSeconds);
    }
    route?.done();
  }
}
