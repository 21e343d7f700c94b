import { deepStrictEqual, strictEqual } from "node:assert/strict";
import {
  readStateRecord,
  STATE_RECORD_HEAD_BYTES,
  stateRecordBytes,
  StateRecordHead,
  writeStateRecordHead,
} from "./state_record.ts";
import { LIMITS } from "../types.ts";

function record(v4: number[][], v6: number[][] = []): Uint8Array {
  const out = new Uint8Array(stateRecordBytes(v4.length, v6.length));
  const hash = new Uint8Array(20).fill(0xab);
  let p = writeStateRecordHead(out, 0, hash, 0, {
    downloaded: 7,
    base4: 100,
    base6: 200,
    n4: v4.length,
    n6: v6.length,
  });
  for (const r of v4) (out.set(r, p), p += 8);
  for (const r of v6) (out.set(r, p), p += 20);
  return out;
}

const head = (): StateRecordHead => ({ downloaded: 0, base4: 0, base6: 0, n4: 0, n6: 0 });

Deno.test("state record: header round trip and the one length formula", () => {
  strictEqual(stateRecordBytes(0, 0), STATE_RECORD_HEAD_BYTES);
  strictEqual(stateRecordBytes(2, 1), 40 + 16 + 20);
  const v6a = new Array(20).fill(0);
  const v6b = [...new Array(17).fill(0), 1, 0, 0];
  const r = record([[10, 0, 0, 1, 0, 1, 0x80, 3], [10, 0, 0, 2, 0, 1, 0, 0]], [v6a, v6b]);
  const h = head();
  strictEqual(readStateRecord(r, 0, r.length, h), r.length);
  deepStrictEqual(h, { downloaded: 7, base4: 100, base6: 200, n4: 2, n6: 2 });
  strictEqual(r[0], 0xab);
});

Deno.test("state record: truncated, unsorted, duplicate or oversized records are refused", () => {
  const a = [10, 0, 0, 1, 0, 1, 0, 0];
  const b = [10, 0, 0, 2, 0, 1, 0, 0];
  const good = record([a, b]);
  strictEqual(readStateRecord(good, 0, good.length - 1, head()), -1, "truncated");
  strictEqual(readStateRecord(good, 0, 39, head()), -1, "header cut");
  const unsorted = record([b, a]);
  strictEqual(readStateRecord(unsorted, 0, unsorted.length, head()), -1);
  const duplicate = record([a, a]);
  strictEqual(readStateRecord(duplicate, 0, duplicate.length, head()), -1);
  // Flags and age do not take part in the order.
  const sameKey = record([a, [10, 0, 0, 1, 0, 1, 0x80, 9]]);
  strictEqual(readStateRecord(sameKey, 0, sameKey.length, head()), -1);
  const huge = record([]);
  new DataView(huge.buffer).setUint32(32, LIMITS.peersPerListMax + 1);
  strictEqual(readStateRecord(huge, 0, huge.length, head()), -1);
});

Deno.test("state record: read at an offset inside a larger buffer", () => {
  const r = record([[1, 2, 3, 4, 0, 80, 0, 0]]);
  const buf = new Uint8Array(5 + r.length + 3);
  buf.set(r, 5);
  const h = head();
  strictEqual(readStateRecord(buf.subarray(0), 5, 5 + r.length, h), r.length);
  strictEqual(h.n4, 1);
});
