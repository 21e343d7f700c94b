/**
 * The tracker's own state file: every torrent with its peers, so that a restart within the peer
 * timeout loses nothing (opentracker's statedump has no peers).
 *
 * | offset | size | field                                                         |
 * | ------ | ---- | ------------------------------------------------------------- |
 * | 0      | 8    | magic `OTDSTATE`                                              |
 * | 8      | 4    | format version (2; version 1 files are still read)            |
 * | 12     | 4    | peer timeout in minutes when written                          |
 * | 16     | 8    | written at, seconds since the epoch (f64)                     |
 * | 24     | …    | blocks                                                        |
 * | end    | 12   | final block: marker, length 0, the number of records written  |
 *
 * A version 2 block is a marker `OTDB`, the payload length (at most
 * {@link STATE_BLOCK_PAYLOAD_BYTES_MAX}), the CRC-32 of the payload, then whole state records
 * (the swarm writes them: a torrent's header and a part of its peers, so a large torrent spans
 * several records). Integers big-endian.
 *
 * Why small blocks with markers: a damaged byte costs only its block (at most about 500 IPv4 or
 * 200 IPv6 peers); the reader skips to the next marker whose block verifies and reads on. A file
 * without its final block is known to be truncated; what was read before is kept. Version 1
 * (blocks of about 1 MiB without markers) stopped at the first damage.
 *
 * Pure.
 */

import { crc32 } from "../util/crc32.ts";

export const STATE_MAGIC = "OTDSTATE";
export const STATE_VERSION = 2;
export const STATE_HEADER_BYTES = 24;
/** Payload of one block: small enough that a damaged block loses a few hundred peers. */
export const STATE_BLOCK_PAYLOAD_BYTES_MAX = 4096;
/** Marker, length and CRC in front of each block's payload. */
export const STATE_BLOCK_HEAD_BYTES = 12;
/** "OTDB": where a block begins, so that a reader can find the next one after damage. */
const BLOCK_MARKER = 0x4f544442;
/** Version 1 blocks may be this large; larger is damage. */
const V1_BLOCK_BYTES_MAX = 1 << 30;

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

/**
 * Seals the block whose payload of `length` bytes follows the {@link STATE_BLOCK_HEAD_BYTES}
 * reserved at `out[at]`: writes marker, length and CRC. Returns the offset after the block.
 */
export function sealBlock(out: Uint8Array, at: number, length: number): number {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setUint32(at, BLOCK_MARKER);
  view.setUint32(at + 4, length);
  view.setUint32(at + 8, crc32(out, at + STATE_BLOCK_HEAD_BYTES, length));
  return at + STATE_BLOCK_HEAD_BYTES + length;
}

/** Writes the final block (marker, length 0, `records`) at `out[at]`; returns its end. */
export function writeFinalBlock(out: Uint8Array, at: number, records: number): number {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setUint32(at, BLOCK_MARKER);
  view.setUint32(at + 4, 0);
  view.setUint32(at + 8, records);
  return at + STATE_BLOCK_HEAD_BYTES;
}

/** What {@link readStateFile} found. */
export interface StateFileReport {
  /** Records handed to the callback and taken. */
  records: number;
  /** Null when the file was whole; otherwise what was wrong first, and how much. */
  damage: string | null;
  /** Blocks skipped because they were damaged (version 2). */
  damagedBlocks: number;
  /** Bytes skipped to find the next intact block (version 2). */
  skippedBytes: number;
  writtenAtSeconds: number;
}

/**
 * Walks a state file, calling `onRecords(data, start, end)` for every intact block's records;
 * the callback returns how many records it took, or -1 when one was malformed (the block then
 * counts as damaged).
 */
export function readStateFile(
  data: Uint8Array,
  onRecords: (data: Uint8Array, start: number, end: number) => number,
): StateFileReport {
  const report: StateFileReport = {
    records: 0,
    damage: null,
    damagedBlocks: 0,
    skippedBytes: 0,
    writtenAtSeconds: 0,
  };
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
  report.writtenAtSeconds = view.getFloat64(16);
  if (version === 1) readVersion1(data, view, onRecords, report);
  else if (version === 2) readVersion2(data, view, onRecords, report);
  else report.damage = `unknown format version ${version}`;
  return report;
}

/**
 * The length of the version 2 block at `at` (0 for the final block, which ends the file), or
 * -1 when there is no intact block there.
 */
function blockAt(data: Uint8Array, view: DataView, at: number): number {
  if (at + STATE_BLOCK_HEAD_BYTES > data.length || view.getUint32(at) !== BLOCK_MARKER) return -1;
  const length = view.getUint32(at + 4);
  // The final block ends the file; a length damaged to 0 elsewhere is not one.
  if (length === 0) return at + STATE_BLOCK_HEAD_BYTES === data.length ? 0 : -1;
  if (length > STATE_BLOCK_PAYLOAD_BYTES_MAX) return -1;
  if (at + STATE_BLOCK_HEAD_BYTES + length > data.length) return -1;
  if (crc32(data, at + STATE_BLOCK_HEAD_BYTES, length) !== view.getUint32(at + 8)) return -1;
  return length;
}

function readVersion2(
  data: Uint8Array,
  view: DataView,
  onRecords: (data: Uint8Array, start: number, end: number) => number,
  report: StateFileReport,
): void {
  const damaged = (what: string) => {
    report.damagedBlocks++;
    report.damage ??= what;
  };
  let at = STATE_HEADER_BYTES;
  while (true) {
    if (at + STATE_BLOCK_HEAD_BYTES > data.length) {
      report.damage ??= `truncated at byte ${at} (no final block)`;
      break;
    }
    const length = blockAt(data, view, at);
    if (length === 0) {
      const written = view.getUint32(at + 8);
      if (report.damage === null && written !== report.records) {
        report.damage = `final block counts ${written} records, ${report.records} were read`;
      }
      break;
    }
    if (length > 0) {
      const start = at + STATE_BLOCK_HEAD_BYTES;
      const taken = onRecords(data, start, start + length);
      if (taken < 0) damaged(`malformed state record in the block at byte ${at}`);
      else report.records += taken;
      at = start + length;
      continue;
    }
    // Damage: read on from the next marker that starts an intact block.
    damaged(`checksum mismatch or damage in the block at byte ${at}`);
    let next = -1;
    for (let i = data.indexOf(0x4f, at + 1); i >= 0; i = data.indexOf(0x4f, i + 1)) {
      if (blockAt(data, view, i) >= 0) {
        next = i;
        break;
      }
    }
    if (next < 0) {
      report.skippedBytes += data.length - at;
      report.damage += `; nothing intact after it (truncated at byte ${data.length})`;
      break;
    }
    report.skippedBytes += next - at;
    at = next;
  }
  if (report.damagedBlocks > 1) {
    report.damage +=
      ` (${report.damagedBlocks} damaged blocks, ${report.skippedBytes} bytes skipped)`;
  }
}

/** Version 1: blocks of length, CRC and payload without markers; reading stops at damage. */
function readVersion1(
  data: Uint8Array,
  view: DataView,
  onRecords: (data: Uint8Array, start: number, end: number) => number,
  report: StateFileReport,
): void {
  let off = STATE_HEADER_BYTES;
  while (true) {
    if (off + 8 > data.length) {
      report.damage = `truncated at byte ${off} (no final block)`;
      return;
    }
    const length = view.getUint32(off);
    const check = view.getUint32(off + 4);
    if (length === 0) {
      if (check !== report.records) {
        report.damage = `final block counts ${check} torrents, ${report.records} were read`;
      }
      return;
    }
    if (length > V1_BLOCK_BYTES_MAX || off + 8 + length > data.length) {
      report.damage = `truncated or damaged block at byte ${off}`;
      return;
    }
    if (crc32(data, off + 8, length) !== check) {
      report.damage = `checksum mismatch in the block at byte ${off}`;
      return;
    }
    const taken = onRecords(data, off + 8, off + 8 + length);
    if (taken < 0) {
      report.damage = `malformed torrent record in the block at byte ${off}`;
      return;
    }
    report.records += taken;
    off += 8 + length;
  }
}
