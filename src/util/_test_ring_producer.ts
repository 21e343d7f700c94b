/**
 * Worker for spsc_ring_test.ts: writes `count` records of varying length into the ring it is
 * given, each holding its sequence number and a byte pattern, spinning while the ring is full.
 */

import { SpscRing } from "./spsc_ring.ts";

/** The worker's global scope (the main program's types do not describe it). */
const scope = globalThis as unknown as {
  onmessage: (e: MessageEvent<{ buffer: SharedArrayBuffer; count: number }>) => void;
  postMessage(message: unknown): void;
};

scope.onmessage = (e) => {
  const ring = new SpscRing(e.data.buffer);
  const view = new DataView(ring.data.buffer, ring.data.byteOffset, ring.data.byteLength);
  for (let i = 0; i < e.data.count; i++) {
    const length = 4 + (i * 7919) % 300;
    let at = ring.reserve(length);
    while (at < 0) {
      ring.commit();
      at = ring.reserve(length);
    }
    view.setUint32(at, i, true);
    for (let b = 4; b < length; b++) ring.data[at + b] = (i + b) & 255;
    if (i % 16 === 15) ring.commit();
  }
  ring.commit();
  scope.postMessage({ full: ring.full });
};
