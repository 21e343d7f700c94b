/**
 * Woodpeckers: peers that re-announce 1–19 minutes after their last announce, i.e. much
 * faster than the interval asks, counted per /28 network and halved after every cleaning sweep.
 * opentracker keys IPv4 by its v4-mapped form, so all of IPv4 lands in `::/28`; here IPv4 nets
 * are /28 of the IPv4 address and IPv6 nets /28 of the IPv6 address. The table is bounded.
 */

import { formatIpv4, isV4Mapped } from "../util/ip.ts";

/** Most distinct networks tracked; new networks are ignored while the table is full. */
const NETWORKS_MAX = 65536;
/** IPv6 keys live above this offset so they never collide with IPv4 keys. */
const V6_KEY_BASE = 2 ** 28;

/** Per-network woodpecker counts. */
export class Woodpeckers {
  readonly #counts = new Map<number, number>();

  /** Counts one fast re-announce from the 16-byte address `ip`. */
  record(ip: Uint8Array): void {
    const key = isV4Mapped(ip, 0)
      ? (((ip[12] << 24) | (ip[13] << 16) | (ip[14] << 8) | ip[15]) >>> 4)
      : V6_KEY_BASE + (((ip[0] << 24) | (ip[1] << 16) | (ip[2] << 8) | ip[3]) >>> 4);
    const c = this.#counts.get(key);
    if (c !== undefined) this.#counts.set(key, c + 1);
    else if (this.#counts.size < NETWORKS_MAX) this.#counts.set(key, 1);
  }

  /** Halves every count (after a cleaning sweep), forgetting networks that reach zero. */
  decay(): void {
    for (const [k, c] of this.#counts) {
      const h = c >>> 1;
      if (h === 0) this.#counts.delete(k);
      else this.#counts.set(k, h);
    }
  }

  /** The `woodpeckers` text: `Networks, limit /28:` and the top 128 networks. */
  render(): string {
    return renderWoodpeckers([this.entries()]);
  }

  /** Every network's count: [key, count] (merged across workers). */
  entries(): [number, number][] {
    return [...this.#counts];
  }
}

/** The `woodpeckers` text of the counts of one or more workers, summed per network. */
export function renderWoodpeckers(parts: readonly (readonly [number, number])[][]): string {
  const sums = new Map<number, number>();
  for (const part of parts) for (const [k, c] of part) sums.set(k, (sums.get(k) ?? 0) + c);
  const top = [...sums].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, 128);
  let out = "Networks, limit /28:\n";
  for (const [key, count] of top) out += `${String(count).padStart(8, "0")}: ${netText(key)}\n`;
  return out + "\n";
}

function netText(key: number): string {
  if (key < V6_KEY_BASE) {
    return `${formatIpv4((key << 4) >>> 0)}/28`;
  }
  const w = ((key - V6_KEY_BASE) << 4) >>> 0;
  return `${(w >>> 16).toString(16)}:${(w & 0xffff).toString(16)}::/28`;
}
