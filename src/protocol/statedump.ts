/**
 * opentracker's statedump: one line per torrent, `<40 upper-case hex>:<base>:<downloaded>\n`,
 * where `base` is the minute (since the epoch) of the torrent's IPv6 list's last announce or
 * cleaning and `downloaded` its completed downloads. No peers. `/stats?mode=statedump` writes
 * it; `-l FILE` reads it back at start.
 *
 * Unlike opentracker, a line with invalid hex is an error rather than silently half-parsed, and
 * errors are reported with their line numbers.
 *
 * Pure: no Deno APIs.
 */

import { hexDigit, putHexUpper } from "../util/hex.ts";
import { putUint } from "./http_response.ts";

/** One parsed statedump line. */
export interface StatedumpLine {
  readonly hash: Uint8Array;
  readonly baseMinutes: number;
  readonly downloaded: number;
}

/** Writes the line of the torrent `hash[ho..ho+20)`; returns the new offset. */
export function writeStatedumpLine(
  out: Uint8Array,
  off: number,
  hash: Uint8Array,
  ho: number,
  e: { baseMinutes: number; downloaded: number },
): number {
  off = putHexUpper(out, off, hash, ho, 20);
  out[off++] = 58; // :
  off = putUint(out, off, e.baseMinutes);
  out[off++] = 58;
  off = putUint(out, off, e.downloaded);
  out[off++] = 10;
  return off;
}

/**
 * Parses `<40 hex>:<base>:<downloaded>` (a trailing CR is allowed); null when the line is not
 * one.
 */
export function parseStatedumpLine(line: string): StatedumpLine | null {
  const text = line.endsWith("\r") ? line.slice(0, -1) : line;
  if (text.length < 44 || text[40] !== ":") return null;
  const hash = new Uint8Array(20);
  for (let i = 0; i < 20; i++) {
    const hi = hexDigit(text.charCodeAt(2 * i));
    const lo = hexDigit(text.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) return null;
    hash[i] = (hi << 4) | lo;
  }
  const rest = text.slice(41).split(":");
  if (rest.length !== 2 || !/^[0-9]{1,15}$/.test(rest[0]) || !/^[0-9]{1,15}$/.test(rest[1])) {
    return null;
  }
  return { hash, baseMinutes: Number(rest[0]), downloaded: Number(rest[1]) };
}

/** A parsed statedump: its torrents, and the malformed lines. */
export interface Statedump {
  readonly lines: readonly StatedumpLine[];
  /** Numbers of malformed lines (the first 100). */
  readonly badLines: readonly number[];
  readonly badCount: number;
}

/** Parses a whole statedump; empty lines are skipped. */
export function parseStatedump(text: string): Statedump {
  const lines: StatedumpLine[] = [];
  const badLines: number[] = [];
  let badCount = 0;
  const raw = text.split("\n");
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === "" || raw[i] === "\r") continue;
    const line = parseStatedumpLine(raw[i]);
    if (line !== null) {
      lines.push(line);
      continue;
    }
    if (badLines.length < 100) badLines.push(i + 1);
    badCount++;
  }
  return { lines, badLines, badCount };
}
