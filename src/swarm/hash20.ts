/**
 * The keyed hash of a 20-byte info_hash used by the swarm's torrent table and by the access
 * list's set: all five words are mixed with secret per-process seed words, so that nobody can
 * choose info_hashes that pile into one probe chain (hash flooding). Not a MAC; only the bucket
 * positions depend on it.
 */

/** 32-bit keyed hash of `h[o..o+20)` under `seed` (four CSPRNG words). */
export function hash20(seed: Uint32Array, h: Uint8Array, o: number): number {
  let x = seed[0];
  for (let i = 0; i < 20; i += 4) {
    const w = h[o + i] | (h[o + i + 1] << 8) | (h[o + i + 2] << 16) | (h[o + i + 3] << 24);
    x = Math.imul(x ^ w ^ seed[1 + ((i >> 2) % 3)], 0x9e3779b1);
    x ^= x >>> 15;
  }
  x = Math.imul(x ^ (x >>> 13), 0x85ebca6b);
  return (x ^ (x >>> 16)) >>> 0;
}
