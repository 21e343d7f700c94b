/**
 * Raw HTTP for tests: a request sent as bytes on its own connection, the response parsed by hand
 * (status line, headers, body), and byte/text helpers. Bodies are decoded with npm `bencode`,
 * independently of the tracker's own encoder.
 */

import bencode from "bencode";

/** A parsed HTTP response. */
export interface RawResponse {
  status: number;
  statusLine: string;
  headers: Map<string, string>;
  body: Uint8Array;
}

/** Sends `request` bytes as-is on a new connection and reads the response until close. */
export async function rawHttp(
  host: string,
  port: number,
  request: string | Uint8Array,
  timeoutMs = 5000,
): Promise<RawResponse> {
  const conn = await Deno.connect({ hostname: host, port });
  const timer = setTimeout(() => conn.close(), timeoutMs);
  try {
    const bytes = typeof request === "string" ? latin1Bytes(request) : request;
    await conn.write(bytes).catch(() => 0);
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(65536);
    while (true) {
      let n: number | null;
      try {
        n = await conn.read(buf);
      } catch {
        break;
      }
      if (n === null) break;
      chunks.push(buf.slice(0, n));
      const all = concat(chunks);
      const parsed = parseResponse(all);
      if (parsed !== null) return parsed;
    }
    // At EOF a shorter body is accepted (a reply to HEAD has none).
    const parsed = parseResponse(concat(chunks), true);
    if (parsed === null) throw new Error(`Incomplete HTTP response: ${latin1(concat(chunks))}`);
    return parsed;
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed by the timer or the peer */ }
  }
}

/** GET `target` with `Connection: close`. */
export function httpGet(host: string, port: number, target: string): Promise<RawResponse> {
  return rawHttp(
    host,
    port,
    `GET ${target} HTTP/1.1\r\nHost: tracker\r\nConnection: close\r\n\r\n`,
  );
}

function parseResponse(all: Uint8Array, atEof = false): RawResponse | null {
  const text = latin1(all);
  const end = text.indexOf("\r\n\r\n");
  if (end < 0) return null;
  const lines = text.slice(0, end).split("\r\n");
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const length = Number(headers.get("content-length") ?? NaN);
  const body = all.slice(end + 4);
  const status = Number(lines[0].split(" ")[1]);
  if (!Number.isNaN(length) && body.length >= length) {
    return { status, statusLine: lines[0], headers, body: body.slice(0, length) };
  }
  return atEof ? { status, statusLine: lines[0], headers, body } : null;
}

export function latin1(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
}

export function latin1Bytes(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/** Percent-encodes every byte (binary-safe, as clients do for info_hash). */
export function urlencodeBytes(b: Uint8Array): string {
  return [...b].map((x) => "%" + x.toString(16).padStart(2, "0")).join("");
}

/** Decodes a bencoded body with npm `bencode`, independently of our encoder. */
// deno-lint-ignore no-explicit-any
export function bdecode(body: Uint8Array): any {
  return bencode.decode(body);
}

/** The body of a chunked response, de-chunked. */
export function dechunk(b: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  let off = 0;
  while (off < b.length) {
    let eol = off;
    while (eol < b.length && b[eol] !== 13) eol++;
    if (eol >= b.length) throw new Error(`not a chunked body: ${latin1(b.subarray(0, 80))}`);
    const size = parseInt(latin1(b.subarray(off, eol)), 16);
    if (size === 0) break;
    parts.push(b.subarray(eol + 2, eol + 2 + size));
    off = eol + 2 + size + 2;
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
