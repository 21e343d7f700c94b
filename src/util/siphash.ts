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

// State: v0..v3 as (hi, lo) pairs in a reused Int32Array: [v0h, v0l, v1h, v1l, v2h, v2l, v3h, v3l].
const s = new Uint32Array(8);

function add(a: number, b: number): void {
  // s[a] += s[b] (64-bit)
  const lo = (s[a + 1] + s[b + 1]) >>> 0;
  const carry = lo < s[a + 1] ? 1 : 0;
  s[a] = (s[a] + s[b] + carry) >>> 0;
  s[a + 1] = lo;
}

function rotl(a: number, n: number): void {
  const hi = s[a];
  const lo = s[a + 1];
  if (n === 32) {
    s[a] = lo;
    s[a + 1] = hi;
  } else if (n < 32) {
    s[a] = ((hi << n) | (lo >>> (32 - n))) >>> 0;
    s[a + 1] = ((lo << n) | (hi >>> (32 - n))) >>> 0;
  } else {
    const m = n - 32;
    s[a] = ((lo << m) | (hi >>> (32 - m))) >>> 0;
    s[a + 1] = ((hi << m) | (lo >>> (32 - m))) >>> 0;
  }
}

function xor(a: number, b: number): void {
  s[a] ^= s[b];
  s[a + 1] ^= s[b + 1];
}

function round(): void {
  add(0, 2); // v0 += v1
  rotl(2, 13);
  xor(2, 0);
  rotl(0, 32);
  add(4, 6); // v2 += v3
  rotl(6, 16);
  xor(6, 4);
  add(0, 6); // v0 += v3
  rotl(6, 21);
  xor(6, 0);
  add(4, 2); // v2 += v1
  rotl(2, 17);
  xor(2, 4);
  rotl(4, 32);
}

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

function compress(mh: number, ml: number): void {
  s[6] ^= mh;
  s[7] ^= ml;
  round();
  round();
  s[0] ^= mh;
  s[1] ^= ml;
}

/**
 * Hashes `data[off, off+len)` with `key`; the 64-bit result is left in {@link sipOut}
 * (hi and lo as unsigned 32-bit numbers).
 */
export function sipHash24(key: SipKey, data: Uint8Array, off: number, len: number): void {
  s[0] = key.k0h ^ 0x736f6d65;
  s[1] = key.k0l ^ 0x70736575;
  s[2] = key.k1h ^ 0x646f7261;
  s[3] = key.k1l ^ 0x6e646f6d;
  s[4] = key.k0h ^ 0x6c796765;
  s[5] = key.k0l ^ 0x6e657261;
  s[6] = key.k1h ^ 0x74656462;
  s[7] = key.k1l ^ 0x79746573;
  const end = off + len - (len % 8);
  let i = off;
  for (; i < end; i += 8) compress(readLe32(data, i + 4), readLe32(data, i));
  // Last block: remaining bytes, little-endian, with the length in the top byte.
  let lo = 0;
  let hi = (len & 0xff) << 24;
  const rest = len % 8;
  for (let j = 0; j < rest; j++) {
    const byte = data[i + j];
    if (j < 4) lo |= byte << (8 * j);
    else hi |= byte << (8 * (j - 4));
  }
  compress(hi >>> 0, lo >>> 0);
  s[5] ^= 0xff;
  round();
  round();
  round();
  round();
  sipOut.hi = (s[0] ^ s[2] ^ s[4] ^ s[6]) >>> 0;
  sipOut.lo = (s[1] ^ s[3] ^ s[5] ^ s[7]) >>> 0;
}
