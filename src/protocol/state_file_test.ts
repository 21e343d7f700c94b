import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { crc32 } from "../util/crc32.ts";
import {
  readStateFile,
  sealBlock,
  STATE_BLOCK_HEAD_BYTES,
  STATE_HEADER_BYTES,
  writeFinalBlock,
  writeStateHeader,
} from "./state_file.ts";

/** A version 2 file of `blocks` (each a list of records' bytes; one record = one byte here). */
function fileOf(blocks: number[][], records = blocks.flat().length): Uint8Array {
  const out = new Uint8Array(4096 * (blocks.length + 2));
  out.set(writeStateHeader(45, 1.8e9));
  let at = STATE_HEADER_BYTES;
  for (const b of blocks) {
    out.set(b, at + STATE_BLOCK_HEAD_BYTES);
    at = sealBlock(out, at, b.length);
  }
  return out.slice(0, writeFinalBlock(out, at, records));
}

/** Reads `data`, taking every byte of a block as one record; the records seen. */
function read(data: Uint8Array) {
  const seen: number[] = [];
  const report = readStateFile(data, (d, s, e) => {
    seen.push(...d.subarray(s, e));
    return e - s;
  });
  return { report, seen };
}

Deno.test("readStateFile() reads a whole file and its final count", () => {
  const { report, seen } = read(fileOf([[1, 2, 3], [4, 5], [6]]));
  deepStrictEqual(seen, [1, 2, 3, 4, 5, 6]);
  deepStrictEqual(
    [report.records, report.damage, report.writtenAtSeconds, report.damagedBlocks],
    [6, null, 1.8e9, 0],
  );
});

Deno.test("readStateFile() keeps what precedes a truncation", () => {
  const file = fileOf([[1, 2], [3, 4]]);
  const { report, seen } = read(file.subarray(0, file.length - 5));
  deepStrictEqual(seen, [1, 2, 3, 4]);
  ok(report.damage?.startsWith("truncated at byte"), report.damage ?? "");
  const cut = read(file.subarray(0, STATE_HEADER_BYTES + STATE_BLOCK_HEAD_BYTES + 3));
  deepStrictEqual(cut.seen, [1, 2]);
  ok(cut.report.damage !== null);
});

Deno.test("readStateFile() loses only the damaged block, wherever the damage is", () => {
  const blocks = [[1, 1, 1], [2, 2, 2], [3, 3, 3], [4, 4, 4]];
  const file = fileOf(blocks);
  const second = STATE_HEADER_BYTES + (STATE_BLOCK_HEAD_BYTES + 3);
  // Every byte of the second block, head included: marker, length, CRC or payload.
  for (let at = second; at < second + STATE_BLOCK_HEAD_BYTES + 3; at++) {
    for (const flip of [0x01, 0x80, 0xff]) {
      const damaged = file.slice();
      damaged[at] ^= flip;
      const { report, seen } = read(damaged);
      deepStrictEqual(seen, [1, 1, 1, 3, 3, 3, 4, 4, 4], `byte ${at} ^ ${flip}`);
      strictEqual(report.damagedBlocks, 1);
      ok(report.damage?.includes(`block at byte ${second}`), report.damage ?? "");
    }
  }
});

Deno.test("readStateFile() does not take a length damaged to 0 for the end of the file", () => {
  const file = fileOf([[1, 2], [3, 4], [5, 6]]);
  const damaged = file.slice();
  new DataView(damaged.buffer).setUint32(STATE_HEADER_BYTES + STATE_BLOCK_HEAD_BYTES + 2 + 4, 0);
  const { report, seen } = read(damaged);
  deepStrictEqual(seen, [1, 2, 5, 6]);
  strictEqual(report.damagedBlocks, 1);
});

Deno.test("readStateFile() reads on after several damaged blocks and says how much it skipped", () => {
  const file = fileOf([[1], [2], [3], [4], [5]]);
  const damaged = file.slice();
  const block = (i: number) => STATE_HEADER_BYTES + i * (STATE_BLOCK_HEAD_BYTES + 1);
  damaged[block(1) + STATE_BLOCK_HEAD_BYTES] ^= 1;
  damaged[block(3) + 4] ^= 0x40;
  const { report, seen } = read(damaged);
  deepStrictEqual(seen, [1, 3, 5]);
  strictEqual(report.damagedBlocks, 2);
  ok(report.damage?.endsWith("(2 damaged blocks, 26 bytes skipped)"), report.damage ?? "");
});

Deno.test("readStateFile() still reads version 1 files (one large block, no markers)", () => {
  const payload = Uint8Array.of(7, 8, 9);
  const out = new Uint8Array(STATE_HEADER_BYTES + 8 + 3 + 8);
  out.set(writeStateHeader(45, 1.7e9));
  const view = new DataView(out.buffer);
  view.setUint32(8, 1);
  view.setUint32(STATE_HEADER_BYTES, 3);
  view.setUint32(STATE_HEADER_BYTES + 4, crc32(payload));
  out.set(payload, STATE_HEADER_BYTES + 8);
  view.setUint32(STATE_HEADER_BYTES + 11 + 4, 3);
  const { report, seen } = read(out);
  deepStrictEqual(seen, [7, 8, 9]);
  deepStrictEqual([report.records, report.damage, report.writtenAtSeconds], [3, null, 1.7e9]);
});

Deno.test("readStateFile() names what it cannot read", () => {
  strictEqual(
    read(new TextEncoder().encode("not a state file at all, no")).report.damage,
    "not a state file (bad magic)",
  );
  ok(read(new Uint8Array(3)).report.damage?.startsWith("shorter than its header"));
  const future = fileOf([[1]]);
  new DataView(future.buffer).setUint32(8, 9);
  strictEqual(read(future).report.damage, "unknown format version 9");
});
