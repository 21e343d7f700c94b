/**
 * Address syntax of opentracker's configuration and command line:
 * `address[:port]` for listen lines and `address[/bits]` for blessed nets.
 *
 * Pure: no Deno APIs.
 */

import { formatIp, isV4Mapped, parseIp } from "../util/ip.ts";
import { scanPort } from "./scan_port.ts";

/** An address and port for a socket; `host` is text Deno's listen functions accept. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/**
 * Parses `address[:port]`: leading blanks skipped, optional brackets, IPv4 `a.b.c.d[:port]`,
 * IPv6 `[addr]:port` or `addr.port` (an unbracketed `:` belongs to the address). No port →
 * `defaultPort`. Port digits are read like `-p` (`:99999` → 9999); text after them is ignored.
 * Returns null when the address does not parse or a bare port is given.
 */
export function parseHostPort(text: string, defaultPort: number): HostPort | null {
  const s = text.trimStart();
  const ip = new Uint8Array(16);
  let rest: string;
  // The port separator: ":" after IPv4 or a bracketed address, "." after bare IPv6 (as in
  // opentracker, where a bare IPv6 address would swallow a ":port").
  let separator = ":";
  if (s.startsWith("[")) {
    const close = s.indexOf("]");
    if (close < 0 || !parseIp(s, ip, 0, 1, close)) return null;
    rest = s.slice(close + 1);
  } else {
    let end = 0;
    while (end < s.length && isAddressChar(s.charCodeAt(end))) end++;
    const word = s.slice(0, end);
    const colon = word.indexOf(":");
    const v4 = colon < 0 ? word : word.slice(0, colon);
    if (v4.includes(".") && parseIp(v4, ip)) {
      rest = s.slice(v4.length);
    } else {
      // IPv6 without brackets: the whole word, or the word up to its last "." with a port after.
      separator = ".";
      const dot = word.lastIndexOf(".");
      if (parseIp(word, ip)) rest = s.slice(end);
      else if (dot > 0 && parseIp(word.slice(0, dot), ip)) rest = s.slice(dot);
      else return null;
    }
  }
  const host = formatIp(ip);
  if (rest[0] === separator) {
    const port = scanPort(rest.slice(1));
    return port === null ? null : { host, port };
  }
  return { host, port: defaultPort };
}

function isAddressChar(c: number): boolean {
  return (c >= 48 && c <= 58) || c === 46 || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** A net: 16-byte address and prefix length over the 16-byte (v4-mapped) form. */
export interface Net {
  readonly ip: Uint8Array;
  readonly bits: number;
}

/**
 * Parses `address[/bits]`: no `/` → host (/128); IPv4 prefix lengths get +96; a result over 128
 * is invalid. Returns null on error.
 */
export function parseNet(text: string): Net | null {
  const s = text.trim();
  const slash = s.indexOf("/");
  const ip = new Uint8Array(16);
  if (!parseIp(slash < 0 ? s : s.slice(0, slash), ip)) return null;
  if (slash < 0) return { ip, bits: 128 };
  const digits = s.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(digits)) return null;
  let bits = Number(digits);
  if (isV4Mapped(ip)) bits += 96;
  if (bits > 128) return null;
  return { ip, bits };
}

/** True when the 16-byte `ip` lies in `net`. */
export function netContains(net: Net, ip: Uint8Array, off = 0): boolean {
  const whole = net.bits >> 3;
  for (let i = 0; i < whole; i++) if (net.ip[i] !== ip[off + i]) return false;
  const rest = net.bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (net.ip[whole] & mask) === (ip[off + whole] & mask);
}

/** `address/bits` text of a net (IPv4 nets with IPv4 prefix lengths). */
export function formatNet(net: Net): string {
  const v4 = isV4Mapped(net.ip);
  const bits = v4 ? net.bits - 96 : net.bits;
  if (net.bits === 128) return formatIp(net.ip);
  return `${formatIp(net.ip)}/${bits}`;
}
