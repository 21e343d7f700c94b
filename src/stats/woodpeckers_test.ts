import { strictEqual } from "node:assert/strict";
import { Woodpeckers } from "./woodpeckers.ts";
import { ipFromString } from "../util/ip.ts";

const ip = (text: string) => ipFromString(text)!;

Deno.test("Woodpeckers counts per /28 network, IPv4 and IPv6 apart, largest first", () => {
  const w = new Woodpeckers();
  for (let i = 0; i < 3; i++) w.record(ip("10.0.0.1"));
  w.record(ip("10.0.0.15")); // same /28
  w.record(ip("10.0.0.16")); // next /28
  for (let i = 0; i < 2; i++) w.record(ip("2001:db8::1"));
  strictEqual(
    w.render(),
    "Networks, limit /28:\n" +
      "00000004: 10.0.0.0/28\n" +
      "00000002: 2001:db0::/28\n" +
      "00000001: 10.0.0.16/28\n\n",
  );
});

Deno.test("Woodpeckers.decay() halves counts and forgets networks that reach zero", () => {
  const w = new Woodpeckers();
  for (let i = 0; i < 5; i++) w.record(ip("192.0.2.1"));
  w.record(ip("198.51.100.1"));
  w.decay();
  strictEqual(w.render(), "Networks, limit /28:\n00000002: 192.0.2.0/28\n\n");
  w.decay();
  w.decay();
  strictEqual(w.render(), "Networks, limit /28:\n\n");
});

Deno.test("Woodpeckers keeps its table bounded and prints at most 128 networks", () => {
  const w = new Woodpeckers();
  const addr = new Uint8Array(16);
  addr[10] = addr[11] = 0xff;
  // 70,000 distinct IPv4 /28s: more than the table holds.
  for (let n = 0; n < 70000; n++) {
    const v = n << 4;
    addr[12] = v >>> 24;
    addr[13] = (v >>> 16) & 255;
    addr[14] = (v >>> 8) & 255;
    addr[15] = v & 255;
    w.record(addr);
  }
  // A network first seen after the table filled is not counted, even when seen again.
  w.record(addr);
  const lines = w.render().trim().split("\n");
  strictEqual(lines.length, 1 + 128);
  strictEqual(lines.every((l, i) => i === 0 || l.startsWith("00000001: ")), true);
});
