import { ok } from "node:assert/strict";
import { Prng } from "../util/random.ts";
import { announceInterval } from "./interval.ts";

Deno.test("announceInterval() uses the popular interval only above the threshold", () => {
  const prng = new Prng([1, 1, 1, 1]);
  const o = {
    baseSeconds: 7200,
    variationSeconds: 360,
    popularBaseSeconds: 10560,
    popularThresholdPeers: 50,
  };
  for (let i = 0; i < 100; i++) {
    const normal = announceInterval(prng, o, 50);
    ok(normal >= 7020 && normal <= 7379, `normal ${normal}`);
    const popular = announceInterval(prng, o, 51);
    ok(popular >= 10380 && popular <= 10739, `popular ${popular}`);
    const upstream = announceInterval(prng, { baseSeconds: 1800, variationSeconds: 360 }, 1000);
    ok(upstream >= 1620 && upstream <= 1979, `upstream ${upstream}`);
  }
});

Deno.test("announceInterval() tells a probation peer to come back within half its probation", () => {
  const prng = new Prng([2, 2, 2, 2]);
  const o = { baseSeconds: 1800, variationSeconds: 360, probationSeconds: 600 };
  for (let i = 0; i < 100; i++) {
    const short = announceInterval(prng, o, 1, true);
    ok(short >= 270 && short <= 300, `probation ${short}`);
    const normal = announceInterval(prng, o, 1, false);
    ok(normal >= 1620 && normal <= 1979, `normal ${normal}`);
  }
  // Without a probation configured, the flag changes nothing.
  const off = announceInterval(prng, { baseSeconds: 1800, variationSeconds: 0 }, 1, true);
  ok(off === 1800, `off ${off}`);
});
