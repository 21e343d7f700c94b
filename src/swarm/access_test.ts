import { ok, strictEqual } from "node:assert/strict";
import { parseAccessList } from "../config/access_list.ts";
import { fromHex } from "../util/hex.ts";
import { AccessControl } from "./access.ts";
import { HashSet20 } from "./hash_set.ts";

const SEED = Uint32Array.of(11, 22, 33, 44);
const A = "0123456789abcdef0123456789abcdef01234567";
const B = "89ABCDEF0123456789ABCDEF0123456789ABCDEF";
const C = "fedcba9876543210fedcba9876543210fedcba98";

Deno.test("parseAccessList() takes lines that start with 40 hex digits, reports odd ones", () => {
  const text = [
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
  ].join("\n");
  const r = parseAccessList(new TextEncoder().encode(text), SEED);
  strictEqual(r.set.size, 3);
  strictEqual(r.lines, 4);
  ok(r.set.has(fromHex(A)) && r.set.has(fromHex(B)) && r.set.has(fromHex(C)));
  strictEqual(r.oddCount, 4);
  strictEqual(r.oddLines.join(","), "5,6,7,9");
});

Deno.test("HashSet20 adds, finds and deletes many keys", () => {
  const set = new HashSet20(SEED);
  const key = (i: number) => {
    const h = new Uint8Array(20);
    new DataView(h.buffer).setUint32(16, i);
    return h;
  };
  for (let i = 0; i < 50000; i++) ok(set.add(key(i)));
  ok(!set.add(key(7)), "duplicate");
  strictEqual(set.size, 50000);
  for (let i = 0; i < 50000; i += 2) ok(set.delete(key(i)));
  for (let i = 0; i < 50000; i++) strictEqual(set.has(key(i)), i % 2 === 1, `key ${i}`);
  strictEqual(set.size, 25000);
});

Deno.test("AccessControl applies the FIFO changesets with their intended semantics (§5.3)", () => {
  const list = new HashSet20(SEED);
  list.add(fromHex(A));
  const white = new AccessControl("whitelist", list, SEED);
  ok(white.allowed(fromHex(A)));
  ok(!white.allowed(fromHex(B)));
  white.fifoAdd(fromHex(B));
  ok(white.allowed(fromHex(B)), "added through the FIFO");
  white.fifoDelete(fromHex(A));
  ok(!white.allowed(fromHex(A)), "deleted through the FIFO although in the file");
  white.fifoAdd(fromHex(A));
  ok(white.allowed(fromHex(A)), "added again");
  white.fifoDelete(fromHex(B));
  ok(!white.allowed(fromHex(B)));
  // A reload empties both changesets.
  white.replaceList(list);
  ok(white.allowed(fromHex(A)) && !white.allowed(fromHex(B)));

  const black = new AccessControl("blacklist", list, SEED);
  ok(!black.allowed(fromHex(A)) && black.allowed(fromHex(B)));
  black.fifoAdd(fromHex(B));
  ok(!black.allowed(fromHex(B)));
  black.fifoDelete(fromHex(A));
  ok(black.allowed(fromHex(A)));
});
