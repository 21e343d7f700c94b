/**
 * The WebSocket tracker protocol of WebTorrent clients (npm `bittorrent-tracker` is the
 * reference; `aquatic_ws` speaks it too): JSON text messages over a WebSocket. Parses what a
 * client sends into a checked request, and writes what the tracker sends.
 *
 * | client → tracker | fields                                                                |
 * | ---------------- | --------------------------------------------------------------------- |
 * | announce         | `info_hash`, `peer_id` (20-character binary strings), `event`, `left`, `numwant`, `offers: [{offer_id, offer: {type: "offer", sdp}}]`; or an answer to an offer: `answer: {type: "answer", sdp}`, `to_peer_id`, `offer_id` |
 * | scrape           | `info_hash`: one binary string, a list, or none (every torrent)       |
 *
 * | tracker → client | fields                                                                |
 * | ---------------- | --------------------------------------------------------------------- |
 * | announce reply   | `action`, `interval`, `info_hash`, `complete`, `incomplete`           |
 * | a relayed offer  | `action`, `offer`, `offer_id`, `peer_id` (the offerer), `info_hash`   |
 * | a relayed answer | `action`, `answer`, `offer_id`, `peer_id` (the answerer), `info_hash` |
 * | scrape reply     | `action`, `files: {<info_hash>: {complete, incomplete, downloaded}}`  |
 * | error            | `failure reason` (and `action`, `info_hash` when known)               |
 *
 * A binary string carries one byte per UTF-16 code unit (0–255), as the clients write it. Offers
 * and answers are relayed with their `type` and `sdp` only (anything else a client adds is
 * dropped), and are bounded: at most {@link WsLimits.offersMax} offers of at most
 * {@link WsLimits.sdpBytesMax} characters of SDP each.
 *
 * Pure: no Deno APIs.
 */

import { EVENT } from "../types.ts";

/** Bounds on what a message may carry. */
export interface WsLimits {
  /** Offers one announce may carry (more is an error). */
  readonly offersMax: number;
  /** Characters of one offer's or answer's SDP. */
  readonly sdpBytesMax: number;
  /** Hashes one scrape may name. */
  readonly scrapeHashesMax: number;
}

/** The defaults: aquatic_ws's offer count, and SDP far above what browsers write (~1–3 KiB). */
export const WS_LIMITS: WsLimits = { offersMax: 10, sdpBytesMax: 16_384, scrapeHashesMax: 64 };

/** A WebRTC session description, as relayed. */
export interface Sdp {
  readonly type: "offer" | "answer";
  readonly sdp: string;
}

/** One offer of an announce: relayed to one other peer of the torrent. */
export interface WsOffer {
  /** 20-character binary string, echoed back with the answer. */
  readonly offerId: string;
  readonly offer: Sdp;
}

/** A checked announce. */
export interface WsAnnounce {
  readonly kind: "announce";
  readonly infoHash: Uint8Array;
  readonly peerId: Uint8Array;
  /**
   * The same two as the binary strings the client sent: the swarm's keys and what the messages
   * about this announce carry (kept, not rebuilt from the bytes for each use).
   */
  readonly hashKey: string;
  readonly peerKey: string;
  /** One of EVENT. */
  readonly event: number;
  /** `left` was 0. */
  readonly seeding: boolean;
  /** Peers to relay offers to: the number of offers (bounded), as bittorrent-tracker does. */
  readonly numwant: number;
  readonly offers: readonly WsOffer[];
  /**
   * An answer to relay to the peer `toPeerKey` (its peer_id as a binary string) for its offer
   * `offerId`; null in a plain announce.
   */
  readonly answer:
    | { readonly toPeerKey: string; readonly offerId: string; readonly answer: Sdp }
    | null;
}

/** A checked scrape: the hashes (20 bytes each), none for every torrent. */
export interface WsScrape {
  readonly kind: "scrape";
  readonly infoHashes: readonly Uint8Array[];
}

/** What {@link parseWsMessage} returns for a message it refuses. */
export interface WsError {
  readonly kind: "error";
  /** The text for the client's `failure reason`. */
  readonly reason: string;
  /** The action, when the message named a known one (the error names it back). */
  readonly action: "announce" | "scrape" | null;
  /** The info_hash, when it was readable. */
  readonly infoHash: Uint8Array | null;
}

/** True when `v` is a 20-character binary string (every code unit a byte). */
function isBinaryString(v: unknown): v is string {
  if (typeof v !== "string" || v.length !== 20) return false;
  for (let i = 0; i < 20; i++) if (v.charCodeAt(i) > 255) return false;
  return true;
}

/** The bytes of a 20-character binary string, or null. */
export function binaryString(v: unknown): Uint8Array | null {
  if (!isBinaryString(v)) return null;
  const out = new Uint8Array(20);
  for (let i = 0; i < 20; i++) out[i] = v.charCodeAt(i);
  return out;
}

/** The binary string of `bytes[off, off + 20)`. */
export function toBinaryString(bytes: Uint8Array, off = 0): string {
  // A loop of one-character appends: V8 builds the 20 characters without the argument list a
  // spread into fromCharCode would (measured: a sixth of a WebSocket announce's cost).
  let s = "";
  for (let i = off; i < off + 20; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

function sdpOf(v: unknown, type: "offer" | "answer", limits: WsLimits): Sdp | string {
  if (typeof v !== "object" || v === null) return `invalid ${type}`;
  const o = v as Record<string, unknown>;
  if (o.type !== type) return `invalid ${type}: type must be "${type}"`;
  if (typeof o.sdp !== "string") return `invalid ${type}: sdp must be a string`;
  if (o.sdp.length > limits.sdpBytesMax) {
    return `invalid ${type}: sdp longer than ${limits.sdpBytesMax} characters`;
  }
  return { type, sdp: o.sdp };
}

const EVENTS: Record<string, number> = {
  started: EVENT.started,
  completed: EVENT.completed,
  stopped: EVENT.stopped,
  update: EVENT.none,
  "": EVENT.none,
};

const utf8Encoder = new TextEncoder();
const INFO_HASH_KEY = utf8Encoder.encode('"info_hash"');
const ACTION_KEY = utf8Encoder.encode('"action"');
const ANNOUNCE_VALUE = utf8Encoder.encode('"announce"');
/** Longest JSON string of 20 binary characters: the quotes and `\u00XX` for each. */
const HASH_STRING_BYTES_MAX = 2 + 6 * 20;
const utf8Decoder = new TextDecoder();

function isJsonSpace(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
}

/** True when `utf8[at, at + word.length)` is `word`. */
function bytesAt(utf8: Uint8Array, at: number, word: Uint8Array): boolean {
  if (at < 0 || at + word.length > utf8.length) return false;
  for (let i = 0; i < word.length; i++) if (utf8[at + i] !== word[i]) return false;
  return true;
}

/** Where the value of the first `key` (a quoted name) followed by a colon starts, or -1. */
function valueOf(utf8: Uint8Array, key: Uint8Array): number {
  // A byte loop: a typed array's indexOf enters the runtime's C++ on every call.
  for (let at = 0; at < utf8.length; at++) {
    if (utf8[at] !== 0x22 || !bytesAt(utf8, at, key)) continue;
    let i = at + key.length;
    while (i < utf8.length && isJsonSpace(utf8[i])) i++;
    if (utf8[i] !== 0x3a) continue;
    i++;
    while (i < utf8.length && isJsonSpace(utf8[i])) i++;
    return i;
  }
  return -1;
}

/**
 * The info_hash of an announce, read without parsing the whole message (its SDP offers are most
 * of its bytes): what a worker needs to hand the message to the worker that owns the torrent.
 * Null unless the message plainly says `"action":"announce"` and gives `"info_hash"` a string of
 * 20 binary characters. The first occurrence of each name counts, where JSON.parse takes the
 * last: the owner parses the message whole and refuses one that names another torrent.
 */
export function announceHashOf(utf8: Uint8Array): Uint8Array | null {
  if (!bytesAt(utf8, valueOf(utf8, ACTION_KEY), ANNOUNCE_VALUE)) return null;
  const start = valueOf(utf8, INFO_HASH_KEY);
  if (start < 0 || utf8[start] !== 0x22) return null;
  const last = Math.min(utf8.length, start + HASH_STRING_BYTES_MAX);
  for (let i = start + 1; i < last; i++) {
    if (utf8[i] === 0x5c) i++; // an escape: the next byte is never the closing quote
    else if (utf8[i] === 0x22) {
      let value: unknown;
      try {
        value = JSON.parse(utf8Decoder.decode(utf8.subarray(start, i + 1)));
      } catch {
        return null;
      }
      return binaryString(value);
    }
  }
  return null;
}

/** Parses one text message. Never throws. */
export function parseWsMessage(
  text: string,
  limits: WsLimits = WS_LIMITS,
): WsAnnounce | WsScrape | WsError {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    return { kind: "error", reason: "invalid JSON", action: null, infoHash: null };
  }
  if (typeof m !== "object" || m === null || Array.isArray(m)) {
    return {
      kind: "error",
      reason: "a message must be a JSON object",
      action: null,
      infoHash: null,
    };
  }
  const o = m as Record<string, unknown>;
  if (o.action === "announce") return parseAnnounce(o, limits);
  if (o.action === "scrape") return parseScrape(o, limits);
  const action = typeof o.action === "string" ? JSON.stringify(o.action.slice(0, 32)) : "missing";
  return { kind: "error", reason: `invalid action: ${action}`, action: null, infoHash: null };
}

function parseAnnounce(o: Record<string, unknown>, limits: WsLimits): WsAnnounce | WsError {
  const fail = (reason: string, infoHash: Uint8Array | null = null): WsError => ({
    kind: "error",
    reason,
    action: "announce",
    infoHash,
  });
  const infoHash = binaryString(o.info_hash);
  if (infoHash === null) return fail("invalid info_hash");
  const peerId = binaryString(o.peer_id);
  if (peerId === null) return fail("invalid peer_id", infoHash);
  const event = o.event === undefined ? EVENT.none : EVENTS[String(o.event)];
  if (event === undefined) return fail("invalid event", infoHash);
  const left = Number(o.left);
  const offers: WsOffer[] = [];
  if (o.offers !== undefined) {
    if (!Array.isArray(o.offers)) return fail("invalid offers: must be a list", infoHash);
    if (o.offers.length > limits.offersMax) {
      return fail(`too many offers: at most ${limits.offersMax}`, infoHash);
    }
    for (const item of o.offers) {
      const entry = (typeof item === "object" && item !== null ? item : {}) as Record<
        string,
        unknown
      >;
      if (!isBinaryString(entry.offer_id)) return fail("invalid offer_id", infoHash);
      const offer = sdpOf(entry.offer, "offer", limits);
      if (typeof offer === "string") return fail(offer, infoHash);
      offers.push({ offerId: entry.offer_id as string, offer });
    }
  }
  let answer: WsAnnounce["answer"] = null;
  if (o.answer !== undefined) {
    const toPeerKey = o.to_peer_id;
    if (!isBinaryString(toPeerKey)) {
      return fail("invalid to_peer_id (required with answer)", infoHash);
    }
    if (!isBinaryString(o.offer_id)) return fail("invalid offer_id", infoHash);
    const sdp = sdpOf(o.answer, "answer", limits);
    if (typeof sdp === "string") return fail(sdp, infoHash);
    answer = { toPeerKey, offerId: o.offer_id as string, answer: sdp };
  }
  return {
    kind: "announce",
    infoHash,
    peerId,
    hashKey: o.info_hash as string,
    peerKey: o.peer_id as string,
    event,
    seeding: left === 0,
    numwant: offers.length,
    offers,
    answer,
  };
}

function parseScrape(o: Record<string, unknown>, limits: WsLimits): WsScrape | WsError {
  const fail = (reason: string): WsError => ({
    kind: "error",
    reason,
    action: "scrape",
    infoHash: null,
  });
  const v = o.info_hash;
  if (v === undefined) return { kind: "scrape", infoHashes: [] };
  const list = Array.isArray(v) ? v : [v];
  if (list.length > limits.scrapeHashesMax) {
    return fail(`too many info_hashes: at most ${limits.scrapeHashesMax}`);
  }
  const infoHashes: Uint8Array[] = [];
  for (const item of list) {
    const h = binaryString(item);
    if (h === null) return fail("invalid info_hash");
    infoHashes.push(h);
  }
  return { kind: "scrape", infoHashes };
}

/** The reply to an announce (`hashKey`: the info_hash as a binary string). */
export function writeAnnounceReply(
  hashKey: string,
  complete: number,
  incomplete: number,
  intervalSeconds: number,
): string {
  return JSON.stringify({
    action: "announce",
    interval: intervalSeconds,
    info_hash: hashKey,
    complete,
    incomplete,
  });
}

/** An offer relayed from the peer `fromPeerKey` to another peer of the torrent `hashKey`. */
export function writeOffer(hashKey: string, fromPeerKey: string, offer: WsOffer): string {
  return JSON.stringify({
    action: "announce",
    offer: offer.offer,
    offer_id: offer.offerId,
    peer_id: fromPeerKey,
    info_hash: hashKey,
  });
}

/** An answer relayed from the peer `fromPeerKey` to the peer that made the offer. */
export function writeAnswer(
  hashKey: string,
  fromPeerKey: string,
  offerId: string,
  answer: Sdp,
): string {
  return JSON.stringify({
    action: "announce",
    answer,
    offer_id: offerId,
    peer_id: fromPeerKey,
    info_hash: hashKey,
  });
}

/** Scrape counts of one torrent (`hashKey`: its info_hash as a binary string). */
export interface WsScrapeEntry {
  readonly hashKey: string;
  readonly complete: number;
  readonly incomplete: number;
  readonly downloaded: number;
}

/** The reply to a scrape. */
export function writeScrapeReply(entries: readonly WsScrapeEntry[]): string {
  const files: Record<string, { complete: number; incomplete: number; downloaded: number }> = {};
  for (const e of entries) {
    files[e.hashKey] = {
      complete: e.complete,
      incomplete: e.incomplete,
      downloaded: e.downloaded,
    };
  }
  return JSON.stringify({ action: "scrape", files });
}

/** An error for the client, naming the action and torrent when known. */
export function writeError(e: Pick<WsError, "reason" | "action" | "infoHash">): string {
  return JSON.stringify({
    ...(e.action === null ? {} : { action: e.action }),
    "failure reason": e.reason,
    ...(e.infoHash === null ? {} : { info_hash: toBinaryString(e.infoHash) }),
  });
}
