/** Port numbers as opentracker reads them. Pure. */

/**
 * libowfat's scan_ushort: consumes digits only while the value still fits 16 bits (`70000` →
 * 7000), ignores trailing text; no leading digit is an error (null).
 */
export function scanPort(text: string): number | null {
  let value = 0;
  let i = 0;
  for (; i < text.length; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) break;
    const next = value * 10 + d;
    if (next > 65535) break;
    value = next;
  }
  return i === 0 ? null : value;
}
