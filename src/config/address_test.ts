import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { ipFromString } from "../util/ip.ts";
import { formatNet, netContains, parseHostPort, parseNet } from "./address.ts";

Deno.test("parseHostPort() reads opentracker's address[:port] forms", () => {
  const cases: [string, string | null][] = [
    ["1.2.3.4", "1.2.3.4 6969"],
    ["1.2.3.4:80", "1.2.3.4 80"],
    ["  10.0.0.1:2710 trailing", "10.0.0.1 2710"],
    ["[2001:db8::1]:8080", "2001:db8::1 8080"],
    ["[::]", ":: 6969"],
    ["::1.6969", "::1 6969"],
    ["::1.80", "::1 80"],
    ["2001:db8::2", "2001:db8::2 6969"],
    ["1.2.3.4:99999", "1.2.3.4 9999"],
    ["6969", null],
    ["1.2.3", null],
    ["[::1", null],
    ["1.2.3.4:x", null],
    ["host.example:80", null],
  ];
  for (const [text, expected] of cases) {
    const r = parseHostPort(text, 6969);
    strictEqual(r === null ? null : `${r.host} ${r.port}`, expected, text);
  }
});

Deno.test("parseNet() reads address[/bits] with IPv4 prefixes over the mapped form", () => {
  deepStrictEqual(parseNet("10.0.0.0/8")?.bits, 104);
  deepStrictEqual(parseNet("10.0.0.1")?.bits, 128);
  deepStrictEqual(parseNet("2001:db8::/32")?.bits, 32);
  for (const bad of ["10.0.0.0/33", "192.168/16", "::/129", "10.0.0.0/x", "nonsense"]) {
    strictEqual(parseNet(bad), null, bad);
  }
  strictEqual(formatNet(parseNet("10.0.0.0/8")!), "10.0.0.0/8");
  strictEqual(formatNet(parseNet("::1")!), "::1");
});

Deno.test("netContains() matches whole and partial prefix bytes", () => {
  const net = parseNet("192.168.16.0/20")!;
  strictEqual(netContains(net, ipFromString("192.168.31.255")!), true);
  strictEqual(netContains(net, ipFromString("192.168.32.0")!), false);
  strictEqual(netContains(parseNet("::/0")!, ipFromString("1.2.3.4")!), true);
  strictEqual(netContains(parseNet("2001:db8::/32")!, ipFromString("2001:db8:1::1")!), true);
  strictEqual(netContains(parseNet("2001:db8::/32")!, ipFromString("2001:db9::1")!), false);
});
