import { ok, strictEqual } from "node:assert/strict";
import { LagMeter } from "./lag_meter.ts";

Deno.test("LagMeter reports a blocked event loop as lag, in seconds", async () => {
  const meter = new LagMeter();
  try {
    strictEqual(meter.lagSeconds, 0);
    // Block the loop for 400 ms: the 100 ms tick due meanwhile fires at least 300 ms late.
    const until = performance.now() + 400;
    while (performance.now() < until) { /* busy */ }
    // The figure appears when the one-second window closes; wait for it (bounded).
    const deadline = performance.now() + 5000;
    while (meter.lagSeconds === 0 && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    ok(meter.lagSeconds >= 0.3, `lag ${meter.lagSeconds}`);
  } finally {
    meter.close();
  }
});
