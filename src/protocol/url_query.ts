/**
 * Binary-safe percent-decoding with opentracker's character classes (what it accepts in a
 * path, a parameter name and a value; anything else is a 400).
 *
 * `URLSearchParams` replaces invalid UTF-8 with U+FFFD and so destroys binary `info_hash`
 * values; this decoder works on the raw request target bytes as the client sent them and writes
 * decoded bytes into a caller-owned buffer. No strings, no regex, no allocation.
 *
 * Pure: no Deno APIs.
 */

import { hexDigit } from "../util/hex.ts";

/** Allowed in the path. */
export const CLASS_PATH = 1;
/** Allowed in a parameter name. */
export const CLASS_NAME = 2;
/** Allowed in a parameter value. */
export const CLASS_VALUE = 4;

/** Per-byte class bits; bytes >= 128 are never allowed (opentracker routes them to errors). */
const CLASSES = new Uint8Array(128);
{
  const all = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!%'()*+,-./:;<>_~";
  for (let i = 0; i < all.length; i++) {
    CLASSES[all.charCodeAt(i)] = CLASS_PATH | CLASS_NAME | CLASS_VALUE;
  }
  CLASSES[63 /* ? */] = CLASS_NAME | CLASS_VALUE;
  CLASSES[61 /* = */] = CLASS_VALUE;
  CLASSES[64 /* @ */] = CLASS_VALUE;
}

/** What ended a decoded segment. */
export const STOP = {
  /** End of the target (or a space, CR, LF or NUL, which cannot occur in a parsed URL). */
  end: 0,
  /** `?` ended a path (consumed). */
  question: 1,
  /** `=` ended a name (consumed). */
  equals: 2,
  /** `&` ended a name (not consumed) or a value (consumed). */
  ampersand: 3,
  /** A character outside the class or a bad `%` escape. */
  error: 4,
} as const;

/**
 * A cursor over one request target. `decode()` advances `pos` and leaves the decoded bytes in
 * `bytes[0, length)`.
 */
export class UrlScanner {
  /** Decoded bytes of the last segment. */
  readonly bytes: Uint8Array;
  /** Number of decoded bytes in {@link bytes}. */
  length = 0;
  /** Index into the target of the next char to read. */
  pos = 0;
  #text: Uint8Array = new Uint8Array(0);
  #end = 0;

  /** `capacityBytes` bounds a decoded segment; longer ones are an error. */
  constructor(capacityBytes: number) {
    this.bytes = new Uint8Array(capacityBytes);
  }

  /** Starts scanning the target bytes `text[start, end)`. */
  reset(text: Uint8Array, start: number, end = text.length): void {
    this.#text = text;
    this.pos = start;
    this.#end = end;
  }

  /** True when the cursor reached the end of the target. */
  atEnd(): boolean {
    return this.pos >= this.#end;
  }

  /** Byte at the cursor, or -1 at the end. */
  peek(): number {
    return this.pos < this.#end ? this.#text[this.pos] : -1;
  }

  /**
   * Decodes one segment of class `cls` (one of the CLASS_ constants) and returns a {@link STOP}
   * value. Delimiters as opentracker reads them: `?` ends a path, `=` ends a name, `&` ends a name or value.
   * `lenient` accepts a `%` that does not start a valid escape as a plain char.
   */
  decode(cls: number, lenient = false): number {
    const text = this.#text;
    const end = this.#end;
    const out = this.bytes;
    const cap = out.length;
    let n = 0;
    let i = this.pos;
    while (i < end) {
      const c = text[i];
      if (c === 32 || c === 13 || c === 10 || c === 0) break;
      if (c === 37 /* % */) {
        // opentracker skips the values of unknown parameters without checking their escapes.
        if (
          lenient && (i + 2 >= end || hexDigit(text[i + 1]) < 0 ||
            hexDigit(text[i + 2]) < 0)
        ) {
          if (n >= cap) {
            this.pos = i;
            this.length = n;
            return STOP.error;
          }
          out[n++] = c;
          i++;
          continue;
        }
        if (i + 2 >= end) {
          this.pos = i;
          this.length = n;
          return STOP.error;
        }
        const hi = hexDigit(text[i + 1]);
        const lo = hexDigit(text[i + 2]);
        if (hi < 0 || lo < 0 || n >= cap) {
          this.pos = i;
          this.length = n;
          return STOP.error;
        }
        out[n++] = (hi << 4) | lo;
        i += 3;
        continue;
      }
      if (c < 128 && (CLASSES[c] & cls) !== 0) {
        if (n >= cap) {
          this.pos = i;
          this.length = n;
          return STOP.error;
        }
        out[n++] = c;
        i++;
        continue;
      }
      // Delimiters, by class.
      let stop: number = STOP.error;
      if (c === 63 && cls === CLASS_PATH) {
        stop = STOP.question;
        i++;
      } else if (c === 61 && cls === CLASS_NAME) {
        stop = STOP.equals;
        i++;
      } else if (c === 38 /* & */ && cls === CLASS_NAME) {
        stop = STOP.ampersand;
      } else if (c === 38 && cls === CLASS_VALUE) {
        stop = STOP.ampersand;
        i++;
      }
      this.pos = i;
      this.length = n;
      return stop;
    }
    this.pos = i;
    this.length = n;
    return STOP.end;
  }

  /** True when the decoded bytes equal the ASCII text `word`. */
  equals(word: string): boolean {
    if (this.length !== word.length) return false;
    for (let i = 0; i < word.length; i++) if (this.bytes[i] !== word.charCodeAt(i)) return false;
    return true;
  }

  /** True when the decoded bytes start with the ASCII text `prefix`. */
  startsWith(prefix: string): boolean {
    if (this.length < prefix.length) return false;
    for (let i = 0; i < prefix.length; i++) {
      if (this.bytes[i] !== prefix.charCodeAt(i)) return false;
    }
    return true;
  }
}

/** Result slot of {@link parseDecimal}. */
export const decimal = { value: 0, ok: false, negative: false, zero: false };

/**
 * Parses the decoded bytes as `-?[0-9]+` (opentracker's scan_fixed_int: everything must be
 * consumed). `decimal.value` is the value saturated at ±2^53 (opentracker wraps at 32 bits, so
 * `left=4294967296` made a seeder),
 * `decimal.zero` whether it is exactly zero.
 */
export function parseDecimal(bytes: Uint8Array, length: number): boolean {
  let i = 0;
  let negative = false;
  if (length > 0 && bytes[0] === 45 /* - */) {
    negative = true;
    i = 1;
  }
  if (i === length) {
    decimal.ok = false;
    return false;
  }
  let value = 0;
  for (; i < length; i++) {
    const d = bytes[i] - 48;
    if (d < 0 || d > 9) {
      decimal.ok = false;
      return false;
    }
    if (value < 9007199254740992) value = value * 10 + d;
  }
  decimal.ok = true;
  decimal.negative = negative && value !== 0;
  decimal.zero = value === 0;
  decimal.value = negative ? -value : value;
  return true;
}
