/**
 * Writes the state file (protocol/state_file.ts) without stalling announces: torrents are
 * exported a slice at a time into 4 KiB blocks gathered in a 1 MiB buffer, written with an
 * await between slices, so the event loop runs between them. A torrent larger than a block is
 * written as several records. The file is written beside its final path, fsynced and renamed
 * over it, so a crash mid-write leaves the previous state file intact.
 */

import {
  sealBlock,
  STATE_BLOCK_HEAD_BYTES,
  STATE_BLOCK_PAYLOAD_BYTES_MAX,
  writeFinalBlock,
  writeStateHeader,
} from "../protocol/state_file.ts";
import { STATE_RECORD_HEAD_BYTES, Swarm } from "../swarm/swarm.ts";

const BUFFER_BYTES = 1 << 20;
const SLICE_TORRENTS = 4096;
const PEER_BYTES = [8, 20];

/** Figures of one write. */
export interface StateWriteReport {
  readonly torrents: number;
  readonly peers: number;
  readonly bytes: number;
  readonly milliseconds: number;
}

async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await file.write(data.subarray(off));
}

/**
 * Blocks of records in a growing buffer: records go into the open block; a record that does
 * not fit seals it and opens the next.
 */
class BlockWriter {
  buf = new Uint8Array(BUFFER_BYTES);
  /** Start of the open block, and the end of its records so far. */
  #block = 0;
  #end = STATE_BLOCK_HEAD_BYTES;
  records = 0;

  /** Room left for one record in the open block. */
  get room(): number {
    return STATE_BLOCK_PAYLOAD_BYTES_MAX - (this.#end - this.#block - STATE_BLOCK_HEAD_BYTES);
  }

  /** True when the open block holds records. */
  get open(): boolean {
    return this.#end > this.#block + STATE_BLOCK_HEAD_BYTES;
  }

  /** Seals the open block (if it holds records) and opens a new one. */
  nextBlock(): void {
    if (!this.open) return;
    const sealed = sealBlock(
      this.buf,
      this.#block,
      this.#end - this.#block - STATE_BLOCK_HEAD_BYTES,
    );
    this.#ensure(sealed + STATE_BLOCK_HEAD_BYTES + STATE_BLOCK_PAYLOAD_BYTES_MAX);
    this.#block = sealed;
    this.#end = sealed + STATE_BLOCK_HEAD_BYTES;
  }

  /** Where the next record goes; `advance` to its end after writing it. */
  get end(): number {
    return this.#end;
  }

  advance(to: number): void {
    this.#end = to;
    this.records++;
  }

  /** Bytes of sealed blocks, ready to be written. */
  get sealedBytes(): number {
    return this.#block;
  }

  /** Removes the sealed blocks (after they were written), keeping the open one. */
  dropSealed(): void {
    this.buf.copyWithin(0, this.#block, this.#end);
    this.#end -= this.#block;
    this.#block = 0;
  }

  /** Seals the open block and appends the final block; the rest of the file. */
  finish(): Uint8Array {
    this.nextBlock();
    this.#ensure(this.#block + STATE_BLOCK_HEAD_BYTES);
    return this.buf.subarray(0, writeFinalBlock(this.buf, this.#block, this.records));
  }

  #ensure(bytes: number): void {
    if (bytes <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(bytes, 2 * this.buf.length));
    grown.set(this.buf);
    this.buf = grown;
  }
}

/** Writes the records of torrent `slot`, split so that none passes a block. Returns its peers. */
function writeTorrent(swarm: Swarm, slot: number, w: BlockWriter): number {
  const counts = [swarm.familyCount(slot, 0), swarm.familyCount(slot, 1)];
  const range = { a4: 0, n4: 0, a6: 0, n6: 0 };
  do {
    let room = w.room - STATE_RECORD_HEAD_BYTES;
    const left4 = counts[0] - range.a4;
    const left6 = counts[1] - range.a6;
    // A block too full for the header and one peer (or the header of an empty torrent).
    const needs = left4 > 0 ? PEER_BYTES[0] : left6 > 0 ? PEER_BYTES[1] : 0;
    if (room < needs) {
      w.nextBlock();
      continue;
    }
    range.n4 = Math.min(left4, Math.floor(room / PEER_BYTES[0]));
    room -= range.n4 * PEER_BYTES[0];
    range.n6 = Math.min(left6, Math.floor(room / PEER_BYTES[1]));
    w.advance(swarm.exportRecord(slot, w.buf, w.end, range));
    range.a4 += range.n4;
    range.a6 += range.n6;
  } while (range.a4 < counts[0] || range.a6 < counts[1]);
  return counts[0] + counts[1];
}

/** Writes the whole swarm to `path` atomically. */
export async function writeStateFile(
  swarm: Swarm,
  path: string,
  peerTimeoutMinutes: number,
  nowSeconds: number,
): Promise<StateWriteReport> {
  const started = performance.now();
  const tmp = `${path}.tmp`;
  const file = await Deno.open(tmp, { write: true, create: true, truncate: true, mode: 0o600 });
  let torrents = 0;
  let peers = 0;
  let bytes = 0;
  try {
    const header = writeStateHeader(peerTimeoutMinutes, nowSeconds);
    await writeAll(file, header);
    bytes += header.length;
    const w = new BlockWriter();
    let next = 0;
    while (next >= 0) {
      const pending: number[] = [];
      next = swarm.visit(next, SLICE_TORRENTS, (slot) => pending.push(slot));
      // Within a slice nothing awaits, so every torrent is written whole as it is now.
      for (const slot of pending) {
        if (!swarm.slotUsed(slot)) continue;
        peers += writeTorrent(swarm, slot, w);
        torrents++;
      }
      if (w.sealedBytes >= BUFFER_BYTES / 2) {
        await writeAll(file, w.buf.subarray(0, w.sealedBytes));
        bytes += w.sealedBytes;
        w.dropSealed();
      }
    }
    const tail = w.finish();
    await writeAll(file, tail);
    bytes += tail.length;
    await file.sync();
  } finally {
    file.close();
  }
  await Deno.rename(tmp, path);
  return { torrents, peers, bytes, milliseconds: performance.now() - started };
}
