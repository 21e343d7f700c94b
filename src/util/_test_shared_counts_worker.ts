/**
 * Worker for shared_counts_test.ts: acquires and releases random keys of a shared count table
 * at the same time as other workers, checking after each acquisition that no count went past
 * the cap, then releases everything it holds.
 */

import { SharedCounts } from "./shared_counts.ts";

/** The worker's global scope (the main program's types do not describe it). */
const scope = globalThis as unknown as {
  onmessage: (
    e: MessageEvent<{ buffer: SharedArrayBuffer; keys: number; max: number; rounds: number }>,
  ) => void;
  postMessage(message: unknown): void;
};

scope.onmessage = (e) => {
  const { buffer, keys, max, rounds } = e.data;
  const table = new SharedCounts(buffer);
  const held: string[] = [];
  let acquired = 0, refused = 0, full = 0, overCap = 0, lost = 0;
  let x = 12345 + Math.floor(Math.random() * 1000);
  for (let i = 0; i < rounds; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    const key = `10.0.${x % keys}.1`;
    const got = table.acquire(key, max);
    if (got === "ok") {
      acquired++;
      held.push(key);
      if (table.count(key) > max) overCap++;
    } else if (got === "max") refused++;
    else full++;
    // Hold a few at a time, so that keys reach their cap and slots go back to zero.
    if (held.length > 6 || (x & 3) === 0) {
      const k = held.shift();
      if (k !== undefined && !table.release(k)) lost++;
    }
  }
  for (const k of held) if (!table.release(k)) lost++;
  scope.postMessage({ acquired, refused, full, overCap, lost });
};
