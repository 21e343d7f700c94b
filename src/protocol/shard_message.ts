/**
 * The records workers hand each other through their rings (util/spsc_ring.ts) when a request
 * reaches a worker that does not own its torrent (`tracker.workers` above 1). All integers
 * little-endian; byte 0 is the kind.
 *
 * | kind          | layout                                                                    |
 * | ------------- | ------------------------------------------------------------------------- |
 * | forwardUdp    | 1 listener, 2 sockaddr length, 4–31 sockaddr, 32… the datagram             |
 * | scrapeQuery   | 1 count, 2–3 from, 4–7 request id, 8… count × (position, 20-byte hash)     |
 * | scrapeAnswer  | 1 count, 4–7 request id, 8… count × (position, known, 2 pad, 3 × u32)      |
 * | httpAnnounce  | 1 event, 2–3 from, 4–7 request id, 8 hash, 28 ip, 44 port, 46 seeding,     |
 * |               | 47 has peer_id, 48 numwant, 52 peer_id                                    |
 * | httpReply     | 4–7 request id, 8… the reply body                                          |
 * | syncRecord    | 1 peer flags, 2–3 port (big-endian), 4 hash, 24 ip: a received live sync   |
 * |               | record for the owner of its torrent                                       |
 * | syncOut       | as syncRecord: a record to send to the cluster, for the worker with the    |
 * |               | live sync socket                                                          |
 * | wsMessage     | 2–3 from, 4–7 connection id, 8… a WebSocket message (UTF-8) for the owner  |
 * |               | of its torrent, from a connection of worker `from`                         |
 * | wsDeliver     | 4–7 connection id, 8… a message (UTF-8) for a connection of this worker    |
 * | wsClosed      | 2–3 from, 4–7 connection id: that connection closed, its peers go          |
 *
 * A forwarded datagram is answered by the owner from its own socket on the same address (the
 * listener index names it); the other kinds are answered to the worker named by `from`.
 *
 * Pure: no Deno APIs.
 */

import { AnnounceRequest } from "../types.ts";

/** Record kinds. */
export const SHARD_MESSAGE = {
  forwardUdp: 1,
  scrapeQuery: 2,
  scrapeAnswer: 3,
  httpAnnounce: 4,
  httpReply: 5,
  syncRecord: 6,
  syncOut: 7,
  wsMessage: 8,
  wsDeliver: 9,
  wsClosed: 10,
  httpAnnounceConn: 11,
} as const;

/** Bytes before a forwarded datagram. */
export const FORWARD_UDP_HEAD_BYTES = 32;
/** Largest sockaddr a forwarded datagram carries (sockaddr_in6). */
export const SOCKADDR_BYTES_MAX = 28;
/** Bytes before the entries of a scrape query or answer. */
export const SCRAPE_HEAD_BYTES = 8;
export const SCRAPE_QUERY_ENTRY_BYTES = 21;
export const SCRAPE_ANSWER_ENTRY_BYTES = 16;
/** Bytes of an HTTP announce record. */
export const HTTP_ANNOUNCE_BYTES = 72;
/** Bytes before an HTTP reply body. */
export const HTTP_REPLY_HEAD_BYTES = 8;

export function putU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 255;
  b[at + 1] = (v >>> 8) & 255;
  b[at + 2] = (v >>> 16) & 255;
  b[at + 3] = (v >>> 24) & 255;
}

export function getU32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}

/**
 * The request id of a scrape query or answer, HTTP announce or reply (the descriptor of an HTTP
 * announce with its connection).
 */
export function requestIdOf(b: Uint8Array, at: number): number {
  return getU32(b, at + 4);
}

/** The sending shard of a scrape query or HTTP announce. */
export function fromOf(b: Uint8Array, at: number): number {
  return b[at + 2] | (b[at + 3] << 8);
}

/** Writes a forwarded datagram's head at `b[at]` (the datagram follows at +32). */
export function writeForwardUdpHead(
  b: Uint8Array,
  at: number,
  listener: number,
  name: Uint8Array,
  nameOff: number,
  nameLen: number,
): void {
  b[at] = SHARD_MESSAGE.forwardUdp;
  b[at + 1] = listener;
  b[at + 2] = nameLen;
  b[at + 3] = 0;
  b.set(name.subarray(nameOff, nameOff + nameLen), at + 4);
}

/** Writes a scrape query's head; its `count` entries follow ({@link putScrapeQueryEntry}). */
export function writeScrapeHead(
  b: Uint8Array,
  at: number,
  kind: number,
  count: number,
  from: number,
  requestId: number,
): void {
  b[at] = kind;
  b[at + 1] = count;
  b[at + 2] = from & 255;
  b[at + 3] = from >>> 8;
  putU32(b, at + 4, requestId);
}

/** Writes entry `k` of a scrape query: the hash `h[ho..ho+20)` at position `pos` of the request. */
export function putScrapeQueryEntry(
  b: Uint8Array,
  at: number,
  k: number,
  pos: number,
  h: Uint8Array,
  ho: number,
): void {
  const e = at + SCRAPE_HEAD_BYTES + k * SCRAPE_QUERY_ENTRY_BYTES;
  b[e] = pos;
  b.set(h.subarray(ho, ho + 20), e + 1);
}

/** Writes entry `k` of a scrape answer. */
export function putScrapeAnswerEntry(
  b: Uint8Array,
  at: number,
  k: number,
  pos: number,
  counts: { seeders: number; leechers: number; downloaded: number } | null,
): void {
  const e = at + SCRAPE_HEAD_BYTES + k * SCRAPE_ANSWER_ENTRY_BYTES;
  b[e] = pos;
  b[e + 1] = counts === null ? 0 : 1;
  b[e + 2] = b[e + 3] = 0;
  putU32(b, e + 4, counts?.seeders ?? 0);
  putU32(b, e + 8, counts?.leechers ?? 0);
  putU32(b, e + 12, Math.min(counts?.downloaded ?? 0, 0xffffffff));
}

/** Reads entry `k` of a scrape answer into `out`; returns its position, or -1 when unknown. */
export function readScrapeAnswerEntry(
  b: Uint8Array,
  at: number,
  k: number,
  out: { seeders: number; leechers: number; downloaded: number },
): number {
  const e = at + SCRAPE_HEAD_BYTES + k * SCRAPE_ANSWER_ENTRY_BYTES;
  out.seeders = getU32(b, e + 4);
  out.leechers = getU32(b, e + 8);
  out.downloaded = getU32(b, e + 12);
  return b[e + 1] === 1 ? b[e] : -1 - b[e];
}

/** Writes an HTTP announce record for `req`. */
export function writeHttpAnnounce(
  b: Uint8Array,
  at: number,
  from: number,
  requestId: number,
  req: AnnounceRequest,
): void {
  b[at] = SHARD_MESSAGE.httpAnnounce;
  b[at + 1] = req.event;
  b[at + 2] = from & 255;
  b[at + 3] = from >>> 8;
  putU32(b, at + 4, requestId);
  b.set(req.infoHash, at + 8);
  b.set(req.ip, at + 28);
  b[at + 44] = req.port >>> 8;
  b[at + 45] = req.port & 255;
  b[at + 46] = req.seeding ? 1 : 0;
  b[at + 47] = req.hasPeerId ? 1 : 0;
  putU32(b, at + 48, req.numwant);
  b.set(req.peerId, at + 52);
}

/**
 * Writes an HTTP announce whose connection, descriptor `fd`, goes with it (the request was the
 * connection's last): the receiver writes the reply and closes the connection. Laid out as
 * {@link writeHttpAnnounce}, the descriptor in place of the request id.
 */
export function writeHttpAnnounceConn(
  b: Uint8Array,
  at: number,
  from: number,
  fd: number,
  req: AnnounceRequest,
): void {
  writeHttpAnnounce(b, at, from, fd, req);
  b[at] = SHARD_MESSAGE.httpAnnounceConn;
}

/** Reads an HTTP announce record into `req`. */
export function readHttpAnnounce(b: Uint8Array, at: number, req: AnnounceRequest): void {
  req.event = b[at + 1];
  req.infoHash.set(b.subarray(at + 8, at + 28));
  req.ip.set(b.subarray(at + 28, at + 44));
  req.port = (b[at + 44] << 8) | b[at + 45];
  req.seeding = b[at + 46] === 1;
  req.hasPeerId = b[at + 47] === 1;
  req.numwant = getU32(b, at + 48);
  req.peerId.set(b.subarray(at + 52, at + 72));
}

/** Writes an HTTP reply's head; the body follows at +8. */
export function writeHttpReplyHead(b: Uint8Array, at: number, requestId: number): void {
  b[at] = SHARD_MESSAGE.httpReply;
  b[at + 1] = b[at + 2] = b[at + 3] = 0;
  putU32(b, at + 4, requestId);
}

/** Bytes before the text of a WebSocket record (wsMessage, wsDeliver; all of wsClosed). */
export const WS_HEAD_BYTES = 8;

/** Writes the head of a WebSocket record of `kind` (its text follows at +8). */
export function writeWsHead(
  b: Uint8Array,
  at: number,
  kind: number,
  from: number,
  connectionId: number,
): void {
  b[at] = kind;
  b[at + 1] = 0;
  b[at + 2] = from & 255;
  b[at + 3] = from >>> 8;
  putU32(b, at + 4, connectionId);
}

/** Bytes of a live sync record (syncRecord, syncOut). */
export const SYNC_RECORD_BYTES = 40;

/** Writes a live sync record of `kind` for the 20-byte hash `h` and the 16-byte address `ip`. */
export function writeSyncRecord(
  b: Uint8Array,
  at: number,
  kind: number,
  h: Uint8Array,
  ip: Uint8Array,
  port: number,
  flags: number,
): void {
  b[at] = kind;
  b[at + 1] = flags;
  b[at + 2] = port >>> 8;
  b[at + 3] = port & 255;
  b.set(h.subarray(0, 20), at + 4);
  b.set(ip.subarray(0, 16), at + 24);
}

/** Reads a live sync record into `req` (hash, address, port); returns its peer flags. */
export function readSyncRecord(b: Uint8Array, at: number, req: AnnounceRequest): number {
  req.infoHash.set(b.subarray(at + 4, at + 24));
  req.ip.set(b.subarray(at + 24, at + 40));
  req.port = (b[at + 2] << 8) | b[at + 3];
  return b[at + 1];
}
