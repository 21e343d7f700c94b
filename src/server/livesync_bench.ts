import { LIVESYNC, LivesyncOutbox, sealLivesync } from "../protocol/livesync.ts";
import { ipFromString } from "../util/ip.ts";
import { Prng } from "../util/random.ts";
import { testLogic } from "../../tests/support/logic.ts";
import { LivesyncReceiver } from "./livesync_handler.ts";

const NOW = 1_800_000_000;
const SENDER = ipFromString("10.0.0.1")!;
const STRANGER = ipFromString("10.0.0.2")!;
const KEY = new Uint8Array(32).fill(7);

function receiver(key: Uint8Array | null): LivesyncReceiver {
  const { logic, counters } = testLogic();
  return new LivesyncReceiver({
    logic,
    counters,
    trackerId: Uint8Array.of(9, 9, 9, 9),
    trusted: (ip) => ip[15] === SENDER[15],
    key,
  });
}

// A full IPv4 packet with room for the trailer: 51 peers of 51 torrents.
let packet = new Uint8Array(0);
const box = new LivesyncOutbox(
  Uint8Array.of(1, 2, 3, 4),
  LIVESYNC.trailerBytes,
  1000,
  (p) => packet = p.slice(),
);
const prng = new Prng([4, 3, 2, 1]);
for (let i = 0; i < 51; i++) {
  const h = new Uint8Array(20);
  for (let k = 0; k < 20; k++) h[k] = prng.below(256);
  box.add(h, ipFromString(`10.1.${i}.1`)!, 6881, 0, 0);
}
const plain = receiver(null);
const sealedReceiver = receiver(KEY);
const sealed = new Uint8Array(LIVESYNC.packetBytesMax + 1);
sealed.set(packet);
const sealedBytes = sealLivesync(sealed, packet.length, KEY, NOW);

Deno.bench("live sync: drop a packet from an untrusted sender", () => {
  plain.receive(packet, packet.length, STRANGER, NOW);
});
Deno.bench("live sync: apply a full packet (51 IPv4 renewals)", () => {
  plain.receive(packet, packet.length, SENDER, NOW);
});
Deno.bench("live sync: verify the HMAC and apply a full packet", () => {
  sealedReceiver.receive(sealed, sealedBytes, SENDER, NOW);
});
