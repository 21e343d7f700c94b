/**
 * Live sync without sockets: which local announces are told to the cluster (§8.3) and how a
 * received packet changes the swarm (§8.4). The sockets live in livesync_socket.ts.
 */

import {
  checkLivesync,
  LIVESYNC_DROP,
  LivesyncOutbox,
  openLivesync,
  readLivesyncRecord,
} from "../protocol/livesync.ts";
import { Counters } from "../stats/counters.ts";
import { AccessControl } from "../swarm/access.ts";
import { AnnounceResult, REPLY, Swarm } from "../swarm/swarm.ts";
import { AnnounceRequest, EVENT, PEER_FLAG, requestFlags } from "../types.ts";

/** opentracker's OT_CLIENT_SYNC_RENEW_BOUNDARY: renewals of younger peers are not re-sent. */
const RENEW_BOUNDARY_MINUTES = 10;

/**
 * Queues the local announce `req` (after the swarm handled it into `r`) for the cluster when
 * §8.3 says so: a new peer, a renewal of a peer older than 10 minutes, or a fresh completion.
 * Refused peers are not sent: they are not stored here either.
 */
export function tellAnnounce(
  outbox: LivesyncOutbox,
  req: AnnounceRequest,
  r: AnnounceResult,
): void {
  if (!r.isNewPeer && !r.completed && r.renewedAgeMinutes <= RENEW_BOUNDARY_MINUTES) return;
  outbox.add(req.infoHash, req.ip, req.port, requestFlags(req), performance.now());
}

/** Queues a stop: always, even for a peer or torrent this node does not know (§2.4). */
export function tellStop(outbox: LivesyncOutbox, req: AnnounceRequest): void {
  const flags = PEER_FLAG.stopped | (req.seeding ? PEER_FLAG.seeding : 0);
  outbox.add(req.infoHash, req.ip, req.port, flags, performance.now());
}

/** What {@link LivesyncReceiver} needs. */
export interface LivesyncReceiverOptions {
  swarm: Swarm;
  access: AccessControl;
  counters: Counters;
  /** Our 4-byte tracker id: packets carrying it are our own. */
  trackerId: Uint8Array;
  /** Whether a source address (16 bytes) may send sync packets. */
  trusted: (ip: Uint8Array) => boolean;
  /** Unicast transport: packets must carry a valid HMAC trailer with this key. */
  key: Uint8Array | null;
}

/** Applies received packets to the swarm. */
export class LivesyncReceiver {
  readonly #o: LivesyncReceiverOptions;
  readonly #req = new AnnounceRequest();
  readonly #result = new AnnounceResult();

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
    const r = this.#result;
    const nowMinutes = Math.floor(nowSeconds / 60);
    for (let i = 0; i < n; i++) {
      const flags = readLivesyncRecord(buf, i, req);
      req.seeding = (flags & PEER_FLAG.seeding) !== 0;
      req.numwant = 0;
      if (flags & PEER_FLAG.stopped) {
        req.event = EVENT.stopped;
        o.swarm.stop(req, r);
        continue;
      }
      req.event = flags & PEER_FLAG.completed ? EVENT.completed : EVENT.none;
      if (!o.access.allowed(req.infoHash, 0)) {
        c.livesyncRefused++;
        continue;
      }
      o.swarm.announce(req, nowMinutes, REPLY.none, true, r);
      if (r.completed) c.completed++;
    }
  }
}
