import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { ThrottledLog, timesSince } from "./throttled_log.ts";

Deno.test("ThrottledLog: the first occurrence at once, then a line per period with the count", () => {
  const lines: string[] = [];
  const log = new ThrottledLog((l) => lines.push(l), 10_000);
  const say = (n: number) => `failed${timesSince(n)}`;
  strictEqual(log.report(0, say), true);
  for (let t = 1; t < 10_000; t += 1000) strictEqual(log.report(t, say), false);
  strictEqual(log.report(10_000, say), true);
  strictEqual(log.report(25_000, say), true);
  deepStrictEqual(lines, ["failed", "failed (11 times since the last report)", "failed"]);
});

Deno.test("ThrottledLog.failed: the error's stack, or only its message", () => {
  const lines: string[] = [];
  const log = new ThrottledLog((l) => lines.push(l), 0);
  const error = new Error("broken");
  log.failed("UDP receive", error, true);
  log.failed("UDP request", error);
  log.failed("Live sync packet", "a string");
  strictEqual(lines[0], "UDP receive failed: broken");
  strictEqual(lines[1], `UDP request failed: ${error.stack}`);
  strictEqual(lines[2], "Live sync packet failed: a string");
});
