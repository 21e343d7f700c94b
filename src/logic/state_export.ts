/**
 * The state file's content (protocol/state_file.ts) made from the swarm without stalling
 * announces: torrents are exported a slice at a time into 4 KiB blocks gathered in a buffer,
 * handed out in chunks of about half a megabyte; between chunks the consumer's writes let the
 * event loop run. A torrent larger than a block is written as several records. Within a slice
 * nothing awaits, so each torrent is written whole as it is at that moment; the file as a whole is
 * not a snapshot (torrents changed between slices are seen before or after the change).
 */

import {
  sealBlock,
  STATE_BLOCK_HEAD_BYTES,
  STATE_BLOCK_PAYLOAD_BYTES_MAX,
  writeFinalBlock,
  writeStateHeader,
} from "../protocol/state_file.ts";
import { RECORD_BYTES } from "../swarm/peer_lists.ts";
import { STATE_RECORD_HEAD_BYTES } from "../swarm/state_record.ts";
import { Swarm } from "../swarm/swarm.ts";

const BUFFER_BYTES = 1 << 20;
const SLICE_TORRENTS = 4096;

/** Totals of one export, filled in as it runs. */
export interface StateExportTotals {
  torrents: number;
  peers: number;
  /** State records written (a large torrent takes several); the final block counts them. */
  records: number;
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

  /** Seals the open block; the blocks not yet handed out. */
  finish(): Uint8Array {
    this.nextBlock();
    return this.buf.subarray(0, this.#block);
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
  const counts = [swarm.table.familyCount(slot, 0), swarm.table.familyCount(slot, 1)];
  const range = { a4: 0, n4: 0, a6: 0, n6: 0 };
  do {
    let room = w.room - STATE_RECORD_HEAD_BYTES;
    const left4 = counts[0] - range.a4;
    const left6 = counts[1] - range.a6;
    // A block too full for the header and one peer (or the header of an empty torrent).
    const needs = left4 > 0 ? RECORD_BYTES[0] : left6 > 0 ? RECORD_BYTES[1] : 0;
    if (room < needs) {
      w.nextBlock();
      continue;
    }
    range.n4 = Math.min(left4, Math.floor(room / RECORD_BYTES[0]));
    room -= range.n4 * RECORD_BYTES[0];
    range.n6 = Math.min(left6, Math.floor(room / RECORD_BYTES[1]));
    w.advance(swarm.table.exportRecord(slot, w.buf, w.end, range));
    range.a4 += range.n4;
    range.a6 += range.n6;
  } while (range.a4 < counts[0] || range.a6 < counts[1]);
  return counts[0] + counts[1];
}

/**
 * The whole state file of `swarm`, chunk by chunk: the header, sealed blocks, and at the end the
 * final block. `totals` counts the torrents, peers and records written.
 */
export async function* stateFileChunks(
  swarm: Swarm,
  peerTimeoutMinutes: number,
  nowSeconds: number,
  totals: StateExportTotals,
): AsyncGenerator<Uint8Array> {
  yield writeStateHeader(peerTimeoutMinutes, nowSeconds);
  yield* stateBlockChunks(swarm, totals);
  yield finalBlock(totals.records);
}

/** The final block of a state file of `records` records. */
export function finalBlock(records: number): Uint8Array {
  const out = new Uint8Array(STATE_BLOCK_HEAD_BYTES);
  writeFinalBlock(out, 0, records);
  return out;
}

/**
 * The sealed blocks of `swarm`'s torrents, chunk by chunk (each chunk is reused once the next
 * is asked for): the part of a state file between its header and its final block. With several
 * workers, the file is the header, each worker's blocks in turn, and the final block.
 */
export async function* stateBlockChunks(
  swarm: Swarm,
  totals: StateExportTotals,
): AsyncGenerator<Uint8Array> {
  const w = new BlockWriter();
  let next = 0;
  while (next >= 0) {
    const pending: number[] = [];
    next = swarm.table.visit(next, SLICE_TORRENTS, (slot) => pending.push(slot));
    for (const slot of pending) {
      totals.peers += writeTorrent(swarm, slot, w);
      totals.torrents++;
    }
    if (w.sealedBytes >= BUFFER_BYTES / 2) {
      // The consumer writes this before asking for more: the buffer is reused after.
      yield w.buf.subarray(0, w.sealedBytes);
      w.dropSealed();
    }
  }
  const rest = w.finish();
  totals.records += w.records;
  if (rest.length > 0) yield rest;
}
