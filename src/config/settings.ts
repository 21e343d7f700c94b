/**
 * Every configuration key the tracker accepts, opentracker's and ours, in one ordered table:
 * the config-file parser, `--print-config` and the test that checks `opentracker.conf.sample`
 * all read it, so a key cannot exist in one of them only.
 *
 * Pure: no Deno APIs.
 */

import { Origin } from "./config.ts";
import { ConfigError, Draft, Setting, ValueError } from "./setting.ts";
import { NETWORK_SETTINGS } from "./settings_network.ts";
import { TRACKER_SETTINGS } from "./settings_tracker.ts";

/** Every key, in the order `--print-config` and the sample file use. */
export const SETTINGS: readonly Setting[] = [...NETWORK_SETTINGS, ...TRACKER_SETTINGS];

/**
 * Applies `value` of `key` from `origin`; a bad value becomes a {@link ConfigError} naming
 * origin (file:line or the flag), key and value.
 */
export function applySetting(d: Draft, key: string, value: string, origin: Origin): void {
  const setting = BY_KEY.get(key);
  if (setting === undefined) throw new ConfigError(`${origin}: unknown key "${key}"`);
  try {
    setting.apply(d, value, origin);
  } catch (error) {
    if (error instanceof ValueError) {
      throw new ConfigError(`${origin}: ${key} "${value}": ${error.message}`);
    }
    throw error;
  }
}

/** Keys opentracker documents but never implemented; they warn instead of failing. */
export const UNIMPLEMENTED_UPSTREAM = ["batchsync.cluster.admin_ip"];

const BY_KEY: Map<string, Setting> = new Map(SETTINGS.map((s) => [s.key, s]));

/** The setting for `key`, or undefined. */
export function settingFor(key: string): Setting | undefined {
  return BY_KEY.get(key);
}
