import { strictEqual } from "node:assert/strict";
import { crc32 } from "./crc32.ts";

Deno.test("crc32() matches the IEEE check values", () => {
  const text = new TextEncoder().encode("123456789");
  strictEqual(crc32(text), 0xcbf43926);
  strictEqual(crc32(new Uint8Array(0)), 0);
  strictEqual(
    crc32(new TextEncoder().encode("The quick brown fox jumps over the lazy dog")),
    0x414fa339,
  );
});

Deno.test("crc32() of a range equals the CRC of that slice, and any flipped bit changes it", () => {
  const data = new Uint8Array(300).map((_, i) => (i * 31) & 255);
  strictEqual(crc32(data, 17, 200), crc32(data.slice(17, 217)));
  const whole = crc32(data);
  for (let bit = 0; bit < 300 * 8; bit += 97) {
    const copy = data.slice();
    copy[bit >> 3] ^= 1 << (bit & 7);
    strictEqual(crc32(copy) === whole, false);
  }
});
