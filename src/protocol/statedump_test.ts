import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { parseStatedump, parseStatedumpLine, writeStatedumpLine } from "./statedump.ts";

Deno.test("parseStatedumpLine() reads what the statedump writes and rejects the rest", () => {
  const line = parseStatedumpLine(`${"ab".repeat(20)}:29000000:12\r`);
  deepStrictEqual(line && [line.hash[0], line.baseMinutes, line.downloaded], [0xab, 29000000, 12]);
  for (
    const bad of [
      "",
      "ab".repeat(20),
      `${"ab".repeat(19)}zz:1:2`,
      `${"ab".repeat(20)}:x:2`,
      `${"ab".repeat(20)}:1`,
      `${"ab".repeat(20)}:1:2:3`,
      `${"ab".repeat(20)} :1:2`,
    ]
  ) {
    strictEqual(parseStatedumpLine(bad), null, bad);
  }
});

Deno.test("parseStatedump() reads what writeStatedumpLine() writes and names the bad lines", () => {
  const out = new Uint8Array(200);
  const hash = Uint8Array.from({ length: 20 }, (_, i) => i * 13);
  let off = writeStatedumpLine(out, 0, hash, 0, { baseMinutes: 29_000_000, downloaded: 4 });
  off = writeStatedumpLine(out, off, hash.map((b) => b ^ 0xff), 0, {
    baseMinutes: 1,
    downloaded: 0,
  });
  const text = String.fromCharCode(...out.subarray(0, off)) + "junk\n\n" + "zz".repeat(20) +
    ":1:2\n";
  const dump = parseStatedump(text);
  deepStrictEqual(
    Array.from({ length: dump.count }, (_, i) => [
      [...dump.hashes.subarray(20 * i, 20 * i + 20)],
      dump.baseMinutes[i],
      dump.downloaded[i],
    ]),
    [
      [[...hash], 29_000_000, 4],
      [[...hash.map((b) => b ^ 0xff)], 1, 0],
    ],
  );
  deepStrictEqual([dump.badCount, dump.badLines], [2, [3, 5]]);
});
