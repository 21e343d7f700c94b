/**
 * Pseudo-random numbers for interval jitter and peer sampling: xorshift128, seeded explicitly so
 * that the swarm and its tests are deterministic. Secrets never come from here; they come from
 * `crypto.getRandomValues` in the composition root.
 */

/** A small, fast, seeded PRNG (xorshift128, period 2^128 - 1). */
export class Prng {
  #x: number;
  #y: number;
  #z: number;
  #w: number;

  /** `seed` holds four 32-bit words; an all-zero seed is replaced, since it would be a fixed point. */
  constructor(seed: Uint32Array | readonly number[]) {
    this.#x = seed[0] >>> 0;
    this.#y = seed[1] >>> 0;
    this.#z = seed[2] >>> 0;
    this.#w = (seed[3] >>> 0) || 0x9e3779b9;
  }

  /** Next unsigned 32-bit value. */
  next32(): number {
    const t = this.#x ^ (this.#x << 11);
    this.#x = this.#y;
    this.#y = this.#z;
    this.#z = this.#w;
    this.#w = (this.#w ^ (this.#w >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
    return this.#w;
  }

  /** Uniform integer in [0, n) for 0 < n <= 2^32 (multiply-shift; bias below 2^-32 · n). */
  below(n: number): number {
    return Math.floor((this.next32() * n) / 4294967296);
  }
}

/** A PRNG seeded from the platform CSPRNG. */
export function randomPrng(): Prng {
  return new Prng(crypto.getRandomValues(new Uint32Array(4)));
}
