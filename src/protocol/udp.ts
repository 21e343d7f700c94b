/**
 * BEP 15 (UDP tracker protocol) as opentracker implements it (§4): field offsets, request
 * writers for clients and load generators, reply writers for the tracker, reply readers for tests.
 *
 * | request  | offset | size | field                                  |
 * | -------- | ------ | ---- | -------------------------------------- |
 * | all      | 0      | 8    | connection id (connect: protocol id)   |
 * | all      | 8      | 4    | action: 0 connect, 1 announce, 2 scrape |
 * | all      | 12     | 4    | transaction id                         |
 * | announce | 16     | 20   | info_hash                              |
 * | announce | 36     | 20   | peer_id (ignored)                      |
 * | announce | 56/64/72 | 8  | downloaded / left / uploaded           |
 * | announce | 80     | 4    | event: 1 completed, 2 started, 3 stopped |
 * | announce | 84/88  | 4    | ip (ignored) / key (ignored)           |
 * | announce | 92     | 4    | num_want (u32; -1 = default)           |
 * | announce | 96     | 2    | port                                   |
 * | scrape   | 16     | 20·n | info_hashes                            |
 *
 * Pure: no Deno APIs.
 */

export const ACTION = { connect: 0, announce: 1, scrape: 2, error: 3 } as const;

/** BEP 15 magic of a connect request: 0x41727101980. */
export const PROTOCOL_ID = Uint8Array.of(0x00, 0x00, 0x04, 0x17, 0x27, 0x10, 0x19, 0x80);

/** Bytes of a valid announce request. */
export const ANNOUNCE_REQUEST_BYTES = 98;
/** Reply header bytes of an announce. */
export const ANNOUNCE_REPLY_HEADER_BYTES = 20;
/** opentracker's only UDP error text, spelling included, sent with a trailing NUL (§4.6). */
export const MISMATCH_TEXT = "Connection ID missmatch.";
/** Size of the mismatch error packet. */
export const MISMATCH_REPLY_BYTES = 8 + MISMATCH_TEXT.length + 1;

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

/** True when bytes 0..7 are the connect magic. */
export function hasProtocolId(b: Uint8Array): boolean {
  for (let i = 0; i < 8; i++) if (b[i] !== PROTOCOL_ID[i]) return false;
  return true;
}

/** Copies the transaction id (bytes 12..15) of `req` to `out[4..8)`, raw. */
export function copyTransactionId(req: Uint8Array, out: Uint8Array): void {
  out[4] = req[12];
  out[5] = req[13];
  out[6] = req[14];
  out[7] = req[15];
}

/** Writes the 33-byte `Connection ID missmatch.` error for `req`. Returns its length. */
export function writeMismatchReply(req: Uint8Array, out: Uint8Array): number {
  writeU32(out, 0, ACTION.error);
  copyTransactionId(req, out);
  for (let i = 0; i < MISMATCH_TEXT.length; i++) out[8 + i] = MISMATCH_TEXT.charCodeAt(i);
  out[8 + MISMATCH_TEXT.length] = 0;
  return MISMATCH_REPLY_BYTES;
}

/** Writes an error reply (action 3) with `text` and no trailing NUL (BEP 15). */
export function writeErrorReply(req: Uint8Array, out: Uint8Array, text: string): number {
  writeU32(out, 0, ACTION.error);
  copyTransactionId(req, out);
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
  return 16;
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

/** A decoded announce reply. */
export interface AnnounceReply {
  transactionId: number;
  interval: number;
  leechers: number;
  seeders: number;
  /** Peers as `ip:port` text, family decided by `v6`. */
  peers: Uint8Array;
}

/** Decodes an announce reply (action 1) of `len` bytes; throws when it is not one. */
export function readAnnounceReply(b: Uint8Array, len: number): AnnounceReply {
  if (len < ANNOUNCE_REPLY_HEADER_BYTES || readU32(b, 0) !== ACTION.announce) {
    throw new SyntaxError(`Not an announce reply (${len} bytes, action ${readU32(b, 0)})`);
  }
  return {
    transactionId: readU32(b, 4),
    interval: readU32(b, 8),
    leechers: readU32(b, 12),
    seeders: readU32(b, 16),
    peers: b.slice(20, len),
  };
}
