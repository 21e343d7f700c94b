import { deepStrictEqual, strictEqual } from "node:assert";
import { Gatherings } from "./gatherings.ts";

/** A coordinator of `count` workers that records what it asks each. */
function recorder(count: number) {
  const asked: [number, number, string][] = [];
  const g = new Gatherings<string, null>(
    count,
    (index, id, what) => asked.push([index, id, what]),
  );
  return { g, asked };
}

Deno.test("a gathering asked before every worker started waits, then asks them all", () => {
  const { g, asked } = recorder(3);
  const got: unknown[][] = [];
  g.start("figures", null, (data) => got.push(data));
  // Worker 2 may not have a tracker yet: nobody is asked.
  deepStrictEqual(asked, []);
  strictEqual(g.waiting, 1);
  g.open();
  deepStrictEqual(asked, [[0, 1, "figures"], [1, 1, "figures"], [2, 1, "figures"]]);
  g.collected(2, 1, "c");
  g.collected(0, 1, "a");
  deepStrictEqual(got, []);
  g.collected(1, 1, "b");
  // In worker order, whatever the order of the answers.
  deepStrictEqual(got, [["a", "b", "c"]]);
  strictEqual(g.waiting, 0);
});

Deno.test("gatherings after the start go out at once; a stray or repeated answer is ignored", () => {
  const { g, asked } = recorder(2);
  g.open();
  const got: unknown[][] = [];
  g.start("scan", null, (data) => got.push(data));
  g.start("woodpeckers", null, (data) => got.push(data));
  deepStrictEqual(asked.map(([, id, what]) => `${id}:${what}`), [
    "1:scan",
    "1:scan",
    "2:woodpeckers",
    "2:woodpeckers",
  ]);
  g.collected(0, 2, "w0");
  g.collected(0, 9, "stray");
  g.collected(1, 2, "w1");
  g.collected(1, 2, "again");
  deepStrictEqual(got, [["w0", "w1"]]);
  strictEqual(g.waiting, 1);
});
