/**
 * Full-scrape formats: per-torrent entry writers plus the head and tail of each document, for
 * `GET /scrape`, `/stats?mode=tpbs&format=…` and the statedump (whose lines statedump.ts writes).
 *
 * | format    | per torrent                                               |
 * | --------- | --------------------------------------------------------- |
 * | ben       | `20:<hash>d8:completei<s>e10:downloadedi<d>e10:incompletei<l>ee` in `d5:filesd`…`ee` |
 * | txt       | `<40 HEX>:<seeders>:<leechers>\n`                          |
 * | txtp      | `<40 HEX>:<seeders>:<leechers>:<downloaded>\n`             |
 * | bin       | `hash[20] seeders[u32 BE] leechers[u32 BE]`                |
 * | url       | `<url-encoded hash>:<seeders>:<leechers>\n` (lower-case %xx) |
 * | statedump | `<40 HEX>:<base minutes>:<downloaded>\n`                   |
 *
 * Pure: no Deno APIs.
 */

import { putHexUpper } from "../util/hex.ts";
import { putAscii, putUint, writeScrapeEntry } from "./http_response.ts";
import { writeStatedumpLine } from "./statedump.ts";

/** The formats of `mode=tpbs&format=…`, plus the statedump. */
export type FullScrapeFormat = "ben" | "txt" | "txtp" | "bin" | "url" | "statedump";

/** Formats accepted by `format=`. */
export const TPBS_FORMATS: ReadonlySet<string> = new Set(["ben", "txt", "txtp", "bin", "url"]);

/** Counts and base of one torrent. */
export interface FullScrapeEntry {
  seeders: number;
  leechers: number;
  downloaded: number;
  /** Minutes since the epoch (statedump only). */
  baseMinutes: number;
}

/** Most bytes one entry can take (url format: 60 for the hash plus three numbers). */
export const ENTRY_BYTES_MAX = 128;

const HEX_LOWER = "0123456789abcdef";

function isUrlSafe(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) ||
    c === 36 || c === 47 || c === 46 || c === 61 || c === 126 || c === 45 || c === 95;
}

/** Writes the document head; returns the new offset. */
export function writeFullScrapeHead(
  format: FullScrapeFormat,
  out: Uint8Array,
  off: number,
): number {
  return format === "ben" ? putAscii(out, off, "d5:filesd") : off;
}

/** Writes the document tail; returns the new offset. */
export function writeFullScrapeTail(
  format: FullScrapeFormat,
  out: Uint8Array,
  off: number,
): number {
  return format === "ben" ? putAscii(out, off, "ee") : off;
}

/** Writes one torrent's entry; returns the new offset. */
export function writeFullScrapeEntry(
  format: FullScrapeFormat,
  out: Uint8Array,
  off: number,
  hash: Uint8Array,
  ho: number,
  e: FullScrapeEntry,
): number {
  switch (format) {
    case "ben":
      return writeScrapeEntry(out, off, hash, ho, e);
    case "bin":
      out.set(hash.subarray(ho, ho + 20), off);
      off += 20;
      for (const v of [e.seeders, e.leechers]) {
        out[off++] = v >>> 24;
        out[off++] = v >>> 16;
        out[off++] = v >>> 8;
        out[off++] = v;
      }
      return off;
    case "statedump":
      return writeStatedumpLine(out, off, hash, ho, e);
    case "url":
      for (let i = 0; i < 20; i++) {
        const c = hash[ho + i];
        if (isUrlSafe(c)) out[off++] = c;
        else {
          out[off++] = 37;
          out[off++] = HEX_LOWER.charCodeAt(c >> 4);
          out[off++] = HEX_LOWER.charCodeAt(c & 15);
        }
      }
      break;
    default:
      off = putHexUpper(out, off, hash, ho, 20);
  }
  out[off++] = 58; // :
  off = putUint(out, off, e.seeders);
  out[off++] = 58;
  off = putUint(out, off, e.leechers);
  if (format === "txtp") {
    out[off++] = 58;
    off = putUint(out, off, e.downloaded);
  }
  out[off++] = 10;
  return off;
}
