/**
 * What the tracker restores at start, before any socket is bound: its own state file (every
 * torrent with its peers) and an opentracker statedump (`-l`: torrents and downloads, no peers).
 * The readers in config/ hand over the bytes and text; the results are reported in log lines.
 */

import { readStateFile, StateFileReport } from "../protocol/state_file.ts";
import { Statedump } from "../protocol/statedump.ts";
import { STATE_RECORD_HEAD_BYTES, stateRecordBytes } from "../swarm/state_record.ts";
import { Swarm } from "../swarm/swarm.ts";

/** What {@link importState} restored. */
export interface StateImport {
  readonly torrents: number;
  readonly peers: number;
  /** Records of torrents the access list refuses, skipped. */
  readonly refusedRecords: number;
  readonly report: StateFileReport;
  readonly milliseconds: number;
}

/**
 * Restores the state file `data` into `swarm` (records of torrents `allowed` refuses are
 * skipped; with several workers, so are those of torrents another worker `owns`, silently).
 * Damage is reported, never thrown: what could be read is kept.
 */
export function importState(
  data: Uint8Array,
  swarm: Swarm,
  allowed: (hash: Uint8Array, off: number) => boolean,
  owned: ((hash: Uint8Array, off: number) => boolean) | null = null,
): StateImport {
  const started = performance.now();
  const torrentsBefore = swarm.torrentCount;
  const peersBefore = swarm.peerCount;
  let refusedRecords = 0;
  const report = readStateFile(data, (bytes, start, end) => {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let taken = 0;
    let off = start;
    while (off < end) {
      if (off + STATE_RECORD_HEAD_BYTES > end) return -1;
      const mine = owned === null || owned(bytes, off);
      if (!mine || !allowed(bytes, off)) {
        off += stateRecordBytes(view.getUint32(off + 32), view.getUint32(off + 36));
        if (mine) refusedRecords++;
        taken++;
        continue;
      }
      const length = swarm.importRecord(bytes, off, end);
      if (length < 0) return -1;
      off += length;
      taken++;
    }
    return off === end ? taken : -1;
  });
  return {
    torrents: swarm.torrentCount - torrentsBefore,
    peers: swarm.peerCount - peersBefore,
    refusedRecords,
    report,
    milliseconds: performance.now() - started,
  };
}

/** The log line of a state file load of `bytes` bytes from `path`. */
export function describeImport(
  path: string,
  bytes: number,
  r: StateImport,
  nowSeconds: number,
): string {
  const age = r.report.writtenAtSeconds > 0
    ? Math.round(nowSeconds - r.report.writtenAtSeconds)
    : 0;
  return `Loaded ${r.torrents} torrents and ${r.peers} peers from ${path} (${bytes} bytes, ` +
    `written ${age} s ago) in ${r.milliseconds.toFixed(0)} ms` +
    (r.refusedRecords > 0
      ? `; ${r.refusedRecords} records of torrents the access list refuses were skipped`
      : "");
}

/** Outcome of {@link restoreStatedump}. */
export interface RestoreReport {
  readonly restored: number;
  readonly refused: number;
  readonly existing: number;
  /** Torrents left out because the torrent budget was full (and none was empty). */
  readonly overBudget: number;
  readonly badLines: readonly number[];
  readonly badCount: number;
}

/**
 * Restores a statedump into `swarm`: each torrent is created (no peers) unless the access list
 * refuses it or it exists already. Unlike opentracker, `downloaded` is restored once rather
 * than into both address families (which doubled it on every dump/restore cycle). At the
 * torrent budget the rest is left out: a restore never evicts torrents (every restored torrent
 * is empty, so evicting would only trade the dump's first torrents for its last). With several
 * workers, torrents another worker `owns` are left to it.
 */
export function restoreStatedump(
  dump: Statedump,
  swarm: Swarm,
  allowed: (hash: Uint8Array, off: number) => boolean,
  owned: ((hash: Uint8Array, off: number) => boolean) | null = null,
): RestoreReport {
  let restored = 0;
  let refused = 0;
  let existing = 0;
  let overBudget = 0;
  for (let i = 0; i < dump.count; i++) {
    const at = 20 * i;
    if (owned !== null && !owned(dump.hashes, at)) continue;
    if (!allowed(dump.hashes, at)) refused++;
    else if (swarm.find(dump.hashes, at) >= 0) existing++;
    else if (swarm.torrentCount >= swarm.torrentBudget) overBudget++;
    else if (swarm.restoreTorrent(dump.hashes, at, dump.baseMinutes[i], dump.downloaded[i])) {
      restored++;
    } else overBudget++;
  }
  const { badLines, badCount } = dump;
  return { restored, refused, existing, overBudget, badLines, badCount };
}

/** One log line describing a restore. */
export function describeRestore(path: string, r: RestoreReport): string {
  let text = `Restored ${r.restored} torrents from ${path}`;
  if (r.refused > 0) text += `; ${r.refused} refused by the access list`;
  if (r.existing > 0) text += `; ${r.existing} already known`;
  if (r.overBudget > 0) text += `; ${r.overBudget} over tracker.torrent_budget`;
  if (r.badCount > 0) {
    text += `; ${r.badCount} malformed lines skipped (lines ${r.badLines.slice(0, 10).join(", ")}` +
      `${r.badCount > 10 ? ", …" : ""})`;
  }
  return text;
}

/** How the start read its own state file (`tracker.statefile`). */
export type StateLoad =
  | { readonly kind: "missing"; readonly path: string }
  | { readonly kind: "error"; readonly path: string; readonly message: string }
  | {
    readonly kind: "loaded";
    readonly path: string;
    readonly bytes: number;
    readonly result: StateImport;
  };

/** How the start read an opentracker statedump (`-l`). */
export type DumpLoad =
  | { readonly kind: "unread"; readonly path: string; readonly why: string }
  | { readonly kind: "read"; readonly path: string; readonly report: RestoreReport };

/** What a start restored; null where nothing was configured. */
export interface Restored {
  readonly state: StateLoad | null;
  readonly dump: DumpLoad | null;
}

/**
 * What several workers restored from the same files, as one: each took its own torrents, so
 * the counts add up; what describes the file (its damage, its malformed lines) is the same for
 * every worker and taken once. The time is the sum: the workers start one after another.
 */
export function mergeRestored(parts: readonly Restored[]): Restored {
  const first = parts[0];
  let state = first.state;
  if (state?.kind === "loaded") {
    const loaded = parts.map((p) => p.state).filter((s) => s?.kind === "loaded");
    const sum = (f: (r: StateImport) => number) =>
      loaded.reduce((n, s) => n + f((s as { result: StateImport }).result), 0);
    state = {
      ...state,
      result: {
        torrents: sum((r) => r.torrents),
        peers: sum((r) => r.peers),
        refusedRecords: sum((r) => r.refusedRecords),
        milliseconds: sum((r) => r.milliseconds),
        report: { ...state.result.report, records: sum((r) => r.report.records) },
      },
    };
  }
  let dump = first.dump;
  if (dump?.kind === "read") {
    const reports = parts.map((p) => p.dump).filter((d) => d?.kind === "read")
      .map((d) => (d as { report: RestoreReport }).report);
    const sum = (f: (r: RestoreReport) => number) => reports.reduce((n, r) => n + f(r), 0);
    dump = {
      ...dump,
      report: {
        ...dump.report,
        restored: sum((r) => r.restored),
        refused: sum((r) => r.refused),
        existing: sum((r) => r.existing),
        overBudget: sum((r) => r.overBudget),
      },
    };
  }
  return { state, dump };
}

/** The log lines of a start's restore (the damaged file's set-aside line is the caller's). */
export function restoreLines(r: Restored, nowSeconds: number): string[] {
  const lines: string[] = [];
  const s = r.state;
  if (s?.kind === "missing") lines.push(`No state file at ${s.path} yet`);
  else if (s?.kind === "error") {
    lines.push(`Cannot read the state file ${s.path}: ${s.message}; starting empty`);
  } else if (s?.kind === "loaded") {
    lines.push(describeImport(s.path, s.bytes, s.result, nowSeconds));
  }
  const d = r.dump;
  // opentracker warns and continues without the dump; so do we.
  if (d?.kind === "unread") lines.push(`Warning: Can't open state file: ${d.path}: ${d.why}`);
  else if (d?.kind === "read") lines.push(describeRestore(d.path, d.report));
  return lines;
}

/** The damage of the state file that was read, or null (the caller moves the file aside). */
export function stateDamage(r: Restored): string | null {
  return r.state?.kind === "loaded" ? r.state.result.report.damage : null;
}
