/**
 * Command-line flags with opentracker's strictly left-to-right semantics (§1.1): `-i` sets the
 * address for the `-p`/`-P` that follow it; if nothing was bound at the end, TCP and UDP 6969 on
 * the current address (`::`, dual stack).
 *
 * Produces either a resolved {@link Config} or an exit request with text for stderr; the caller
 * (main.ts) is the only place that exits. node:util parseArgs does not fit: it loses the order of
 * repeated options, which is the whole point here.
 */

import { DEFAULTS } from "../types.ts";
import { formatIp, parseIp } from "../util/ip.ts";
import { Config, defaultConfig, Listener } from "./config.ts";

/** Version line printed by `-v`. */
export const VERSION = "opentracker-deno 0.1.0 (wire-compatible with opentracker 2024)";

/** The usage line, exactly like opentracker's whitelist build. */
export const USAGE = "Usage: opentracker [-i ip] [-p port] [-P port] [-r redirect] [-d dir] " +
  "[-u user] [-A ip[/bits]] [-f config] [-s livesyncport] [-w whitelistfile]\n";

const HELP = USAGE +
  "\t-f config include and execute the config file\n" +
  "\t-i ip     specify ip to bind to with next -[pP] (default: any, overrides preceeding ones)\n" +
  "\t-p port   do bind to tcp port (default: 6969, you may specify more than one)\n" +
  "\t-P port   do bind to udp port (default: 6969, you may specify more than one)\n" +
  "\t-r redirecturl specify url where / should be redirected to (default none)\n" +
  '\t-d dir    specify directory that relative paths resolve against (default: ".")\n' +
  "\t-u user   accepted for compatibility; the Deno sandbox and the service user replace it\n" +
  "\t-A ip[/bits] bless an ip address or net as admin address\n" +
  "\t-w file   specify whitelist file.\n" +
  "\t-b file   specify blacklist file.\n" +
  "\n" +
  "Example:   ./opentracker -i 127.0.0.1 -p 6969 -P 6969 -f ./opentracker.conf -i 10.1.1.23 -p 2710 -p 80\n";

/** Result of {@link parseFlags}. */
export type FlagsResult =
  | { readonly kind: "run"; readonly config: Config }
  | { readonly kind: "exit"; readonly code: number; readonly stderr: string };

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

/** Address text Deno's listen functions accept, from 16 bytes (v4-mapped → dotted quad). */
function hostOf(ip: Uint8Array): string {
  return formatIp(ip);
}

/** Parses `args` (without the program name). */
export function parseFlags(args: readonly string[]): FlagsResult {
  const usage = (): FlagsResult => ({ kind: "exit", code: 1, stderr: USAGE });
  const listeners: Listener[] = [];
  let current = "::";
  let redirectUrl: string | null = null;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg.length < 2 || arg[0] !== "-") return usage();
    const flag = arg[1];
    const needsValue = "ipPr".includes(flag);
    let value = "";
    if (needsValue) {
      if (arg.length > 2) value = arg.slice(2);
      else if (i + 1 < args.length) value = args[++i];
      else return usage();
    } else if (arg.length > 2) {
      return usage();
    }
    switch (flag) {
      case "i": {
        const ip = new Uint8Array(16);
        if (!parseIp(value, ip)) return usage();
        current = hostOf(ip);
        break;
      }
      case "p":
      case "P": {
        const port = scanPort(value);
        if (port === null) return usage();
        listeners.push({ protocol: flag === "p" ? "tcp" : "udp", host: current, port });
        break;
      }
      case "r":
        redirectUrl = value;
        break;
      case "v":
        return { kind: "exit", code: 0, stderr: VERSION + "\n" };
      case "h":
        return { kind: "exit", code: 0, stderr: HELP };
      default:
        return usage();
    }
  }
  if (listeners.length === 0) {
    listeners.push({ protocol: "tcp", host: current, port: DEFAULTS.port });
    listeners.push({ protocol: "udp", host: current, port: DEFAULTS.port });
  }
  return { kind: "run", config: Object.freeze({ ...defaultConfig(listeners), redirectUrl }) };
}
