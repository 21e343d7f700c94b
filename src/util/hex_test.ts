import { strictEqual, throws } from "node:assert/strict";
import { fromHex, hexDigit, putHexUpper, readHashLine, toHex } from "./hex.ts";

Deno.test("toHex() and fromHex() round-trip, either case in", () => {
  const bytes = new Uint8Array([0, 1, 0xab, 0xff, 0x10]);
  strictEqual(toHex(bytes), "0001abff10");
  strictEqual(toHex(bytes, 2, 2, true), "ABFF");
  strictEqual(toHex(fromHex("0001ABff10")), "0001abff10");
  throws(() => fromHex("abc"), /odd length/);
  throws(() => fromHex("zz"), /Not a hex digit/);
  strictEqual(hexDigit("f".charCodeAt(0)), 15);
  strictEqual(hexDigit("G".charCodeAt(0)), -1);
});

Deno.test("putHexUpper() writes upper-case digits into a buffer", () => {
  const out = new Uint8Array(6).fill(32);
  strictEqual(putHexUpper(out, 1, new Uint8Array([0xde, 0xad]), 0, 2), 5);
  strictEqual(new TextDecoder().decode(out), " DEAD ");
});

Deno.test("readHashLine() takes exactly 40 hex digits at the start of a line", () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  const out = new Uint8Array(20);
  const hash = "0123456789ABCDEFabcdef0123456789abcdef01";
  const line = enc(`${hash} comment`);
  strictEqual(readHashLine(line, 0, line.length, out), true);
  strictEqual(toHex(out), hash.toLowerCase());
  const exact = enc(hash);
  strictEqual(readHashLine(exact, 0, exact.length, out), true);
  const long = enc(`${hash}0`);
  strictEqual(readHashLine(long, 0, long.length, out), false, "41 digits");
  const short = enc(hash.slice(1));
  strictEqual(readHashLine(short, 0, short.length, out), false);
  const bad = enc(`${hash.slice(0, 39)}g`);
  strictEqual(readHashLine(bad, 0, bad.length, out), false);
});
