/**
 * The state record: one torrent's header and a part of its peers, as the state file stores them
 * (the swarm writes and reads records; protocol/state_file.ts frames them into blocks). A large
 * torrent is written as several records with the same header, so that a damaged block of the
 * file loses only some of its peers.
 *
 * | offset | size   | field                                      |
 * | ------ | ------ | ------------------------------------------ |
 * | 0      | 20     | info_hash                                  |
 * | 20     | 4      | downloaded (both families)                 |
 * | 24     | 4      | base minutes of the IPv4 list              |
 * | 28     | 4      | base minutes of the IPv6 list              |
 * | 32     | 4      | IPv4 peers in this record, n4              |
 * | 36     | 4      | IPv6 peers in this record, n6              |
 * | 40     | 8·n4   | IPv4 peer records (peer_lists.ts layout)   |
 * | …      | 20·n6  | IPv6 peer records                          |
 *
 * All integers big-endian; peers strictly ascending by address and port, as stored.
 *
 * Pure. Must not import anything outside swarm/, types.ts and util/.
 */

import { LIMITS } from "../types.ts";
import { KEY_BYTES, RECORD_BYTES } from "./peer_lists.ts";

/** Bytes of a record's header. */
export const STATE_RECORD_HEAD_BYTES = 40;

/** Bytes of a record with `n4` IPv4 and `n6` IPv6 peers: the one length formula. */
export function stateRecordBytes(n4: number, n6: number): number {
  return STATE_RECORD_HEAD_BYTES + RECORD_BYTES[0] * n4 + RECORD_BYTES[1] * n6;
}

/** The fields of a record's header. */
export interface StateRecordHead {
  downloaded: number;
  base4: number;
  base6: number;
  n4: number;
  n6: number;
}

/** Writes a record's header (the info_hash `hash[ho..ho+20)`) at `out[off]`; returns its end. */
export function writeStateRecordHead(
  out: Uint8Array,
  off: number,
  hash: Uint8Array,
  ho: number,
  head: StateRecordHead,
): number {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  out.set(hash.subarray(ho, ho + 20), off);
  view.setUint32(off + 20, head.downloaded);
  view.setUint32(off + 24, head.base4);
  view.setUint32(off + 28, head.base6);
  view.setUint32(off + 32, head.n4);
  view.setUint32(off + 36, head.n6);
  return off + STATE_RECORD_HEAD_BYTES;
}

/**
 * Reads the header of the record at `data[off..end)` into `head` and checks the record: whole,
 * within the limits, peers strictly ascending. Returns its length, or -1 when it is malformed.
 */
export function readStateRecord(
  data: Uint8Array,
  off: number,
  end: number,
  head: StateRecordHead,
): number {
  if (off + STATE_RECORD_HEAD_BYTES > end) return -1;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  head.downloaded = view.getUint32(off + 20);
  head.base4 = view.getUint32(off + 24);
  head.base6 = view.getUint32(off + 28);
  head.n4 = view.getUint32(off + 32);
  head.n6 = view.getUint32(off + 36);
  if (head.n4 > LIMITS.peersPerListMax || head.n6 > LIMITS.peersPerListMax) return -1;
  const length = stateRecordBytes(head.n4, head.n6);
  if (off + length > end) return -1;
  // Peer records must be strictly ascending by address and port, as the binary search needs.
  let p = off + STATE_RECORD_HEAD_BYTES;
  for (let f = 0; f < 2; f++) {
    const n = f === 0 ? head.n4 : head.n6;
    const rec = RECORD_BYTES[f];
    for (let k = 1; k < n; k++) {
      let cmp = 0;
      for (let b = 0; b < KEY_BYTES[f] && cmp === 0; b++) {
        cmp = data[p + k * rec + b] - data[p + (k - 1) * rec + b];
      }
      if (cmp <= 0) return -1;
    }
    p += n * rec;
  }
  return length;
}
