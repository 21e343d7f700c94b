import { strictEqual } from "node:assert/strict";
import {
  GIVE_BACK_GAP_MS,
  giveBackHere,
  GiveBackPolicy,
  RELEASED_BYTES_MIN,
  SETTLED_MS,
} from "./memory_giveback.ts";

const MiB = 1 << 20;

Deno.test("GiveBackPolicy: once a burst of growth has settled, never while it goes on", () => {
  const p = new GiveBackPolicy();
  strictEqual(p.due(0, 10 * MiB), false, "the state at start is not a change");
  for (let t = 1000; t <= 30_000; t += 1000) strictEqual(p.due(t, 10 * MiB + t * 100), false);
  strictEqual(p.due(30_000 + SETTLED_MS - 1, 13 * MiB), false, "still growing");
  strictEqual(p.due(30_000 + SETTLED_MS, 13 * MiB), false, "changed just now");
  strictEqual(p.due(30_000 + 2 * SETTLED_MS, 13 * MiB), true, "settled");
  strictEqual(p.due(30_000 + 4 * SETTLED_MS, 13 * MiB), false, "given back already");
});

Deno.test("GiveBackPolicy: when the store released enough, at most every GIVE_BACK_GAP_MS", () => {
  const p = new GiveBackPolicy();
  p.due(0, 40 * MiB);
  strictEqual(p.due(1000, 40 * MiB - RELEASED_BYTES_MIN + 1), false);
  strictEqual(p.due(2000, 40 * MiB - RELEASED_BYTES_MIN), true);
  strictEqual(p.due(3000, 30 * MiB), false, "too soon");
  strictEqual(p.due(2000 + GIVE_BACK_GAP_MS, 30 * MiB), true);
});

Deno.test("giveBackHere() collects and trims when granted (the tests run with both)", () => {
  const giveBack = giveBackHere();
  strictEqual(typeof giveBack, "function");
  giveBack!();
});
