import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { toHex } from "../util/hex.ts";
import { describeLoad, implausible, parseAccessList } from "./access_list.ts";

const A = "0123456789abcdef0123456789abcdef01234567";
const B = "89ABCDEF0123456789ABCDEF0123456789ABCDEF";
const C = "fedcba9876543210fedcba9876543210fedcba98";

const parse = (text: string) => parseAccessList(new TextEncoder().encode(text));

Deno.test("parseAccessList() takes lines that start with 40 hex digits, reports odd ones", () => {
  const r = parse([
    `${A}`,
    `${B} # a comment after the hash`,
    `# a comment`,
    ``,
    `  ${C}`, // indented: ignored, as in opentracker
    `${C}0`, // 41 hex digits
    `not a hash`,
    `${A}\r`, // CRLF, duplicate
    `${C.slice(0, 39)}`,
    `${C}`, // last line without newline
  ].join("\n"));
  strictEqual(r.lines, 4);
  deepStrictEqual(
    Array.from({ length: 4 }, (_, i) => toHex(r.hashes, 20 * i, 20)),
    [A, B.toLowerCase(), A, C],
  );
  strictEqual(r.oddCount, 4);
  strictEqual(r.oddLines.join(","), "5,6,7,9");
  strictEqual(
    describeLoad("list", r, 3),
    "Loaded 3 info_hashes from list (1 duplicate); 4 lines are not a hash and were ignored " +
      "(lines 5, 6, 7, 9)",
  );
  strictEqual(
    describeLoad("list", parse(`${A}\nnot a hash\n${B}\n${A}\n${B}\n`), 2),
    "Loaded 2 info_hashes from list (2 duplicates); 1 line is not a hash and was ignored (line 2)",
  );
});

Deno.test("implausible() refuses lines without a single hash, not an empty list", () => {
  strictEqual(implausible(parse(`${A}\nnot a hash\n`)), null);
  strictEqual(implausible(parse("")), null);
  strictEqual(implausible(parse("# nothing today\n\n")), null);
  strictEqual(
    implausible(parse("<html>\n502 Bad Gateway\n")),
    "no info_hash in it, and 2 lines are not a hash (lines 1, 2): not an access list, or " +
      "written only in part",
  );
});
