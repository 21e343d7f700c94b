/**
 * Test helper (shard_link_test.ts): a worker thread that binds in turn as the worker the wiring
 * it is sent names, and reports whether worker 0 had bound before it (the shared flag).
 */

import { ShardLink, ShardWiring } from "./shard_link.ts";

const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent<{ wiring: ShardWiring; flag: SharedArrayBuffer }>) => void) | null;
  postMessage(message: string): void;
};

scope.onmessage = (e) => {
  const link = new ShardLink(e.data.wiring);
  const flag = new Int32Array(e.data.flag);
  scope.postMessage("binding");
  scope.postMessage(link.bindInTurn(() => Atomics.load(flag, 0) === 1 ? "after 0" : "before 0"));
};
