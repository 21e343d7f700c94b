/**
 * The tracker's own state file: every torrent with its peers, so that a restart within the peer
 * timeout loses nothing (opentracker's statedump has no peers, §7).
 *
 * | offset | size | field                                                   |
 * | ------ | ---- | ------------------------------------------------------- |
 * | 0      | 8    | magic `OTDSTATE`                                        |
 * | 8      | 4    | format version (1)                                      |
 * | 12     | 4    | peer timeout in minutes when written                    |
 * | 16     | 8    | written at, seconds since the epoch (f64)               |
 * | 24     | …    | blocks: length u32, CRC-32 u32, `length` bytes of torrent records |
 * | end    | 8    | final block: length 0, then the number of torrents written |
 *
 * Integers big-endian. A block holds whole torrent records (Swarm.exportTorrent), so a damaged
 * or missing block loses only its own torrents, and a file without its final block is known to
 * be truncated.
 *
 * Pure.
 */

import { crc32 } from "../util/crc32.ts";

export const STATE_MAGIC = "OTDSTATE";
export const STATE_VERSION = 1;
export const STATE_HEADER_BYTES = 24;
/** A block larger than this is treated as damage. */
export const STATE_BLOCK_BYTES_MAX = 1 << 30;

/** Writes the header into a fresh 24-byte array. */
export function writeStateHeader(peerTimeoutMinutes: number, writtenAtSeconds: number): Uint8Array {
  const out = new Uint8Array(STATE_HEADER_BYTES);
  const view = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) out[i] = STATE_MAGIC.charCodeAt(i);
  view.setUint32(8, STATE_VERSION);
  view.setUint32(12, peerTimeoutMinutes);
  view.setFloat64(16, writtenAtSeconds);
  return out;
}

/** Frames `payload` as a block (length, CRC-32, bytes). */
export function frameBlock(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, payload.length);
  view.setUint32(4, crc32(payload));
  out.set(payload, 8);
  return out;
}

/** The final block: length 0 and the torrent count. */
export function finalBlock(torrents: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setUint32(4, torrents);
  return out;
}

/** What {@link readStateFile} found. */
export interface StateFileReport {
  /** Torrents handed to the callback. */
  torrents: number;
  /** Null when the file was whole; otherwise what was wrong (and where reading stopped). */
  damage: string | null;
  writtenAtSeconds: number;
}

/**
 * Walks a state file, calling `onRecords(data, start, end)` for every intact block's records;
 * the callback returns how many torrents it took, or -1 when a record was malformed.
 */
export function readStateFile(
  data: Uint8Array,
  onRecords: (data: Uint8Array, start: number, end: number) => number,
): StateFileReport {
  const report: StateFileReport = { torrents: 0, damage: null, writtenAtSeconds: 0 };
  if (data.length < STATE_HEADER_BYTES) {
    report.damage = `shorter than its header (${data.length} bytes)`;
    return report;
  }
  for (let i = 0; i < 8; i++) {
    if (data[i] !== STATE_MAGIC.charCodeAt(i)) {
      report.damage = "not a state file (bad magic)";
      return report;
    }
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const version = view.getUint32(8);
  if (version !== STATE_VERSION) {
    report.damage = `unknown format version ${version}`;
    return report;
  }
  report.writtenAtSeconds = view.getFloat64(16);
  let off = STATE_HEADER_BYTES;
  while (true) {
    if (off + 8 > data.length) {
      report.damage = `truncated at byte ${off} (no final block)`;
      return report;
    }
    const length = view.getUint32(off);
    const check = view.getUint32(off + 4);
    if (length === 0) {
      if (check !== report.torrents) {
        report.damage = `final block counts ${check} torrents, ${report.torrents} were read`;
      }
      return report;
    }
    if (length > STATE_BLOCK_BYTES_MAX || off + 8 + length > data.length) {
      report.damage = `truncated or damaged block at byte ${off}`;
      return report;
    }
    if (crc32(data, off + 8, length) !== check) {
      report.damage = `checksum mismatch in the block at byte ${off}`;
      return report;
    }
    const taken = onRecords(data, off + 8, off + 8 + length);
    if (taken < 0) {
      report.damage = `malformed torrent record in the block at byte ${off}`;
      return report;
    }
    report.torrents += taken;
    off += 8 + length;
  }
}
