/**
 * Loads the tracker's own state file (`tracker.statefile`) at start, before any socket is bound.
 * A damaged or truncated file is reported; the torrents read before the damage are kept, and the
 * file is renamed aside (`<path>.damaged-<time>`) so that the next save cannot overwrite the
 * only copy of what could not be read.
 */

import { readStateFile } from "../protocol/state_file.ts";
import { STATE_RECORD_HEAD_BYTES, stateRecordBytes, Swarm } from "../swarm/swarm.ts";

/** Loads `path` into `swarm` (torrents the access list refuses are skipped); returns log lines. */
export function loadStateFile(
  path: string,
  swarm: Swarm,
  allowed: (hash: Uint8Array, off: number) => boolean,
  nowSeconds: number,
): string[] {
  let data: Uint8Array;
  try {
    data = Deno.readFileSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [`No state file at ${path} yet`];
    return [`Cannot read the state file ${path}: ${(error as Error).message}; starting empty`];
  }
  const started = performance.now();
  let refused = 0;
  const torrentsBefore = swarm.torrentCount;
  const report = readStateFile(data, (bytes, start, end) => {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let taken = 0;
    let off = start;
    while (off < end) {
      if (off + STATE_RECORD_HEAD_BYTES > end) return -1;
      if (!allowed(bytes, off)) {
        // Skip the record without restoring it.
        off += stateRecordBytes(view.getUint32(off + 32), view.getUint32(off + 36));
        refused++;
        taken++;
        continue;
      }
      const length = swarm.importTorrent(bytes, off, end);
      if (length < 0) return -1;
      off += length;
      taken++;
    }
    return off === end ? taken : -1;
  });
  const ms = (performance.now() - started).toFixed(0);
  const age = report.writtenAtSeconds > 0 ? Math.round(nowSeconds - report.writtenAtSeconds) : 0;
  const lines = [
    `Loaded ${swarm.torrentCount - torrentsBefore} torrents and ${swarm.peerCount} peers ` +
    `from ${path} (${data.length} bytes, written ${age} s ago) in ${ms} ms` +
    (refused > 0 ? `; ${refused} records of torrents the access list refuses were skipped` : ""),
  ];
  if (report.damage !== null) {
    const aside = `${path}.damaged-${Math.floor(nowSeconds)}`;
    try {
      Deno.renameSync(path, aside);
      lines.push(
        `State file ${path} is damaged: ${report.damage}; kept what was read before it, moved the file to ${aside}`,
      );
    } catch (error) {
      lines.push(
        `State file ${path} is damaged: ${report.damage}; could not move it aside: ${
          (error as Error).message
        }`,
      );
    }
  }
  return lines;
}
