import { strictEqual } from "node:assert/strict";
import { sipHash24, SipKey, sipOut } from "./siphash.ts";

// Reference vectors of the SipHash paper: key 00..0f, message 00..(n-1); output little-endian.
const VECTORS: [number, string][] = [
  [0, "310e0edd47db6f72"],
  [1, "fd67dc93c539f874"],
  [2, "5a4fa9d909806c0d"],
  [8, "6224939a79f5f593"],
  [15, "e545be4961ca29a1"],
];

Deno.test("sipHash24() matches the reference vectors", () => {
  const key = new SipKey(Uint8Array.from({ length: 16 }, (_, i) => i));
  const msg = Uint8Array.from({ length: 64 }, (_, i) => i);
  for (const [n, expected] of VECTORS) {
    sipHash24(key, msg, 0, n);
    const bytes = new Uint8Array(8);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, sipOut.lo, true);
    view.setUint32(4, sipOut.hi, true);
    const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
    strictEqual(hex, expected, `message length ${n}`);
  }
});

/** SipHash-2-4 as the paper writes it, on BigInt lanes: slow, and plainly correct. */
function reference(key: Uint8Array, msg: Uint8Array): bigint {
  const mask = (1n << 64n) - 1n;
  const le64 = (b: Uint8Array, o: number) =>
    new DataView(b.buffer, b.byteOffset).getBigUint64(o, true);
  const rotl = (x: bigint, b: bigint) => ((x << b) | (x >> (64n - b))) & mask;
  const k0 = le64(key, 0);
  const k1 = le64(key, 8);
  let v0 = k0 ^ 0x736f6d6570736575n;
  let v1 = k1 ^ 0x646f72616e646f6dn;
  let v2 = k0 ^ 0x6c7967656e657261n;
  let v3 = k1 ^ 0x7465646279746573n;
  const round = () => {
    v0 = (v0 + v1) & mask;
    v1 = rotl(v1, 13n) ^ v0;
    v0 = rotl(v0, 32n);
    v2 = (v2 + v3) & mask;
    v3 = rotl(v3, 16n) ^ v2;
    v0 = (v0 + v3) & mask;
    v3 = rotl(v3, 21n) ^ v0;
    v2 = (v2 + v1) & mask;
    v1 = rotl(v1, 17n) ^ v2;
    v2 = rotl(v2, 32n);
  };
  const blocks = msg.length >> 3;
  for (let i = 0; i < blocks; i++) {
    const m = le64(msg, 8 * i);
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
  let last = BigInt(msg.length & 0xff) << 56n;
  for (let j = 0; j < (msg.length & 7); j++) last |= BigInt(msg[8 * blocks + j]) << BigInt(8 * j);
  v3 ^= last;
  round();
  round();
  v0 ^= last;
  v2 ^= 0xffn;
  for (let r = 0; r < 4; r++) round();
  return v0 ^ v1 ^ v2 ^ v3;
}

Deno.test("sipHash24() equals the plain BigInt SipHash for every length up to 70, any key and offset", () => {
  const bytes = crypto.getRandomValues(new Uint8Array(16 + 3 + 70));
  for (let trial = 0; trial < 4; trial++) {
    crypto.getRandomValues(bytes);
    const keyBytes = bytes.slice(0, 16);
    const key = new SipKey(keyBytes);
    const off = 16 + trial % 3;
    for (let n = 0; n <= 70; n++) {
      sipHash24(key, bytes, off, n);
      const got = (BigInt(sipOut.hi) << 32n) | BigInt(sipOut.lo);
      strictEqual(
        got,
        reference(keyBytes, bytes.slice(off, off + n)),
        `length ${n}, offset ${off}`,
      );
    }
  }
});
