/**
 * Hex encoding for logs, stats and tests. Never used on the announce path (conventions rule 7).
 */

const DIGITS_UPPER = "0123456789ABCDEF";
const DIGITS_LOWER = "0123456789abcdef";

/** Hex text of `bytes[off, off+len)`, lower case unless `upper`. */
export function toHex(bytes: Uint8Array, off = 0, len = bytes.length - off, upper = false): string {
  const digits = upper ? DIGITS_UPPER : DIGITS_LOWER;
  let out = "";
  for (let i = off; i < off + len; i++) out += digits[bytes[i] >> 4] + digits[bytes[i] & 15];
  return out;
}

/**
 * Writes `bytes[off, off+len)` as upper-case hex digits into `out` at `at`; returns the offset
 * after them. For streamed outputs (full scrapes, statedumps), where a string per torrent would
 * be garbage.
 */
export function putHexUpper(
  out: Uint8Array,
  at: number,
  bytes: Uint8Array,
  off: number,
  len: number,
): number {
  for (let i = off; i < off + len; i++) {
    out[at++] = DIGITS_UPPER.charCodeAt(bytes[i] >> 4);
    out[at++] = DIGITS_UPPER.charCodeAt(bytes[i] & 15);
  }
  return at;
}

/** Value of one hex digit's char code, or -1. */
export function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Bytes of a hex string; throws on odd length or a non-hex digit. */
export function fromHex(text: string): Uint8Array {
  if (text.length % 2 !== 0) throw new SyntaxError(`Hex text has odd length: "${text}"`);
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = hexDigit(text.charCodeAt(2 * i));
    const lo = hexDigit(text.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) throw new SyntaxError(`Not a hex digit in "${text}" at ${2 * i}`);
    out[i] = (hi << 4) | lo;
  }
  return out;
}

/**
 * Reads a hash line of an access list: true when `bytes[off, end)` starts with 40 hex digits (either case)
 * not followed by another hex digit; the 20 bytes go to `out`. Access-list files and the FIFO
 * changesets share this rule.
 */
export function readHashLine(
  bytes: Uint8Array,
  off: number,
  end: number,
  out: Uint8Array,
): boolean {
  if (end - off < 40) return false;
  for (let k = 0; k < 40; k++) {
    const v = hexDigit(bytes[off + k]);
    if (v < 0) return false;
    if (k % 2 === 0) out[k >> 1] = v << 4;
    else out[k >> 1] |= v;
  }
  return off + 40 === end || hexDigit(bytes[off + 40]) < 0;
}
