/**
 * `Accept-Encoding` negotiation (RFC 9110 §12.5.3) for full scrapes: gzip is used when the
 * client lists `gzip` (or `x-gzip`, or `*` without excluding gzip) with a non-zero quality.
 * opentracker instead searches the whole request for the substring "gzip", so a
 * User-Agent containing it turned compression on.
 *
 * Pure.
 */

/** True when `header` (the Accept-Encoding value, or null) allows gzip. */
export function acceptsGzip(header: string | null): boolean {
  if (header === null) return false;
  let star = false;
  for (const part of header.split(",")) {
    const [codingRaw, ...params] = part.split(";");
    const coding = codingRaw.trim().toLowerCase();
    if (coding === "") continue;
    let q = 1;
    for (const p of params) {
      const [k, v] = p.split("=").map((x) => x.trim());
      if (k.toLowerCase() === "q") {
        q = /^(0(\.[0-9]{0,3})?|1(\.0{0,3})?)$/.test(v ?? "") ? Number(v) : 0;
      }
    }
    if (coding === "gzip" || coding === "x-gzip") return q > 0;
    if (coding === "*") star = q > 0;
  }
  return star;
}
