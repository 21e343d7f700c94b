import { strictEqual } from "node:assert/strict";
import { ipFromString } from "../util/ip.ts";
import { ConnectionIds } from "./connection_id.ts";

const KEY = Uint8Array.from({ length: 16 }, (_, i) => 100 + i);
const ALICE = ipFromString("192.0.2.1")!;
const BOB = ipFromString("2001:db8::2")!;
const T0 = 1_800_000_000;

function issued(ids: ConnectionIds, ip: Uint8Array, now: number): Uint8Array {
  const id = new Uint8Array(8);
  ids.issue(ip, 0, now, id, 0);
  return id;
}

Deno.test("ConnectionIds.verify() accepts an id for 2 minutes plus the tolerance", () => {
  const ids = new ConnectionIds(KEY, { lifetimeSeconds: 120, toleranceSeconds: 240 });
  const id = issued(ids, ALICE, T0);
  strictEqual(ids.verify(id, 0, ALICE, 0, T0), true);
  strictEqual(ids.verify(id, 0, ALICE, 0, T0 + 120), true);
  strictEqual(ids.verify(id, 0, ALICE, 0, T0 + 300), true, "reused for 5 minutes");
  strictEqual(ids.verify(id, 0, ALICE, 0, T0 + 360), true);
  strictEqual(ids.verify(id, 0, ALICE, 0, T0 + 361), false, "expired");
});

Deno.test("ConnectionIds.verify() rejects another address, another key and tampering", () => {
  const ids = new ConnectionIds(KEY);
  const id = issued(ids, ALICE, T0);
  strictEqual(ids.verify(id, 0, BOB, 0, T0), false);
  const other = new ConnectionIds(Uint8Array.from({ length: 16 }, (_, i) => i));
  strictEqual(other.verify(id, 0, ALICE, 0, T0), false);
  for (let byte = 0; byte < 8; byte++) {
    for (let bit = 0; bit < 8; bit++) {
      const forged = id.slice();
      forged[byte] ^= 1 << bit;
      strictEqual(ids.verify(forged, 0, ALICE, 0, T0 + 1), false, `flipped bit ${bit} of ${byte}`);
    }
  }
});

Deno.test("ConnectionIds.verify() rejects timestamps from the future", () => {
  const ids = new ConnectionIds(KEY);
  const id = issued(ids, ALICE, T0 + 10);
  strictEqual(ids.verify(id, 0, ALICE, 0, T0), false);
  strictEqual(ids.verify(id, 0, ALICE, 0, T0 + 10), true);
});

Deno.test("ConnectionIds.issue() gives different ids to different addresses", () => {
  const ids = new ConnectionIds(KEY);
  const a = issued(ids, ALICE, T0);
  const b = issued(ids, BOB, T0);
  strictEqual(a.slice(0, 4).join(), b.slice(0, 4).join(), "same time field");
  strictEqual(a.slice(4).join() === b.slice(4).join(), false, "different MAC");
});
