/**
 * `-l FILE`: restores an opentracker statedump (§7) at start, before the first request.
 *
 * Each line `<40 hex>:<base>:<downloaded>` recreates a torrent (no peers) unless the access
 * list refuses it or it exists already. Unlike opentracker, `downloaded` is restored once rather
 * than into both address families (which doubled it on every dump/restore cycle), and a
 * malformed line is reported with its number instead of being skipped silently or half-parsed.
 */

import { parseStatedumpLine } from "../protocol/full_scrape.ts";
import { Swarm } from "../swarm/swarm.ts";

/** Outcome of {@link restoreStatedump}. */
export interface RestoreReport {
  readonly restored: number;
  readonly refused: number;
  readonly existing: number;
  /** Numbers of malformed lines (the first 100). */
  readonly badLines: readonly number[];
  readonly badCount: number;
}

/** Restores `text` into `swarm`; `allowed` is the access-list check. */
export function restoreStatedump(
  text: string,
  swarm: Swarm,
  allowed: (hash: Uint8Array) => boolean,
): RestoreReport {
  let restored = 0;
  let refused = 0;
  let existing = 0;
  const badLines: number[] = [];
  let badCount = 0;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] === "" || lines[i] === "\r") continue;
    const line = parseStatedumpLine(lines[i]);
    if (line === null) {
      if (badLines.length < 100) badLines.push(i + 1);
      badCount++;
      continue;
    }
    if (!allowed(line.hash)) refused++;
    else if (swarm.restoreTorrent(line.hash, 0, line.baseMinutes, line.downloaded)) restored++;
    else existing++;
  }
  return { restored, refused, existing, badLines, badCount };
}

/** One log line describing a restore. */
export function describeRestore(path: string, r: RestoreReport): string {
  let text = `Restored ${r.restored} torrents from ${path}`;
  if (r.refused > 0) text += `; ${r.refused} refused by the access list`;
  if (r.existing > 0) text += `; ${r.existing} already known`;
  if (r.badCount > 0) {
    text += `; ${r.badCount} malformed lines skipped (lines ${r.badLines.slice(0, 10).join(", ")}` +
      `${r.badCount > 10 ? ", …" : ""})`;
  }
  return text;
}
