import { strictEqual } from "node:assert/strict";
import {
  CLASS_NAME,
  CLASS_PATH,
  CLASS_VALUE,
  decimal,
  parseDecimal,
  STOP,
  UrlScanner,
} from "./url_query.ts";

const bytes = (s: string) => new Uint8Array([...s].map((c) => c.charCodeAt(0)));
const text = (u: UrlScanner) => String.fromCharCode(...u.bytes.subarray(0, u.length));

Deno.test("UrlScanner walks path, names and values with opentracker's delimiters", () => {
  const u = new UrlScanner(64);
  u.reset(bytes("/announce?info_hash=%00%FFab&port=6881&x"), 0);
  strictEqual(u.decode(CLASS_PATH), STOP.question);
  strictEqual(text(u), "/announce");
  strictEqual(u.decode(CLASS_NAME), STOP.equals);
  strictEqual(u.equals("info_hash"), true);
  strictEqual(u.decode(CLASS_VALUE), STOP.ampersand);
  strictEqual(u.length, 4);
  strictEqual(u.bytes[0], 0);
  strictEqual(u.bytes[1], 255);
  strictEqual(text(u).slice(2), "ab");
  strictEqual(u.decode(CLASS_NAME), STOP.equals);
  strictEqual(u.startsWith("po"), true);
  strictEqual(u.startsWith("port="), false);
  strictEqual(u.decode(CLASS_VALUE), STOP.ampersand);
  strictEqual(text(u), "6881");
  // A name without "=" stops at the end.
  strictEqual(u.decode(CLASS_NAME), STOP.end);
  strictEqual(text(u), "x");
  strictEqual(u.atEnd(), true);
  strictEqual(u.peek(), -1);
});

Deno.test("UrlScanner: a name ended by & leaves the & for the caller", () => {
  const u = new UrlScanner(16);
  u.reset(bytes("compact&port=1"), 0);
  strictEqual(u.decode(CLASS_NAME), STOP.ampersand);
  strictEqual(text(u), "compact");
  strictEqual(u.peek(), 38);
});

Deno.test("UrlScanner stops at a space, CR, LF or NUL as the end of the target", () => {
  const u = new UrlScanner(16);
  for (const end of [" ", "\r", "\n", "\0"]) {
    u.reset(bytes(`/stats${end}HTTP`), 0);
    strictEqual(u.decode(CLASS_PATH), STOP.end);
    strictEqual(text(u), "/stats");
  }
  // A range ends where the caller says.
  u.reset(bytes("xx/scrapeyy"), 2, 9);
  strictEqual(u.decode(CLASS_PATH), STOP.end);
  strictEqual(text(u), "/scrape");
});

Deno.test("UrlScanner refuses characters outside the class, bad escapes and overlong segments", () => {
  const u = new UrlScanner(4);
  const cases: [string, number][] = [
    ["a=b", CLASS_PATH], // = is not allowed in a path
    ["a@b", CLASS_NAME], // @ only in values
    ["a\u00e9", CLASS_VALUE], // bytes >= 128 never
    ["%4", CLASS_VALUE], // truncated escape
    ["%zz", CLASS_VALUE], // not hex
    ["abcde", CLASS_VALUE], // longer than the capacity
    ["%41%41%41%41%41", CLASS_VALUE], // decoded length over capacity
  ];
  for (const [t, cls] of cases) {
    u.reset(bytes(t), 0);
    strictEqual(u.decode(cls), STOP.error, t);
  }
  u.reset(bytes("a?=@"), 0);
  strictEqual(u.decode(CLASS_VALUE), STOP.end);
  strictEqual(text(u), "a?=@");
});

Deno.test("UrlScanner lenient mode keeps a stray % as a plain character", () => {
  const u = new UrlScanner(16);
  u.reset(bytes("5%zz%4&"), 0);
  strictEqual(u.decode(CLASS_VALUE, true), STOP.ampersand);
  strictEqual(text(u), "5%zz%4");
  u.reset(bytes("%41"), 0);
  strictEqual(u.decode(CLASS_VALUE, true), STOP.end);
  strictEqual(text(u), "A");
  const small = new UrlScanner(1);
  small.reset(bytes("a%"), 0);
  strictEqual(small.decode(CLASS_VALUE, true), STOP.error);
});

Deno.test("parseDecimal() needs the whole segment, saturates, and reports sign and zero", () => {
  const parse = (s: string) => parseDecimal(bytes(s), s.length);
  strictEqual(parse("6881"), true);
  strictEqual(decimal.value, 6881);
  strictEqual(decimal.zero, false);
  strictEqual(parse("-0"), true);
  strictEqual(decimal.zero, true);
  strictEqual(decimal.negative, false);
  strictEqual(parse("-12"), true);
  strictEqual(decimal.value, -12);
  strictEqual(decimal.negative, true);
  // Beyond 32 bits stays large (opentracker wrapped 4294967296 to zero, making a seeder).
  strictEqual(parse("4294967296"), true);
  strictEqual(decimal.value, 4294967296);
  strictEqual(decimal.zero, false);
  strictEqual(parse("99999999999999999999999"), true);
  strictEqual(decimal.value >= 2 ** 53, true);
  for (const bad of ["", "-", "12a", "+1", " 1", "1.0"]) strictEqual(parse(bad), false, bad);
  strictEqual(decimal.ok, false);
});
