/**
 * Writes the state file (protocol/state_file.ts) without stalling announces: torrents are
 * exported a slice at a time into ~1 MiB blocks, each written with an await, so the event loop
 * runs between slices. The file is written beside its final path, fsynced and renamed over it,
 * so a crash mid-write leaves the previous state file intact.
 */

import { finalBlock, frameBlock, writeStateHeader } from "../protocol/state_file.ts";
import { Swarm } from "../swarm/swarm.ts";

const BLOCK_BYTES = 1 << 20;
const SLICE_TORRENTS = 4096;

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
    let block = new Uint8Array(BLOCK_BYTES);
    let used = 0;
    const flush = async () => {
      if (used === 0) return;
      const framed = frameBlock(block.subarray(0, used));
      await writeAll(file, framed);
      bytes += framed.length;
      used = 0;
    };
    let next = 0;
    while (next >= 0) {
      const pending: number[] = [];
      next = swarm.visit(next, SLICE_TORRENTS, (slot) => pending.push(slot));
      for (const slot of pending) {
        let size = swarm.exportSize(slot);
        if (used + size > block.length) {
          await flush();
          // Announces ran during the await: the torrent may be gone or have grown.
          if (!swarm.slotUsed(slot)) continue;
          size = swarm.exportSize(slot);
          if (size > block.length) block = new Uint8Array(size);
        }
        const at = used;
        used = swarm.exportTorrent(slot, block, used);
        torrents++;
        peers += countPeers(block, at);
      }
      await flush();
    }
    const tail = finalBlock(torrents);
    await writeAll(file, tail);
    bytes += tail.length;
    await file.sync();
  } finally {
    file.close();
  }
  await Deno.rename(tmp, path);
  return { torrents, peers, bytes, milliseconds: performance.now() - started };
}

function countPeers(block: Uint8Array, off: number): number {
  const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
  return view.getUint32(off + 32) + view.getUint32(off + 36);
}
