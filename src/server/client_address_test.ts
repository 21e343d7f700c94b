import { strictEqual } from "node:assert/strict";
import { netContains, parseNet } from "../config/address.ts";
import { formatIp, ipFromString } from "../util/ip.ts";
import { ClientAddress } from "./client_address.ts";

const proxies = [parseNet("10.0.0.0/8")!, parseNet("2001:db8::/32")!];
const resolver = new ClientAddress((ip) => proxies.some((n) => netContains(n, ip)));

function client(socket: string, xff: string | null): string {
  const out = new Uint8Array(16);
  resolver.resolve(ipFromString(socket)!, xff, out);
  return formatIp(out);
}

Deno.test("ClientAddress.resolve() takes the right-most untrusted X-Forwarded-For entry", () => {
  const cases: [string, string | null, string][] = [
    ["10.0.0.1", "203.0.113.7", "203.0.113.7"],
    ["10.0.0.1", "1.1.1.1, 203.0.113.7", "203.0.113.7"], // the left entry is client-written
    ["10.0.0.1", "203.0.113.7, 10.9.9.9", "203.0.113.7"], // two trusted hops
    ["10.0.0.1", "  198.51.100.2 ,\t2001:db8::5 ", "198.51.100.2"],
    ["10.0.0.1", "[2001:db9::1]", "2001:db9::1"],
    ["10.0.0.1", "garbage, 203.0.113.7", "203.0.113.7"],
    ["10.0.0.1", "203.0.113.7, garbage", "10.0.0.1"], // unparsable: stop at the last trusted hop
    ["10.0.0.1", "10.1.1.1", "10.1.1.1"], // only trusted hops: the left-most of them
    ["10.0.0.1", "", "10.0.0.1"],
    ["10.0.0.1", null, "10.0.0.1"],
    ["192.0.2.1", "203.0.113.7", "192.0.2.1"], // socket peer is not a trusted proxy
  ];
  for (const [socket, xff, expected] of cases) strictEqual(client(socket, xff), expected, `${xff}`);
});
