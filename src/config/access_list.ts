/**
 * Access-list files (§5.2): a line counts when it starts with 40 hex digits (either case) not
 * followed by another hex digit; text after them is allowed (`<hex> # comment`), CRLF is fine.
 * Blank lines and `#` comments are skipped silently; any other line is reported with its number
 * (opentracker ignores such lines silently). Parsed from bytes in one pass, without splitting
 * the file into strings, so 1,000,000 hashes load in well under a second.
 */

import { AccessControl } from "../swarm/access.ts";
import { HashSet20 } from "../swarm/hash_set.ts";
import { readHashLine } from "../util/hex.ts";

/** Result of parsing an access list. */
export interface ParsedAccessList {
  readonly set: HashSet20;
  /** Lines that held a hash (duplicates included). */
  readonly lines: number;
  /** Numbers of lines that were neither a hash, blank nor a comment (the first 100). */
  readonly oddLines: readonly number[];
  /** How many odd lines there were in all. */
  readonly oddCount: number;
}

const ODD_LINES_KEPT = 100;

/** Parses access-list bytes. `seed` keys the set's hash (four CSPRNG words). */
export function parseAccessList(bytes: Uint8Array, seed: Uint32Array): ParsedAccessList {
  const set = new HashSet20(seed, Math.max(16, Math.ceil(bytes.length / 41)));
  const hash = new Uint8Array(20);
  const oddLines: number[] = [];
  let oddCount = 0;
  let lines = 0;
  let lineNo = 0;
  let i = 0;
  const n = bytes.length;
  while (i < n) {
    lineNo++;
    let end = bytes.indexOf(10, i);
    if (end < 0) end = n;
    if (readHashLine(bytes, i, end, hash)) {
      set.add(hash, 0);
      lines++;
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
  return { set, lines, oddLines, oddCount };
}

/** Reads and parses `path`; throws the read error (the caller decides: stop or keep the old). */
export function loadAccessList(path: string, seed: Uint32Array): ParsedAccessList {
  return parseAccessList(Deno.readFileSync(path), seed);
}

/**
 * Why a parsed list must not replace a working one, or null when it may: lines that are not
 * hashes and not a single hash is a garbage or half-written file, not an access list. (A file
 * with no lines at all, or only comments, is a valid empty list.)
 */
export function implausible(r: ParsedAccessList): string | null {
  if (r.set.size > 0 || r.oddCount === 0) return null;
  return `no info_hash in it, and ${r.oddCount} ${r.oddCount === 1 ? "line is" : "lines are"} ` +
    `not a hash (lines ${r.oddLines.slice(0, 10).join(", ")}${r.oddCount > 10 ? ", …" : ""}): ` +
    `not an access list, or written only in part`;
}

/** One log line describing a load. */
export function describeLoad(path: string, r: ParsedAccessList): string {
  let text = `Loaded ${r.set.size} info_hashes from ${path}`;
  if (r.lines !== r.set.size) text += ` (${r.lines - r.set.size} duplicates)`;
  if (r.oddCount > 0) {
    const shown = r.oddLines.slice(0, 10).join(", ");
    text += `; ${r.oddCount} lines are not a hash and were ignored (lines ${shown}` +
      `${r.oddCount > 10 ? ", …" : ""})`;
  }
  return text;
}

/**
 * The access control a configuration asks for, with its list loaded: called before any socket
 * is bound, so a closed tracker never answers a request with an empty list. Throws an Error
 * naming the file when the list cannot be read (the start must stop).
 */
export function loadAccessControl(
  mode: "open" | "whitelist" | "blacklist",
  path: string | null,
  seed: Uint32Array,
  log: (line: string) => void,
): AccessControl {
  if (mode === "open" || path === null) return new AccessControl("open", new HashSet20(seed), seed);
  let parsed: ParsedAccessList;
  try {
    parsed = loadAccessList(path, seed);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new Error(`Can't open accesslist file: ${path}: ${why}`);
  }
  const wrong = implausible(parsed);
  if (wrong !== null) throw new Error(`Refusing the accesslist file ${path}: ${wrong}`);
  log(describeLoad(path, parsed));
  return new AccessControl(mode, parsed.set, seed);
}
