/**
 * Announce intervals with jitter (§2.6): `base - variation/2 + rand(variation)`, fresh per reply,
 * so that clients which started together drift apart.
 */

import { Prng } from "../util/random.ts";

/** Options for {@link announceInterval}. */
export interface IntervalOptions {
  /** Base interval. Default 1800 s. */
  baseSeconds: number;
  /** Width of the jitter window. Default 360 s. */
  variationSeconds: number;
}

/** A randomised announce interval in seconds. */
export function announceInterval(prng: Prng, o: IntervalOptions): number {
  const v = o.variationSeconds;
  return o.baseSeconds - (v >> 1) + (v > 0 ? prng.below(v) : 0);
}
