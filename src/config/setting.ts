/**
 * What a configuration key is (its syntax, documentation, how it applies to the draft
 * configuration and how it prints) and the value parsers the keys share. The keys themselves
 * are in settings_network.ts and settings_tracker.ts; settings.ts puts them in order.
 *
 * Pure: no Deno APIs.
 */

import { DEFAULTS, LIMITS } from "../types.ts";
import { formatNet, parseHostPort, parseNet } from "./address.ts";
import { BlessedNet, Config, defaultConfig, Listener, Origin } from "./config.ts";

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** The mutable configuration while flags and files are processed in order. */
export type Draft = { -readonly [K in keyof Config]: Config[K] } & {
  listeners: Listener[];
  blessed: BlessedNet[];
  origins: Record<string, Origin>;
  /** `-i`: the address the next `-p`/`-P`/`-s` binds to. */
  currentHost: string;
};

/** A fresh draft with every default. */
export function newDraft(): Draft {
  const d = defaultConfig();
  return {
    ...d,
    listeners: [],
    blessed: [],
    origins: {},
    currentHost: "::",
  };
}

/** One configuration key. */
export interface Setting {
  readonly key: string;
  /** Value syntax, for documentation. */
  readonly syntax: string;
  readonly doc: string;
  /** The key may appear several times, each adding something. */
  readonly repeatable?: boolean;
  /** Applies `value` (already trimmed, non-empty) from `origin`; throws {@link ConfigError}. */
  apply(d: Draft, value: string, origin: Origin): void;
  /** Config-file lines (values only) that reproduce the draft's effective setting. */
  show(d: Draft): string[];
}

/** A value that does not fit its key; {@link applySetting} adds where it came from. */
export class ValueError extends Error {
  override name = "ValueError";
}

export function fail(why: string): never {
  throw new ValueError(why);
}

export function uint(value: string, min: number, max: number): number {
  if (!/^[0-9]+$/.test(value)) fail("not a whole number");
  const n = Number(value);
  if (n < min || n > max) fail(`must be ${min} to ${max}`);
  return n;
}

export function bool(value: string): boolean {
  const v = value.toLowerCase();
  if (v === "on" || v === "yes" || v === "true" || v === "1") return true;
  if (v === "off" || v === "no" || v === "false" || v === "0") return false;
  return fail("expected on or off");
}

export function formatHostPortText(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

export function listen(protocols: ("tcp" | "udp" | "tls")[]): Setting["apply"] {
  return (d, value) => {
    const hp = parseHostPort(value, DEFAULTS.port);
    if (hp === null) fail("not an address[:port]");
    for (const protocol of protocols) d.listeners.push({ protocol, host: hp.host, port: hp.port });
  };
}

export function bless(may: number): Setting["apply"] {
  return (d, value) => {
    const net = parseNet(value);
    if (net === null) fail("not an address[/bits]");
    if (d.blessed.length >= LIMITS.blessedNetsMax) {
      fail(`more than ${LIMITS.blessedNetsMax} blessed nets`);
    }
    d.blessed.push({ net, may });
  };
}

export function showNets(may: number): Setting["show"] {
  return (d) => d.blessed.filter((b) => b.may === may).map((b) => formatNet(b.net));
}

export function showListeners(protocol: "tcp" | "udp" | "tls"): Setting["show"] {
  return (d) =>
    d.listeners.filter((l) => l.protocol === protocol).map((l) =>
      formatHostPortText(l.host, l.port)
    );
}

/** Config fields that hold a file or directory path (with the origin of their value). */
type PathField =
  | "accessListFile"
  | "fifoAdd"
  | "fifoDelete"
  | "rootDir"
  | "stateFile"
  | "tlsCertFile"
  | "tlsKeyFile";

export function path(field: PathField): Setting["apply"] {
  return (d, value, origin) => {
    d[field] = value;
    d.origins[field] = origin;
  };
}

/** A path setting: its value and how it is shown (`--print-config`). */
export function pathSetting(field: PathField): Pick<Setting, "apply" | "show"> {
  return { apply: path(field), show: (d) => d[field] ? [d[field]!] : [] };
}

/** A count setting that also takes `auto` (stored as 0: the tracker derives the figure). */
export function autoCount(
  field: "tcpConnectionsMax" | "wsConnectionsMax" | "torrentBudget",
  min: number,
  max: number,
): Pick<Setting, "apply" | "show"> {
  return {
    apply: (d, v) => {
      d[field] = v === "auto" ? 0 : uint(v, min, max);
    },
    show: (d) => [d[field] === 0 ? "auto" : String(d[field])],
  };
}

/** An `auto|on|off` setting (any case; on and off as {@link bool} reads them). */
export function autoSwitch(field: "udpBatch" | "tcpBatch"): Pick<Setting, "apply" | "show"> {
  return {
    apply: (d, v) => {
      d[field] = v.toLowerCase() === "auto" ? "auto" : bool(v) ? "on" : "off";
    },
    show: (d) => [d[field]],
  };
}

export function number<K extends keyof Draft>(
  field: K,
  min: number,
  max: number,
): Pick<Setting, "apply" | "show"> {
  return {
    apply: (d, value) => {
      (d as Record<K, number>)[field] = uint(value, min, max);
    },
    show: (d) => [String(d[field])],
  };
}
