import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { formatIp, ipFromString, isV4Mapped, parseIp } from "./ip.ts";

Deno.test("parseIp() maps IPv4 into ::ffff:0:0/96", () => {
  const ip = ipFromString("10.0.0.1")!;
  deepStrictEqual([...ip], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 10, 0, 0, 1]);
  strictEqual(isV4Mapped(ip), true);
  strictEqual(formatIp(ip), "10.0.0.1");
});

Deno.test("parseIp() reads IPv6 forms and formats them per RFC 5952", () => {
  const cases: [string, string][] = [
    ["::1", "::1"],
    ["::", "::"],
    ["2001:db8::1", "2001:db8::1"],
    ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["fe80::1%eth0", "fe80::1"],
    ["::ffff:1.2.3.4", "1.2.3.4"],
    ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
    ["1::8", "1::8"],
    ["1:0:0:2:0:0:0:3", "1:0:0:2::3"],
    ["64:ff9b::192.0.2.33", "64:ff9b::c000:221"],
  ];
  for (const [text, formatted] of cases) {
    const ip = ipFromString(text);
    if (ip === null) throw new Error(`did not parse ${text}`);
    strictEqual(formatIp(ip), formatted, text);
  }
});

Deno.test("parseIp() rejects malformed addresses", () => {
  for (
    const text of [
      "",
      "192.168",
      "1.2.3.256",
      "1.2.3.4.5",
      "1..2.3",
      "a.b.c.d",
      ":::",
      "1:2:3:4:5:6:7:8:9",
      "1::2::3",
      "12345::1",
      "1:",
      ":1",
      "::g",
      "1:2:3:4:5:6:7::8:9",
      "1:2:3:4:5:6:7:8::",
    ]
  ) {
    strictEqual(parseIp(text, new Uint8Array(16)), false, `accepted "${text}"`);
  }
});
