/**
 * BEP 15 (UDP tracker protocol) as opentracker implements it, both ways: the tracker parses
 * requests and writes replies, clients and load generators write requests and read replies.
 *
 * | request  | offset   | size | field                                    |
 * | -------- | -------- | ---- | ---------------------------------------- |
 * | all      | 0        | 8    | connection id (connect: protocol id)     |
 * | all      | 8        | 4    | action: 0 connect, 1 announce, 2 scrape  |
 * | all      | 12       | 4    | transaction id                           |
 * | announce | 16       | 20   | info_hash                                |
 * | announce | 36       | 20   | peer_id (counted by client software)     |
 * | announce | 56/64/72 | 8    | downloaded / left / uploaded             |
 * | announce | 80       | 4    | event: 1 completed, 2 started, 3 stopped |
 * | announce | 84/88    | 4    | ip (ignored) / key (ignored)             |
 * | announce | 92       | 4    | num_want (u32; -1 = default)             |
 * | announce | 96       | 2    | port                                     |
 * | scrape   | 16       | 20·n | info_hashes                              |
 *
 * | reply    | offset | size | field                                           |
 * | -------- | ------ | ---- | ----------------------------------------------- |
 * | all      | 0      | 4    | action (3 = error)                              |
 * | all      | 4      | 4    | transaction id, copied raw from the request     |
 * | connect  | 8      | 8    | connection id                                   |
 * | announce | 8/12/16 | 4   | interval / leechers / seeders                   |
 * | announce | 20     | 6·n or 18·n | peers of the requester's address family  |
 * | scrape   | 8 + 12k | 12  | seeders, completed, leechers of hash k          |
 * | error    | 8      | …    | message                                         |
 *
 * Pure: no Deno APIs.
 */

import { AnnounceRequest, EVENT, LIMITS } from "../types.ts";

export const ACTION = { connect: 0, announce: 1, scrape: 2, error: 3 } as const;

/** BEP 15 magic of a connect request: 0x41727101980. */
export const PROTOCOL_ID = Uint8Array.of(0x00, 0x00, 0x04, 0x17, 0x27, 0x10, 0x19, 0x80);

/** Bytes of a valid announce request. */
export const ANNOUNCE_REQUEST_BYTES = 98;
/** Reply header bytes of an announce. */
export const ANNOUNCE_REPLY_HEADER_BYTES = 20;
/** Bytes of a connect request and of its reply. */
export const CONNECT_BYTES = 16;
/** opentracker's only UDP error text, spelling included, sent with a trailing NUL. */
export const MISMATCH_TEXT = "Connection ID missmatch.";
/** Size of the mismatch error packet. */
export const MISMATCH_REPLY_BYTES = 8 + MISMATCH_TEXT.length + 1;

/**
 * What a datagram asks for, in opentracker's order of checks. `drop` and `shortAnnounce` get no
 * reply; `shortAnnounce` is dropped only after its connection id was checked (a wrong id still
 * gets the mismatch error, as in opentracker).
 */
export const UDP_REQUEST = {
  drop: 0,
  connect: 1,
  announce: 2,
  scrape: 3,
  shortAnnounce: 4,
} as const;

/** Reads a big-endian u32. */
export function readU32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

/** Writes a big-endian u32. */
export function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}

// ------------------------------------------------------------------ tracker side

/**
 * Reads the datagram `buf[0, len)`. Silent drops: shorter than 16 bytes, an unknown action, a
 * connect without the protocol id. An announce fills `req` (info_hash, port, event, seeding;
 * `numwant` as sent, the caller caps it); a scrape's hashes are {@link scrapeHashCount} whole
 * hashes from offset 16. The connection id is the caller's to verify (not for connects).
 */
export function parseUdpRequest(buf: Uint8Array, len: number, req: AnnounceRequest): number {
  if (len < 16) return UDP_REQUEST.drop;
  const action = readU32(buf, 8);
  if (action === ACTION.connect) {
    for (let i = 0; i < 8; i++) if (buf[i] !== PROTOCOL_ID[i]) return UDP_REQUEST.drop;
    return UDP_REQUEST.connect;
  }
  if (action === ACTION.scrape) return UDP_REQUEST.scrape;
  if (action !== ACTION.announce) return UDP_REQUEST.drop;
  if (len < ANNOUNCE_REQUEST_BYTES) return UDP_REQUEST.shortAnnounce;
  // A byte loop rather than set(subarray()): no allocation per datagram.
  const h = req.infoHash;
  for (let i = 0; i < 20; i++) h[i] = buf[16 + i];
  const id = req.peerId;
  for (let i = 0; i < 20; i++) id[i] = buf[36 + i];
  req.hasPeerId = true;
  let leftZero = true;
  for (let i = 64; i < 72; i++) if (buf[i] !== 0) leftZero = false;
  req.seeding = leftZero;
  const event = readU32(buf, 80);
  req.event = event === 1 ? EVENT.completed : event === 3 ? EVENT.stopped : EVENT.none;
  req.numwant = readU32(buf, 92);
  req.port = (buf[96] << 8) | buf[97];
  return UDP_REQUEST.announce;
}

/**
 * Whole hashes of a scrape of `len` bytes, at most 74 (BEP 15; opentracker takes 75 and reads a
 * trailing partial hash from stale memory).
 */
export function scrapeHashCount(len: number): number {
  return Math.min(Math.floor((len - 16) / 20), LIMITS.udpScrapeHashesMax);
}

/**
 * Whether a request of `len` bytes with a wrong connection id may get the mismatch error: only
 * when the error is no larger than the request, so that a spoofed source cannot be amplified.
 */
export function mayAnswerMismatch(len: number): boolean {
  return len >= MISMATCH_REPLY_BYTES;
}

/** Writes action and the raw transaction id of `req` (bytes 12..15) at `out[0..8)`. */
export function writeReplyHead(out: Uint8Array, action: number, req: Uint8Array): void {
  writeU32(out, 0, action);
  out[4] = req[12];
  out[5] = req[13];
  out[6] = req[14];
  out[7] = req[15];
}

/**
 * Writes the head of a connect reply; the caller writes the 8-byte connection id at offset 8.
 * Returns the reply's length.
 */
export function writeConnectReplyHead(req: Uint8Array, out: Uint8Array): number {
  writeReplyHead(out, ACTION.connect, req);
  return CONNECT_BYTES;
}

/** Writes the 20-byte head of an announce reply; peers follow at offset 20. */
export function writeAnnounceReplyHead(
  req: Uint8Array,
  out: Uint8Array,
  counts: { interval: number; leechers: number; seeders: number },
): number {
  writeReplyHead(out, ACTION.announce, req);
  writeU32(out, 8, counts.interval);
  writeU32(out, 12, counts.leechers);
  writeU32(out, 16, counts.seeders);
  return ANNOUNCE_REPLY_HEADER_BYTES;
}

/** Writes the counts of scraped hash `k` (zeros for an unknown torrent); returns the end. */
export function writeScrapeEntry(
  out: Uint8Array,
  k: number,
  counts: { seeders: number; downloaded: number; leechers: number } | null,
): number {
  const p = 8 + 12 * k;
  if (counts === null) {
    out.fill(0, p, p + 12);
  } else {
    writeU32(out, p, counts.seeders);
    writeU32(out, p + 4, counts.downloaded);
    writeU32(out, p + 8, counts.leechers);
  }
  return p + 12;
}

/** Writes the 33-byte `Connection ID missmatch.` error for `req`. Returns its length. */
export function writeMismatchReply(req: Uint8Array, out: Uint8Array): number {
  writeReplyHead(out, ACTION.error, req);
  for (let i = 0; i < MISMATCH_TEXT.length; i++) out[8 + i] = MISMATCH_TEXT.charCodeAt(i);
  out[8 + MISMATCH_TEXT.length] = 0;
  return MISMATCH_REPLY_BYTES;
}

/** Writes an error reply (action 3) with `text` and no trailing NUL (BEP 15). */
export function writeErrorReply(req: Uint8Array, out: Uint8Array, text: string): number {
  writeReplyHead(out, ACTION.error, req);
  for (let i = 0; i < text.length; i++) out[8 + i] = text.charCodeAt(i);
  return 8 + text.length;
}

// ------------------------------------------------------------------ client side

/** Options of an announce request written by {@link writeAnnounceRequest}. */
export interface AnnounceRequestFields {
  connectionId: Uint8Array;
  transactionId: number;
  infoHash: Uint8Array;
  peerId?: Uint8Array;
  /** Bytes left; 0 means seeder. Default 1. */
  left?: number;
  /** 0 none, 1 completed, 2 started, 3 stopped. Default 0. */
  event?: number;
  /** u32; 0xffffffff asks for the default. Default 50. */
  numwant?: number;
  port: number;
}

/** Writes a 16-byte connect request. */
export function writeConnectRequest(out: Uint8Array, transactionId: number): number {
  out.set(PROTOCOL_ID, 0);
  writeU32(out, 8, ACTION.connect);
  writeU32(out, 12, transactionId);
  return CONNECT_BYTES;
}

/** Writes a 98-byte announce request. */
export function writeAnnounceRequest(out: Uint8Array, f: AnnounceRequestFields): number {
  out.fill(0, 0, ANNOUNCE_REQUEST_BYTES);
  out.set(f.connectionId.subarray(0, 8), 0);
  writeU32(out, 8, ACTION.announce);
  writeU32(out, 12, f.transactionId);
  out.set(f.infoHash.subarray(0, 20), 16);
  if (f.peerId) out.set(f.peerId.subarray(0, 20), 36);
  const left = f.left ?? 1;
  writeU32(out, 64, Math.floor(left / 4294967296));
  writeU32(out, 68, left % 4294967296);
  writeU32(out, 80, f.event ?? 0);
  writeU32(out, 92, f.numwant ?? 50);
  out[96] = f.port >> 8;
  out[97] = f.port & 0xff;
  return ANNOUNCE_REQUEST_BYTES;
}

/** Writes a scrape request for the concatenated 20-byte `hashes`. */
export function writeScrapeRequest(
  out: Uint8Array,
  connectionId: Uint8Array,
  transactionId: number,
  hashes: Uint8Array,
): number {
  out.set(connectionId.subarray(0, 8), 0);
  writeU32(out, 8, ACTION.scrape);
  writeU32(out, 12, transactionId);
  out.set(hashes, 16);
  return 16 + hashes.length;
}

/** Throws unless `b[0, len)` is a reply with `action` of at least `min` bytes. */
function expectReply(b: Uint8Array, len: number, action: number, min: number, what: string): void {
  if (len < min || readU32(b, 0) !== action) {
    const got = len >= 4 ? readU32(b, 0) : -1;
    throw new SyntaxError(`Not ${what} (${len} bytes, action ${got})`);
  }
}

/** A decoded connect reply. */
export interface ConnectReply {
  transactionId: number;
  connectionId: Uint8Array;
}

/** Decodes a connect reply; throws when it is not one. */
export function readConnectReply(b: Uint8Array, len: number): ConnectReply {
  expectReply(b, len, ACTION.connect, CONNECT_BYTES, "a connect reply");
  return { transactionId: readU32(b, 4), connectionId: b.slice(8, 16) };
}

/** A decoded announce reply. */
export interface AnnounceReply {
  transactionId: number;
  interval: number;
  leechers: number;
  seeders: number;
  /** Peers in compact form (6 bytes each for IPv4, 18 for IPv6). */
  peers: Uint8Array;
}

/** Decodes an announce reply (action 1) of `len` bytes; throws when it is not one. */
export function readAnnounceReply(b: Uint8Array, len: number): AnnounceReply {
  expectReply(b, len, ACTION.announce, ANNOUNCE_REPLY_HEADER_BYTES, "an announce reply");
  return {
    transactionId: readU32(b, 4),
    interval: readU32(b, 8),
    leechers: readU32(b, 12),
    seeders: readU32(b, 16),
    peers: b.slice(ANNOUNCE_REPLY_HEADER_BYTES, len),
  };
}

/** One scraped torrent. */
export interface ScrapeReplyEntry {
  seeders: number;
  completed: number;
  leechers: number;
}

/** Decodes a scrape reply: one entry per 12 bytes after the head. */
export function readScrapeReply(
  b: Uint8Array,
  len: number,
): { transactionId: number; entries: ScrapeReplyEntry[] } {
  expectReply(b, len, ACTION.scrape, 8, "a scrape reply");
  const entries: ScrapeReplyEntry[] = [];
  for (let p = 8; p + 12 <= len; p += 12) {
    entries.push({
      seeders: readU32(b, p),
      completed: readU32(b, p + 4),
      leechers: readU32(b, p + 8),
    });
  }
  return { transactionId: readU32(b, 4), entries };
}

/** Decodes an error reply (action 3): its message, a trailing NUL removed. */
export function readErrorReply(
  b: Uint8Array,
  len: number,
): { transactionId: number; message: string } {
  expectReply(b, len, ACTION.error, 8, "an error reply");
  let end = len;
  if (end > 8 && b[end - 1] === 0) end--;
  let message = "";
  for (let i = 8; i < end; i++) message += String.fromCharCode(b[i]);
  return { transactionId: readU32(b, 4), message };
}
