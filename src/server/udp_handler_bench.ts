import { ConnectionIds } from "../protocol/connection_id.ts";
import { writeAnnounceRequest, writeConnectRequest } from "../protocol/udp.ts";
import { ipFromString } from "../util/ip.ts";
import { testLogic } from "../../tests/support/logic.ts";
import { UDP_REPLY_BYTES_MAX, UdpHandler } from "./udp_handler.ts";

const NOW = 1_800_000_000;
const { logic, counters } = testLogic();
const handler = new UdpHandler({
  logic,
  counters,
  connectionIds: new ConnectionIds(new Uint8Array(16).fill(3)),
});
const ip = ipFromString("192.0.2.1")!;
const out = new Uint8Array(UDP_REPLY_BYTES_MAX);
const connect = new Uint8Array(16);
writeConnectRequest(connect, 1);
handler.handle(connect, 16, ip, NOW, out);
const id = out.slice(8, 16);
const hash = new Uint8Array(20).fill(7);
const announces: Uint8Array[] = [];
for (let i = 0; i < 200; i++) {
  const b = new Uint8Array(98);
  writeAnnounceRequest(b, {
    connectionId: id,
    transactionId: i,
    infoHash: hash,
    port: 1000 + i,
    numwant: 30,
  });
  announces.push(b);
  handler.handle(b, 98, ip, NOW, out);
}

Deno.bench("UdpHandler: connect (issue a connection id)", () => {
  handler.handle(connect, 16, ip, NOW, out);
});

let i = 0;
Deno.bench(
  "UdpHandler: announce in a 200-peer swarm, numwant 30 (verify id, parse, swarm, encode)",
  () => {
    handler.handle(announces[i++ % 200], 98, ip, NOW, out);
  },
);
