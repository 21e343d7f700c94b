import { deepStrictEqual, rejects } from "node:assert/strict";
import { startInOrder } from "./start_in_order.ts";

/** `count` things whose completion the test decides: `finish(i)` ends the i-th. */
function things(count: number) {
  const log: string[] = [];
  const ends = Array.from({ length: count }, () => Promise.withResolvers<number>());
  return {
    log,
    begin: (i: number) => log.push(`begin ${i}`),
    done: (i: number) => ends[i].promise,
    finish: (i: number) => {
      log.push(`end ${i}`);
      ends[i].resolve(i * 10);
    },
    fail: (i: number) => ends[i].reject(new Error(`thing ${i} failed`)),
  };
}

/**
 * Lets the starter run until it waits again: its every step is a promise reaction (a microtask),
 * and all of them have run before the next task of the event loop.
 */
const settle = () => new Promise((r) => setTimeout(r, 0));

Deno.test("startInOrder: two at once; the third begins when the first is done, in order", async () => {
  const t = things(4);
  const all = startInOrder(4, 2, t.begin, t.done);
  await settle();
  deepStrictEqual(t.log, ["begin 0", "begin 1"]);
  // The second is done first: nothing more begins until the first is.
  t.finish(1);
  await settle();
  deepStrictEqual(t.log, ["begin 0", "begin 1", "end 1"]);
  t.finish(0);
  await settle();
  deepStrictEqual(t.log.slice(3), ["end 0", "begin 2", "begin 3"]);
  t.finish(2);
  t.finish(3);
  deepStrictEqual(await all, [0, 10, 20, 30]);
});

Deno.test("startInOrder: all at once, the last one held until beforeLast resolves", async () => {
  const t = things(3);
  const hold = Promise.withResolvers<void>();
  const all = startInOrder(3, 3, t.begin, t.done, () => hold.promise);
  await settle();
  deepStrictEqual(t.log, ["begin 0", "begin 1"]);
  t.finish(0);
  hold.resolve();
  await settle();
  deepStrictEqual(t.log, ["begin 0", "begin 1", "end 0", "begin 2"]);
  t.finish(1);
  t.finish(2);
  deepStrictEqual(await all, [0, 10, 20]);
});

Deno.test("startInOrder: one at a time, and the first failure in order rejects", async () => {
  const t = things(3);
  const all = startInOrder(3, 0, t.begin, t.done);
  await settle();
  deepStrictEqual(t.log, ["begin 0"]);
  t.finish(0);
  await settle();
  deepStrictEqual(t.log, ["begin 0", "end 0", "begin 1"]);
  t.fail(1);
  await rejects(all, /thing 1 failed/);
  deepStrictEqual(t.log, ["begin 0", "end 0", "begin 1"]);
});
