import { strictEqual } from "node:assert/strict";
import { ACTION_KIND, Counters, HTTP_ERROR, PROTOCOL, requestIndex } from "./counters.ts";

Deno.test("requestIndex() gives every protocol × family × action its own slot", () => {
  const c = new Counters();
  const seen = new Set<number>();
  for (const p of Object.values(PROTOCOL)) {
    for (const v6 of [false, true]) {
      for (const a of Object.values(ACTION_KIND)) seen.add(requestIndex(p, v6, a));
    }
  }
  strictEqual(seen.size, 16);
  strictEqual(Math.max(...seen) < c.requests.length, true);
  strictEqual(Math.min(...seen), 0);
});

Deno.test("HTTP error slots follow opentracker's failed[] order and fit the counters", () => {
  const c = new Counters();
  const slots = Object.values(HTTP_ERROR);
  strictEqual(new Set(slots).size, slots.length);
  strictEqual(slots.length, c.httpErrors.length);
  // herr and /metrics rely on this order: 302 first, 500 last.
  strictEqual(HTTP_ERROR.redirect302, 0);
  strictEqual(HTTP_ERROR.notModest402, 4);
  strictEqual(HTTP_ERROR.server500, 8);
});
