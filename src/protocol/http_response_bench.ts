import { writeAnnounceBody } from "./http_response.ts";

const out = new Uint8Array(16384);
const peers4 = new Uint8Array(6 * 50).fill(9);
const peers6 = new Uint8Array(18 * 10).fill(7);
const reply = {
  seeders: 1234,
  leechers: 567,
  downloaded: 89012,
  interval: 1800,
  n4: 50,
  n6: 10,
  writePeers(f: number, dst: Uint8Array, off: number): number {
    const p = f === 0 ? peers4 : peers6;
    dst.set(p, off);
    return off + p.length;
  },
};

Deno.bench("writeAnnounceBody: 50 IPv4 + 10 IPv6 peers", () => {
  writeAnnounceBody(out, 0, reply);
});
