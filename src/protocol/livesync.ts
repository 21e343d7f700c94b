/**
 * Live sync packets, byte-compatible with opentracker's multicast cluster:
 *
 *   0  tracker id (4 raw bytes of the sender's random id)
 *   4  u32 BE type: 0 = PEER4 records (28 B), 1 = PEER6 records (40 B)
 *   8  records: info_hash[20] ip[4|16] port[2 BE] flags[1] age[1]
 *
 * plus, for the unicast transport, a trailer that opentracker does not know:
 *
 *   n     u32 BE send time (seconds since the epoch)
 *   n+4   HMAC-SHA256(key, bytes 0..n+4), 32 bytes
 *
 * Pure codec: no I/O. The batching of outgoing records (when a packet is flushed) is here too,
 * because it only decides on byte counts and times; the caller sends what it is handed.
 */

import { createHmac, timingSafeEqual } from "node:crypto";
import { AnnounceRequest, PEER_FLAG } from "../types.ts";
import { isV4Mapped } from "../util/ip.ts";

export const LIVESYNC = {
  /** opentracker's group (ot_livesync.c; its header comment and sample config disagree). */
  group: "224.0.23.5",
  port: 9696,
  /** Largest datagram, trailer included (one Ethernet frame minus IP and UDP headers). */
  packetBytesMax: 1480,
  headerBytes: 8,
  typePeer4: 0,
  typePeer6: 1,
  record4Bytes: 28,
  record6Bytes: 40,
  /** Send time and HMAC-SHA256 of the unicast transport. */
  trailerBytes: 36,
  /** A sealed packet older or newer than this is refused (bounds replays). */
  trailerSkewSeconds: 60,
} as const;

/** Bytes of one record in a packet of `type` (PEER4 or PEER6). */
export function livesyncRecordBytes(type: number): number {
  return type === LIVESYNC.typePeer4 ? LIVESYNC.record4Bytes : LIVESYNC.record6Bytes;
}

/** Flags a record may carry; FROM_SYNC and unknown bits are dropped on receipt. */
const RECORD_FLAGS = PEER_FLAG.seeding | PEER_FLAG.completed | PEER_FLAG.stopped;

/** Why a datagram was not applied (see {@link checkLivesync}). */
export const LIVESYNC_DROP = {
  malformed: -1,
  ownTrackerId: -2,
} as const;

/**
 * Checks a datagram's header and size; returns its record count, or a {@link LIVESYNC_DROP}
 * value. Unlike opentracker, which applies the whole records of a truncated packet, a packet
 * whose length is not a header plus whole records is dropped entirely: it was cut or forged.
 */
export function checkLivesync(buf: Uint8Array, len: number, ownId: Uint8Array): number {
  if (len <= LIVESYNC.headerBytes || len > LIVESYNC.packetBytesMax) return LIVESYNC_DROP.malformed;
  if (buf[4] !== 0 || buf[5] !== 0 || buf[6] !== 0) return LIVESYNC_DROP.malformed;
  const type = buf[7];
  if (type !== LIVESYNC.typePeer4 && type !== LIVESYNC.typePeer6) return LIVESYNC_DROP.malformed;
  const rec = livesyncRecordBytes(type);
  if ((len - LIVESYNC.headerBytes) % rec !== 0) return LIVESYNC_DROP.malformed;
  if (buf[0] === ownId[0] && buf[1] === ownId[1] && buf[2] === ownId[2] && buf[3] === ownId[3]) {
    return LIVESYNC_DROP.ownTrackerId;
  }
  return (len - LIVESYNC.headerBytes) / rec;
}

/**
 * Reads record `i` of a checked packet into `req` (address v4-mapped for PEER4 records) and
 * returns its flags (seeding, completed, stopped only).
 */
export function readLivesyncRecord(buf: Uint8Array, i: number, req: AnnounceRequest): number {
  const v4 = buf[7] === LIVESYNC.typePeer4;
  const rec = livesyncRecordBytes(buf[7]);
  let p = LIVESYNC.headerBytes + i * rec;
  req.infoHash.set(buf.subarray(p, p + 20));
  p += 20;
  if (v4) {
    req.ip.fill(0, 0, 10);
    req.ip[10] = 0xff;
    req.ip[11] = 0xff;
    req.ip.set(buf.subarray(p, p + 4), 12);
    p += 4;
  } else {
    req.ip.set(buf.subarray(p, p + 16));
    p += 16;
  }
  req.port = (buf[p] << 8) | buf[p + 1];
  return buf[p + 2] & RECORD_FLAGS;
}

/** Appends the HMAC trailer to the `len` bytes of `buf` (room for it needed); returns the length. */
export function sealLivesync(
  buf: Uint8Array,
  len: number,
  key: Uint8Array,
  nowSeconds: number,
): number {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  view.setUint32(len, nowSeconds >>> 0);
  const mac = createHmac("sha256", key).update(buf.subarray(0, len + 4)).digest();
  buf.set(mac, len + 4);
  return len + LIVESYNC.trailerBytes;
}

/**
 * Verifies the trailer of a sealed packet; returns the length of the packet without it, or
 * {@link LIVESYNC_DROP}.malformed when the MAC is wrong, the packet is too short or its time is
 * more than {@link LIVESYNC}.trailerSkewSeconds away from `nowSeconds`.
 */
export function openLivesync(
  buf: Uint8Array,
  len: number,
  key: Uint8Array,
  nowSeconds: number,
): number {
  const body = len - LIVESYNC.trailerBytes;
  if (body <= LIVESYNC.headerBytes) return LIVESYNC_DROP.malformed;
  const mac = createHmac("sha256", key).update(buf.subarray(0, body + 4)).digest();
  if (!timingSafeEqual(mac, buf.subarray(body + 4, len))) return LIVESYNC_DROP.malformed;
  const sent = new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(body);
  if (Math.abs(sent - (nowSeconds >>> 0)) > LIVESYNC.trailerSkewSeconds) {
    return LIVESYNC_DROP.malformed;
  }
  return body;
}

/**
 * Collects outgoing records in one buffer per family and hands a packet to `send` when the next
 * record would not fit (opentracker lets its IPv6 buffer overflow by 8 bytes) or
 * when {@link tick} finds records older than the flush delay. `send` must copy what it keeps.
 */
export class LivesyncOutbox {
  readonly #bufs: [Uint8Array, Uint8Array];
  readonly #used = [0, 0];
  readonly #firstAtMs = [0, 0];
  readonly #capacity: number;
  readonly #delayMs: number;
  readonly #send: (packet: Uint8Array) => void;

  /**
   * @param trackerId our 4-byte id, written into every packet
   * @param trailerBytes room kept free for a trailer (0 for multicast)
   */
  constructor(
    trackerId: Uint8Array,
    trailerBytes: number,
    flushDelayMs: number,
    send: (packet: Uint8Array) => void,
  ) {
    this.#capacity = LIVESYNC.packetBytesMax - trailerBytes;
    this.#delayMs = flushDelayMs;
    this.#send = send;
    this.#bufs = [new Uint8Array(LIVESYNC.packetBytesMax), new Uint8Array(LIVESYNC.packetBytesMax)];
    for (let f = 0; f < 2; f++) {
      this.#bufs[f].set(trackerId.subarray(0, 4));
      this.#bufs[f][7] = f === 0 ? LIVESYNC.typePeer4 : LIVESYNC.typePeer6;
      this.#used[f] = LIVESYNC.headerBytes;
    }
  }

  /** Queues one record; `ip` is 16 bytes, v4-mapped for IPv4 peers. */
  add(infoHash: Uint8Array, ip: Uint8Array, port: number, flags: number, nowMs: number): void {
    const f = isV4Mapped(ip, 0) ? 0 : 1;
    const rec = livesyncRecordBytes(f); // the family index is the packet type
    const buf = this.#bufs[f];
    let p = this.#used[f];
    if (p === LIVESYNC.headerBytes) this.#firstAtMs[f] = nowMs;
    buf.set(infoHash.subarray(0, 20), p);
    p += 20;
    if (f === 0) {
      buf.set(ip.subarray(12, 16), p);
      p += 4;
    } else {
      buf.set(ip.subarray(0, 16), p);
      p += 16;
    }
    buf[p] = port >>> 8;
    buf[p + 1] = port & 0xff;
    buf[p + 2] = flags & RECORD_FLAGS;
    buf[p + 3] = 0;
    this.#used[f] = p + 4;
    if (this.#used[f] + rec > this.#capacity) this.#flush(f);
  }

  /** Flushes every buffer whose oldest record has waited the flush delay. */
  tick(nowMs: number): void {
    for (let f = 0; f < 2; f++) {
      if (this.#used[f] > LIVESYNC.headerBytes && nowMs - this.#firstAtMs[f] >= this.#delayMs) {
        this.#flush(f);
      }
    }
  }

  /** Sends whatever is queued (at shutdown). */
  flushAll(): void {
    for (let f = 0; f < 2; f++) if (this.#used[f] > LIVESYNC.headerBytes) this.#flush(f);
  }

  #flush(f: number): void {
    const n = this.#used[f];
    this.#used[f] = LIVESYNC.headerBytes;
    this.#send(this.#bufs[f].subarray(0, n));
  }
}
