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
 * Reads the line `text[start, end)` (a trailing CR is allowed): the hash into `hash[ho..ho+20)`
 * and base and downloads into `numbers[0]`, `numbers[1]`. False when it is not a statedump line.
 */
function readLine(
  text: string,
  start: number,
  end: number,
  hash: Uint8Array,
  ho: number,
  numbers: Float64Array,
): boolean {
  if (end > start && text.charCodeAt(end - 1) === 13) end--;
  if (end - start < 44 || text.charCodeAt(start + 40) !== 58 /* : */) return false;
  for (let i = 0; i < 20; i++) {
    const hi = hexDigit(text.charCodeAt(start + 2 * i));
    const lo = hexDigit(text.charCodeAt(start + 2 * i + 1));
    if (hi < 0 || lo < 0) return false;
    hash[ho + i] = (hi << 4) | lo;
  }
  let at = start + 41;
  for (let k = 0; k < 2; k++) {
    let value = 0;
    let digits = 0;
    while (at < end) {
      const c = text.charCodeAt(at);
      if (c < 48 || c > 57) break;
      value = value * 10 + (c - 48);
      digits++;
      at++;
    }
    if (digits === 0 || digits > 15) return false;
    numbers[k] = value;
    if (k === 0) {
      if (at >= end || text.charCodeAt(at) !== 58) return false;
      at++;
    }
  }
  return at === end;
}

/** Parses one line (see {@link writeStatedumpLine}); null when it is not a statedump line. */
export function parseStatedumpLine(line: string): StatedumpLine | null {
  const hash = new Uint8Array(20);
  const numbers = new Float64Array(2);
  if (!readLine(line, 0, line.length, hash, 0, numbers)) return null;
  return { hash, baseMinutes: numbers[0], downloaded: numbers[1] };
}

/**
 * A parsed statedump, packed: torrent `i` has the hash `hashes[20i..20i+20)`, `baseMinutes[i]`
 * and `downloaded[i]` (no object per line: a dump of millions of torrents stays small).
 */
export interface Statedump {
  readonly count: number;
  readonly hashes: Uint8Array;
  readonly baseMinutes: Float64Array;
  readonly downloaded: Float64Array;
  /** Numbers of malformed lines (the first 100). */
  readonly badLines: readonly number[];
  readonly badCount: number;
}

/** Parses a whole statedump; empty lines are skipped. */
export function parseStatedump(text: string): Statedump {
  let lines = 1;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) lines++;
  const hashes = new Uint8Array(20 * lines);
  const baseMinutes = new Float64Array(lines);
  const downloaded = new Float64Array(lines);
  const numbers = new Float64Array(2);
  const badLines: number[] = [];
  let badCount = 0;
  let count = 0;
  let lineNo = 0;
  for (let start = 0; start <= text.length;) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    lineNo++;
    const blank = end === start || (end === start + 1 && text.charCodeAt(start) === 13);
    if (!blank) {
      if (readLine(text, start, end, hashes, 20 * count, numbers)) {
        baseMinutes[count] = numbers[0];
        downloaded[count] = numbers[1];
        count++;
      } else {
        if (badLines.length < 100) badLines.push(lineNo);
        badCount++;
      }
    }
    start = end + 1;
  }
  return {
    count,
    hashes: hashes.subarray(0, 20 * count),
    baseMinutes: baseMinutes.subarray(0, count),
    downloaded: downloaded.subarray(0, count),
    badLines,
    badCount,
  };
}
