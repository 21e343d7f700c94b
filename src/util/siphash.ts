/**
 * SipHash-2-4 (Aumasson and Bernstein), a keyed pseudo-random function for short inputs.
 *
 * Used for UDP connection ids: it is synchronous and allocation-free, unlike WebCrypto HMAC
 * (asynchronous) or node:crypto (an object per call), and with a 128-bit key from a CSPRNG an
 * attacker who sees ids for its own addresses cannot forge ids for others.
 *
 * 64-bit lanes are kept as pairs of 32-bit halves because JavaScript numbers are not 64-bit
 * integers and BigInt allocates.
 */

function readLe32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

/** A SipHash-2-4 key: 16 bytes, read as two little-endian 64-bit words. */
export class SipKey {
  readonly k0h: number;
  readonly k0l: number;
  readonly k1h: number;
  readonly k1l: number;
  constructor(key: Uint8Array) {
    if (key.length !== 16) throw new RangeError(`SipHash key must be 16 bytes, got ${key.length}`);
    this.k0l = readLe32(key, 0);
    this.k0h = readLe32(key, 4);
    this.k1l = readLe32(key, 8);
    this.k1h = readLe32(key, 12);
  }
}

/** Result halves of the last {@link sipHash24} call. */
export const sipOut = { hi: 0, lo: 0 };

/**
 * Hashes `data[off, off+len)` with `key`; the 64-bit result is left in {@link sipOut}
 * (hi and lo as unsigned 32-bit numbers).
 *
 * The state lives in local variables, one SipRound written once: with the lanes in a typed array
 * and a round and a rotation as functions (not inlined), a hash cost about twice as much.
 */
export function sipHash24(key: SipKey, data: Uint8Array, off: number, len: number): void {
  let v0h = (key.k0h ^ 0x736f6d65) >>> 0;
  let v0l = (key.k0l ^ 0x70736575) >>> 0;
  let v1h = (key.k1h ^ 0x646f7261) >>> 0;
  let v1l = (key.k1l ^ 0x6e646f6d) >>> 0;
  let v2h = (key.k0h ^ 0x6c796765) >>> 0;
  let v2l = (key.k0l ^ 0x6e657261) >>> 0;
  let v3h = (key.k1h ^ 0x74656462) >>> 0;
  let v3l = (key.k1l ^ 0x79746573) >>> 0;
  const blocks = len >>> 3;
  // Step b < blocks compresses message word b, step `blocks` the last bytes with the length in
  // the top byte (two rounds each); the step after it is the finalisation (four rounds).
  for (let b = 0; b <= blocks + 1; b++) {
    let mh = 0;
    let ml = 0;
    let rounds = 2;
    if (b < blocks) {
      ml = readLe32(data, off + 8 * b);
      mh = readLe32(data, off + 8 * b + 4);
    } else if (b === blocks) {
      const at = off + 8 * blocks;
      mh = (len & 0xff) << 24;
      for (let j = 0; j < (len & 7); j++) {
        if (j < 4) ml |= data[at + j] << (8 * j);
        else mh |= data[at + j] << (8 * (j - 4));
      }
      mh >>>= 0;
      ml >>>= 0;
    } else {
      v2l = (v2l ^ 0xff) >>> 0;
      rounds = 4;
    }
    v3h = (v3h ^ mh) >>> 0;
    v3l = (v3l ^ ml) >>> 0;
    for (let r = 0; r < rounds; r++) {
      let lo: number;
      let t: number;
      // v0 += v1; v1 <<<= 13; v1 ^= v0; v0 <<<= 32
      lo = (v0l + v1l) >>> 0;
      v0h = (v0h + v1h + (lo < v0l ? 1 : 0)) >>> 0;
      v0l = lo;
      t = v1h;
      v1h = ((v1h << 13) | (v1l >>> 19)) >>> 0;
      v1l = ((v1l << 13) | (t >>> 19)) >>> 0;
      v1h = (v1h ^ v0h) >>> 0;
      v1l = (v1l ^ v0l) >>> 0;
      t = v0h;
      v0h = v0l;
      v0l = t;
      // v2 += v3; v3 <<<= 16; v3 ^= v2
      lo = (v2l + v3l) >>> 0;
      v2h = (v2h + v3h + (lo < v2l ? 1 : 0)) >>> 0;
      v2l = lo;
      t = v3h;
      v3h = ((v3h << 16) | (v3l >>> 16)) >>> 0;
      v3l = ((v3l << 16) | (t >>> 16)) >>> 0;
      v3h = (v3h ^ v2h) >>> 0;
      v3l = (v3l ^ v2l) >>> 0;
      // v0 += v3; v3 <<<= 21; v3 ^= v0
      lo = (v0l + v3l) >>> 0;
      v0h = (v0h + v3h + (lo < v0l ? 1 : 0)) >>> 0;
      v0l = lo;
      t = v3h;
      v3h = ((v3h << 21) | (v3l >>> 11)) >>> 0;
      v3l = ((v3l << 21) | (t >>> 11)) >>> 0;
      v3h = (v3h ^ v0h) >>> 0;
      v3l = (v3l ^ v0l) >>> 0;
      // v2 += v1; v1 <<<= 17; v1 ^= v2; v2 <<<= 32
      lo = (v2l + v1l) >>> 0;
      v2h = (v2h + v1h + (lo < v2l ? 1 : 0)) >>> 0;
      v2l = lo;
      t = v1h;
      v1h = ((v1h << 17) | (v1l >>> 15)) >>> 0;
      v1l = ((v1l << 17) | (t >>> 15)) >>> 0;
      v1h = (v1h ^ v2h) >>> 0;
      v1l = (v1l ^ v2l) >>> 0;
      t = v2h;
      v2h = v2l;
      v2l = t;
    }
    v0h = (v0h ^ mh) >>> 0;
    v0l = (v0l ^ ml) >>> 0;
  }
  sipOut.hi = (v0h ^ v1h ^ v2h ^ v3h) >>> 0;
  sipOut.lo = (v0l ^ v1l ^ v2l ^ v3l) >>> 0;
}
