/**
 * Access-list files: a line counts when it starts with 40 hex digits (either case) not followed
 * by another hex digit; text after them is allowed (`<hex> # comment`), CRLF is fine. Blank
 * lines and `#` comments are skipped silently; any other line is reported with its number
 * (opentracker ignores such lines silently). Parsed from bytes in one pass, without splitting the
 * file into strings, so 1,000,000 hashes load in well under a second.
 *
 * Reads and parses only: the access control is built from the result by the logic.
 */

import { readHashLine } from "../util/hex.ts";

/** Result of parsing an access list. */
export interface ParsedAccessList {
  /** The hashes, 20 bytes each, in file order (duplicates included). */
  readonly hashes: Uint8Array;
  /** Lines that held a hash (duplicates included). */
  readonly lines: number;
  /** Numbers of lines that were neither a hash, blank nor a comment (the first 100). */
  readonly oddLines: readonly number[];
  /** How many odd lines there were in all. */
  readonly oddCount: number;
}

const ODD_LINES_KEPT = 100;

/** Parses access-list bytes. */
export function parseAccessList(bytes: Uint8Array): ParsedAccessList {
  // A hash line takes at least 41 bytes (40 digits and a newline), so this is enough room.
  let hashes = new Uint8Array(20 * Math.ceil(bytes.length / 40));
  const oddLines: number[] = [];
  let oddCount = 0;
  let lines = 0;
  let lineNo = 0;
  let i = 0;
  const n = bytes.length;
  const hash = new Uint8Array(20);
  while (i < n) {
    lineNo++;
    let end = bytes.indexOf(10, i);
    if (end < 0) end = n;
    if (readHashLine(bytes, i, end, hash)) {
      hashes.set(hash, 20 * lines++);
    } else {
      let j = i;
      while (j < end && (bytes[j] === 32 || bytes[j] === 9 || bytes[j] === 13)) j++;
      if (j < end && bytes[j] !== 35 /* # */) {
        if (oddLines.length < ODD_LINES_KEPT) oddLines.push(lineNo);
        oddCount++;
      }
    }
    i = end + 1;
  }
  hashes = hashes.subarray(0, 20 * lines);
  return { hashes, lines, oddLines, oddCount };
}

/** Reads and parses `path`; throws the read error (the caller decides: stop or keep the old). */
export function readAccessList(path: string): ParsedAccessList {
  return parseAccessList(Deno.readFileSync(path));
}

/**
 * Why a parsed list must not replace a working one, or null when it may: lines that are not
 * hashes and not a single hash is a garbage or half-written file, not an access list. (A file
 * with no lines at all, or only comments, is a valid empty list.)
 */
export function implausible(r: ParsedAccessList): string | null {
  if (r.lines > 0 || r.oddCount === 0) return null;
  return `no info_hash in it, and ${r.oddCount} ${r.oddCount === 1 ? "line is" : "lines are"} ` +
    `not a hash (lines ${r.oddLines.slice(0, 10).join(", ")}${r.oddCount > 10 ? ", …" : ""}): ` +
    `not an access list, or written only in part`;
}

/** One log line describing a load that kept `distinct` different hashes. */
export function describeLoad(path: string, r: ParsedAccessList, distinct: number): string {
  let text = `Loaded ${distinct} info_hashes from ${path}`;
  const dup = r.lines - distinct;
  if (dup !== 0) text += ` (${dup} ${dup === 1 ? "duplicate" : "duplicates"})`;
  if (r.oddCount > 0) {
    const shown = r.oddLines.slice(0, 10).join(", ");
    text += `; ${r.oddCount} ${r.oddCount === 1 ? "line is" : "lines are"} not a hash and ` +
      `${r.oddCount === 1 ? "was" : "were"} ignored (${r.oddCount === 1 ? "line" : "lines"} ` +
      `${shown}${r.oddCount > 10 ? ", …" : ""})`;
  }
  return text;
}
