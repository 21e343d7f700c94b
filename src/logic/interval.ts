/**
 * Announce intervals with jitter, as opentracker chooses them: `base - variation/2 + rand(variation)`, fresh per reply,
 * so that clients which started together drift apart.
 */

import { DEFAULTS } from "../types.ts";
import { Prng } from "../util/random.ts";

/** Options for {@link announceInterval}. */
export interface IntervalOptions {
  /** Base interval. Default 1800 s. */
  baseSeconds: number;
  /** Width of the jitter window. Default 360 s. */
  variationSeconds: number;
  /** The fork's base interval for popular torrents; 0 = off (upstream). */
  popularBaseSeconds?: number;
  /** A torrent is popular when the requester's family list has more peers than this. */
  popularThresholdPeers?: number;
  /** First lifetime of a probation peer (0 = none): it is told to renew within half of it. */
  probationSeconds?: number;
}

/**
 * A randomised announce interval in seconds. `familyPeers` (the requester's family list size
 * after the announce) selects the fork's popular interval when that is configured; stop replies
 * pass 0 and always get the normal interval. A peer on `probation` is told to come back within
 * half its probation (jittered by a tenth), so that a real client renews before it is dropped.
 */
export function announceInterval(
  prng: Prng,
  o: IntervalOptions,
  familyPeers = 0,
  probation = false,
): number {
  if (probation && (o.probationSeconds ?? 0) > 0) {
    const half = Math.floor(o.probationSeconds! / 2);
    const jitter = Math.floor(half / 10);
    return half - jitter + (jitter > 0 ? prng.below(jitter) : 0);
  }
  const v = o.variationSeconds;
  const popular = (o.popularBaseSeconds ?? 0) > 0 &&
    familyPeers > (o.popularThresholdPeers ?? DEFAULTS.popularThresholdPeers);
  const base = popular ? o.popularBaseSeconds! : o.baseSeconds;
  return base - (v >> 1) + (v > 0 ? prng.below(v) : 0);
}
