import { ok, strictEqual } from "node:assert/strict";
import { restoreWindow, ringDataBytes } from "./cluster.ts";

Deno.test("ringDataBytes: 4 MiB each way for few workers, at most 64 MiB over all rings", () => {
  strictEqual(ringDataBytes(2), 4 << 20);
  strictEqual(ringDataBytes(4), 4 << 20); // 12 rings, 48 MiB
  strictEqual(ringDataBytes(5), 2 << 20); // 20 rings
  strictEqual(ringDataBytes(8), 1 << 20); // 56 rings
  for (let n = 2; n <= 32; n++) ok(ringDataBytes(n) * n * (n - 1) <= 64 << 20, `${n} workers`);
  // Never under 64 KiB (a ring must carry the largest record).
  strictEqual(ringDataBytes(64), 64 << 10);
});

Deno.test("restoreWindow: every worker restores at once for small files, fewer for large ones", () => {
  strictEqual(restoreWindow(48, 0), 48); // no state file
  strictEqual(restoreWindow(48, 12 << 20), 48); // 1 M peers: 48 copies of 12 MB fit in 1 GiB
  strictEqual(restoreWindow(48, 120 << 20), 8); // 10 M peers
  strictEqual(restoreWindow(4, 4 * 2 ** 30), 1); // larger than the bound: one at a time
});
