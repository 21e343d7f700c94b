import { writeAnnounceBody } from "./http_response.ts";

const out = new Uint8Array(16384);
const fields = {
  seeders: 1234,
  leechers: 567,
  downloaded: 89012,
  peers4: new Uint8Array(6 * 50).fill(9),
  n4: 50,
  peers6: new Uint8Array(18 * 10).fill(7),
  n6: 10,
};

Deno.bench("writeAnnounceBody: 50 IPv4 + 10 IPv6 peers", () => {
  writeAnnounceBody(out, 0, fields, 1800);
});
