/**
 * Command line and configuration files, processed strictly left to right as opentracker does
 * (later flags override earlier ones): `-f` executes a configuration file at its position, `-i` sets the address for the
 * `-p`/`-P`/`-s` after it, string options and keys overwrite each other in order. When nothing
 * was bound at the end: TCP and UDP 6969 on the current address (`::`, dual stack).
 *
 * Produces a frozen {@link Config} plus warnings, or an exit request with the text for stderr;
 * main.ts is the only place that exits. File reading is injected so this stays testable.
 * node:util parseArgs does not fit: it loses the order of repeated options.
 */

import { DEFAULTS, LIMITS } from "../types.ts";
import { formatIp, parseIp } from "../util/ip.ts";
import { formatNet, parseNet } from "./address.ts";
import { Config, MAY } from "./config.ts";
import { parseConfigText } from "./config_file.ts";
import { scanPort } from "./scan_port.ts";
import { ConfigError, Draft, newDraft } from "./setting.ts";
import { applySetting, settingFor, SETTINGS, UNIMPLEMENTED_UPSTREAM } from "./settings.ts";

export { scanPort };

/** Version line printed by `-v`. */
export const VERSION = "opentracker-deno 0.1.0 (wire-compatible with opentracker 2024)";

/** The usage line, like opentracker's, with the flags it lacks (-l, -h, -v, --print-config). */
export const USAGE = "Usage: opentracker [-f config] [-i ip] [-p port] [-P port] [-s port] " +
  "[-A ip[/bits]] [-r redirect] [-d dir] [-u user] [-l statedump] " +
  "[-w whitelist | -b blacklist] [-h] [-v] [--print-config]\n";

/** What a wrong command line prints: what is wrong, then the usage. */
export function usageError(problem: string): string {
  return `${problem}\n${USAGE}Run opentracker -h for what each flag does.\n`;
}

const HELP = USAGE +
  "\t-f config include and execute the config file\n" +
  "\t-i ip     specify ip to bind to with next -[pPs] (default: any, overrides preceeding ones)\n" +
  "\t-p port   do bind to tcp port (default: 6969, you may specify more than one)\n" +
  "\t-P port   do bind to udp port (default: 6969, you may specify more than one)\n" +
  "\t-s port   live sync port on the current -i address (IPv4)\n" +
  "\t-r redirecturl specify url where / should be redirected to (default none)\n" +
  '\t-d dir    directory that relative paths resolve against (default: ".")\n' +
  "\t-u user   accepted; the Deno permission sandbox and the service user replace it\n" +
  "\t-A ip[/bits] bless an ip address or net as admin address (stats, sync, proxy)\n" +
  "\t-l file   load a state dump at start\n" +
  "\t-w file   specify whitelist file.\n" +
  "\t-b file   specify blacklist file.\n" +
  "\t-v        print the version\n" +
  "\t--print-config  print the effective configuration with every default, then exit\n" +
  "\n" +
  "Example:   ./opentracker -i 127.0.0.1 -p 6969 -P 6969 -f ./opentracker.conf -i 10.1.1.23 -p 2710 -p 80\n";

/** Result of {@link loadConfig}. */
export type LoadResult =
  | { readonly kind: "run"; readonly config: Config; readonly warnings: readonly string[] }
  | {
    readonly kind: "exit";
    readonly code: number;
    readonly stdout?: string;
    readonly stderr: string;
  };

/** What {@link loadConfig} may touch. */
export interface LoadIo {
  /** Reads a configuration file; throws when it cannot. */
  readTextFile(path: string): string;
}

const WITH_VALUE = "ipPrdulAfswb";

/** Processes `args` (without the program name). */
export function loadConfig(args: readonly string[], io: LoadIo): LoadResult {
  const usage = (problem: string): LoadResult => ({
    kind: "exit",
    code: 1,
    stderr: usageError(problem),
  });
  const notPort = (flag: string, value: string) =>
    usage(`-${flag} ${value}: not a port number (0 to 65535)`);
  const d = newDraft();
  const warnings: string[] = [];
  let printConfig = false;
  try {
    for (let i = 0; i < args.length; i++) {
      const arg = args[i];
      if (arg === "--print-config") {
        printConfig = true;
        continue;
      }
      if (arg.startsWith("--")) {
        return usage(
          `unknown flag ${arg.split("=")[0]}: flags are single letters as in opentracker ` +
            "(-p 6969), and the only long one is --print-config",
        );
      }
      if (arg.length < 2 || arg[0] !== "-") {
        return usage(
          `unexpected argument "${arg}": every argument is a flag (-f opentracker.conf)`,
        );
      }
      const flag = arg[1];
      if (!WITH_VALUE.includes(flag) && flag !== "v" && flag !== "h") {
        return usage(`unknown flag -${flag}`);
      }
      let value = "";
      if (WITH_VALUE.includes(flag)) {
        if (arg.length > 2) value = arg.slice(2);
        else if (i + 1 < args.length) value = args[++i];
        else return usage(`-${flag} needs a value`);
      } else if (arg.length > 2) {
        return usage(`${arg}: -${flag} takes no value`);
      }
      const origin = `command line ${arg.length > 2 ? arg : `${arg} ${value}`}`;
      switch (flag) {
        case "i": {
          const ip = new Uint8Array(16);
          if (!parseIp(value, ip)) return usage(`-i ${value}: not an IPv4 or IPv6 address`);
          d.currentHost = formatIp(ip);
          break;
        }
        case "p":
        case "P": {
          const port = scanPort(value);
          if (port === null) return notPort(flag, value);
          d.listeners.push({ protocol: flag === "p" ? "tcp" : "udp", host: d.currentHost, port });
          break;
        }
        case "s": {
          const port = scanPort(value);
          if (port === null) return notPort(flag, value);
          applySetting(d, "livesync.cluster.listen", `${d.currentHost}:${port}`, origin);
          break;
        }
        case "A": {
          const net = parseNet(value);
          if (net === null) {
            return usage(
              `-A ${value}: not an address or network (ip, or ip/bits with bits at most 32 ` +
                "for IPv4 and 128 for IPv6)",
            );
          }
          if (d.blessed.length >= LIMITS.blessedNetsMax) {
            throw new ConfigError(`${origin}: more than ${LIMITS.blessedNetsMax} blessed nets`);
          }
          d.blessed.push({ net, may: MAY.all });
          break;
        }
        case "f":
          executeFile(d, value, io, warnings);
          break;
        case "r":
          applySetting(d, "tracker.redirect_url", value, origin);
          break;
        case "d":
          applySetting(d, "tracker.rootdir", value, origin);
          break;
        case "u":
          applySetting(d, "tracker.user", value, origin);
          break;
        case "l":
          d.stateLoadFile = value;
          d.origins.stateLoadFile = origin;
          break;
        case "w":
          applySetting(d, "access.whitelist", value, origin);
          break;
        case "b":
          applySetting(d, "access.blacklist", value, origin);
          break;
        case "v":
          return { kind: "exit", code: 0, stderr: VERSION + "\n" };
        case "h":
          return { kind: "exit", code: 0, stderr: HELP };
      }
    }
    if (d.listeners.length === 0) {
      d.listeners.push({ protocol: "tcp", host: d.currentHost, port: DEFAULTS.port });
      d.listeners.push({ protocol: "udp", host: d.currentHost, port: DEFAULTS.port });
    }
    const config = resolve(d);
    if (config.user !== null) {
      warnings.push(
        `Note: user "${config.user}" is not switched to: the Deno permission sandbox and the ` +
          `service's user replace opentracker's chroot and setuid.`,
      );
    }
    if (printConfig) return { kind: "exit", code: 0, stdout: printConfigText(d), stderr: "" };
    return { kind: "run", config, warnings };
  } catch (error) {
    if (error instanceof ConfigError) {
      return { kind: "exit", code: 1, stderr: [...warnings, error.message].join("\n") + "\n" };
    }
    throw error;
  }
}

function executeFile(d: Draft, file: string, io: LoadIo, warnings: string[]): void {
  let text: string;
  try {
    text = io.readTextFile(file);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new ConfigError(`Can't open config file: ${file}: ${why}`);
  }
  if (text.length > LIMITS.configFileBytesMax) {
    throw new ConfigError(`${file}: larger than ${LIMITS.configFileBytesMax} bytes`);
  }
  for (const dir of parseConfigText(text)) {
    const origin = `${file}:${dir.line}`;
    const setting = settingFor(dir.key);
    if (setting === undefined) {
      const known = UNIMPLEMENTED_UPSTREAM.includes(dir.key) ? " (opentracker ignores it too)" : "";
      warnings.push(`${origin}: unknown key "${dir.key}" ignored${known}`);
      continue;
    }
    if (dir.value === "") throw new ConfigError(`${origin}: ${dir.key}: a value is missing`);
    applySetting(d, dir.key, dir.value, origin);
  }
}

function isAbsolute(p: string): boolean {
  return p.startsWith("/");
}

/** Resolves relative paths against rootdir and checks combinations; freezes the result. */
function resolve(d: Draft): Config {
  if (d.origins.whitelist && d.origins.blacklist) {
    throw new ConfigError(
      `access.whitelist (${d.origins.whitelist}) and access.blacklist (${d.origins.blacklist}) ` +
        `exclude each other: choose one`,
    );
  }
  if ((d.fifoAdd !== null || d.fifoDelete !== null) && d.accessMode === "open") {
    const o = d.origins.fifoAdd ?? d.origins.fifoDelete;
    throw new ConfigError(`${o}: access.fifo_add/fifo_delete need access.whitelist or blacklist`);
  }
  if (d.listeners.some((l) => l.protocol === "tls") && (!d.tlsCertFile || !d.tlsKeyFile)) {
    throw new ConfigError(
      "listen.tls needs listen.tcp.tls_cert and listen.tcp.tls_key (the PEM certificate and key)",
    );
  }
  if (d.httpNumwantDefault > d.httpNumwantMax) {
    throw new ConfigError(
      `tracker.numwant_default ${d.httpNumwantDefault} exceeds tracker.numwant_max ${d.httpNumwantMax}`,
    );
  }
  if (d.livesyncPeers.length > 0 || d.livesyncKey !== null) {
    const o = d.origins.livesyncKey ?? "livesync.unicast.peer";
    if (d.livesyncPeers.length === 0 || d.livesyncKey === null) {
      throw new ConfigError(`${o}: livesync.unicast.peer and livesync.unicast.key go together`);
    }
    if (d.livesyncListen === null) {
      throw new ConfigError(`${o}: unicast live sync needs livesync.cluster.listen (or -s)`);
    }
  }
  const root = d.rootDir;
  const under = (p: string | null) =>
    p === null || root === null || isAbsolute(p) ? p : `${root.replace(/\/+$/, "")}/${p}`;
  const { currentHost: _, ...rest } = d;
  return Object.freeze({
    ...rest,
    accessListFile: under(d.accessListFile),
    fifoAdd: under(d.fifoAdd),
    fifoDelete: under(d.fifoDelete),
    stateLoadFile: under(d.stateLoadFile),
    stateFile: under(d.stateFile),
    tlsCertFile: under(d.tlsCertFile),
    tlsKeyFile: under(d.tlsKeyFile),
    restrictStats: d.blessed.some((b) => (b.may & MAY.stat) !== 0),
    listeners: Object.freeze([...d.listeners]),
    blessed: Object.freeze([...d.blessed]),
    origins: Object.freeze({ ...d.origins }),
  });
}

/** The effective configuration in config-file syntax, every key with its value or default. */
export function printConfigText(d: Draft): string {
  const lines = ["# Effective configuration (opentracker-deno --print-config)"];
  for (const s of SETTINGS) {
    const values = s.show(d);
    if (values.length === 0) lines.push(`# ${s.key} (not set)`);
    for (const v of values) lines.push(`${s.key} ${v}`);
  }
  const admins = d.blessed.filter((b) => b.may === MAY.all);
  for (const a of admins) lines.push(`# -A ${formatNet(a.net)} (all permissions)`);
  if (d.stateLoadFile) lines.push(`# -l ${d.stateLoadFile}`);
  return lines.join("\n") + "\n";
}
