import { ok, strictEqual } from "node:assert/strict";
import { fromHex } from "../util/hex.ts";
import { AccessControl, hashSetOf } from "./access.ts";
import { HashSet20 } from "../swarm/hash_set.ts";

const SEED = Uint32Array.of(11, 22, 33, 44);
const A = "0123456789abcdef0123456789abcdef01234567";
const B = "89ABCDEF0123456789ABCDEF0123456789ABCDEF";

Deno.test("hashSetOf() builds the set of packed hashes, duplicates once", () => {
  const packed = new Uint8Array(60);
  packed.set(fromHex(A), 0);
  packed.set(fromHex(B), 20);
  packed.set(fromHex(A), 40);
  const set = hashSetOf(packed, SEED);
  strictEqual(set.size, 2);
  ok(set.has(fromHex(A)) && set.has(fromHex(B)));
});

Deno.test("AccessControl applies the FIFO changesets with their intended semantics", () => {
  const list = new HashSet20(SEED);
  list.add(fromHex(A));
  const white = new AccessControl("whitelist", list, SEED);
  ok(white.allowed(fromHex(A)));
  ok(!white.allowed(fromHex(B)));
  white.fifoAdd(fromHex(B));
  ok(white.allowed(fromHex(B)), "added through the FIFO");
  white.fifoDelete(fromHex(A));
  ok(!white.allowed(fromHex(A)), "deleted through the FIFO although in the file");
  white.fifoAdd(fromHex(A));
  ok(white.allowed(fromHex(A)), "added again");
  white.fifoDelete(fromHex(B));
  ok(!white.allowed(fromHex(B)));
  // A reload empties both changesets.
  white.replaceList(list);
  ok(white.allowed(fromHex(A)) && !white.allowed(fromHex(B)));

  const black = new AccessControl("blacklist", list, SEED);
  ok(!black.allowed(fromHex(A)) && black.allowed(fromHex(B)));
  black.fifoAdd(fromHex(B));
  ok(!black.allowed(fromHex(B)));
  black.fifoDelete(fromHex(A));
  ok(black.allowed(fromHex(A)));
});
