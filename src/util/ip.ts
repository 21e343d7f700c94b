/**
 * IP addresses in opentracker's internal form: always 16 bytes, IPv4 as v4-mapped (::ffff:a.b.c.d).
 * Family selection, connection ids and net matching all depend on this one form.
 *
 * Parsing scans char codes (no regex, no allocation) because it runs once per request.
 * Must not import anything outside util/.
 */

import { hexDigit } from "./hex.ts";

const V4_MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/** True when the 16 bytes at `off` are a v4-mapped IPv4 address. */
export function isV4Mapped(ip: Uint8Array, off = 0): boolean {
  for (let i = 0; i < 10; i++) if (ip[off + i] !== 0) return false;
  return ip[off + 10] === 0xff && ip[off + 11] === 0xff;
}

/** Writes the v4-mapped prefix; the caller fills bytes 12..15. */
function writeV4Prefix(out: Uint8Array, off: number): void {
  for (let i = 0; i < 12; i++) out[off + i] = V4_MAPPED_PREFIX[i];
}

/**
 * Parses a dotted quad at text[start, end) into out[off..off+4). Exactly four components, each
 * 0..255 (libowfat's scan_ip4 rejects partial forms like `192.168`). Returns false on error.
 */
function parseV4Into(
  text: string,
  start: number,
  end: number,
  out: Uint8Array,
  off: number,
): boolean {
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      value = value * 10 + (c - 48);
      if (++digits > 3 || value > 255) return false;
    } else if (c === 46 /* . */) {
      if (digits === 0 || part === 3) return false;
      out[off + part++] = value;
      value = 0;
      digits = 0;
    } else {
      return false;
    }
  }
  if (digits === 0 || part !== 3) return false;
  out[off + 3] = value;
  return true;
}

/**
 * Parses an IPv4 or IPv6 literal (optionally with a `%zone`, which is dropped) into 16 bytes at
 * `out[off]`. Returns false (leaving `out` in an unspecified state) when the text is not an address.
 */
export function parseIp(
  text: string,
  out: Uint8Array,
  off = 0,
  start = 0,
  end = text.length,
): boolean {
  let colon = false;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 58 /* : */) colon = true;
    else if (c === 37 /* % */) {
      end = i;
      break;
    }
  }
  if (!colon) {
    writeV4Prefix(out, off);
    return parseV4Into(text, start, end, out, off + 12);
  }
  return parseV6Into(text, start, end, out, off);
}

function parseV6Into(
  text: string,
  start: number,
  end: number,
  out: Uint8Array,
  off: number,
): boolean {
  // Groups are written left to right; after "::" they are collected and moved to the end.
  let pos = 0; // byte index of the next group
  let gap = -1; // byte index where "::" stood
  let i = start;
  if (i + 1 < end && text.charCodeAt(i) === 58 && text.charCodeAt(i + 1) === 58) {
    gap = 0;
    i += 2;
    if (i === end) {
      out.fill(0, off, off + 16);
      return true;
    }
  } else if (i < end && text.charCodeAt(i) === 58) {
    return false;
  }
  while (i < end) {
    // A group is 1-4 hex digits, or a dotted quad as the final 32 bits.
    let j = i;
    let value = 0;
    let sawDot = false;
    while (j < end) {
      const c = text.charCodeAt(j);
      if (c === 58) break;
      if (c === 46) {
        sawDot = true;
        break;
      }
      const h = hexDigit(c);
      if (h < 0 || j - i >= 4) return false;
      value = (value << 4) | h;
      j++;
    }
    if (sawDot) {
      if (pos > 12) return false;
      if (!parseV4Into(text, i, end, out, off + pos)) return false;
      pos += 4;
      i = end;
      break;
    }
    if (j === i || pos > 14) return false;
    out[off + pos] = value >> 8;
    out[off + pos + 1] = value & 0xff;
    pos += 2;
    if (j === end) {
      i = end;
      break;
    }
    // j is at ':'
    if (j + 1 < end && text.charCodeAt(j + 1) === 58) {
      if (gap >= 0) return false;
      gap = pos;
      i = j + 2;
      if (i === end) break;
    } else {
      i = j + 1;
      if (i === end) return false; // trailing single colon
    }
  }
  if (gap < 0) return pos === 16;
  if (pos === 16) return false; // "::" must stand for at least one group
  const tail = pos - gap;
  out.copyWithin(off + 16 - tail, off + gap, off + pos);
  out.fill(0, off + gap, off + 16 - tail);
  return true;
}

/** Formats 16 bytes as dotted quad (v4-mapped) or RFC 5952 IPv6 text. Not for hot paths. */
export function formatIp(ip: Uint8Array, off = 0): string {
  if (isV4Mapped(ip, off)) {
    return `${ip[off + 12]}.${ip[off + 13]}.${ip[off + 14]}.${ip[off + 15]}`;
  }
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((ip[off + i] << 8) | ip[off + i + 1]);
  // Longest run of zero groups (length >= 2) becomes "::".
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return hex.slice(0, bestStart).join(":") + "::" + hex.slice(bestStart + bestLen).join(":");
}

/** Returns a fresh 16-byte address, or null. Convenience for configuration and tests. */
export function ipFromString(text: string): Uint8Array | null {
  const out = new Uint8Array(16);
  return parseIp(text, out) ? out : null;
}

/** Dotted-quad text of an IPv4 address held as an unsigned 32-bit number. */
export function formatIpv4(ip: number): string {
  return `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
}
