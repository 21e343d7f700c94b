import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { ShardLink, wireShards } from "./shard_link.ts";
import { openLibc } from "./libc.ts";

Deno.test("bindInTurn: a worker binds only after the workers before it, whenever it got there", async () => {
  const wiring = wireShards(2, 1 << 16, 16);
  const flag = new SharedArrayBuffer(4);
  const worker = new Worker(new URL("./_bind_turn_worker.ts", import.meta.url).href, {
    type: "module",
  });
  try {
    const said: string[] = [];
    let binding!: () => void;
    const atBind = new Promise<void>((r) => binding = r);
    const done = new Promise<void>((resolve) => {
      worker.onmessage = (e: MessageEvent<string>) => {
        said.push(e.data);
        if (e.data === "binding") binding();
        else resolve();
      };
    });
    // Worker 1 gets to its sockets first; worker 0 binds only once worker 1 said so.
    worker.postMessage({ wiring: { ...wiring, index: 1 }, flag });
    await atBind;
    const first = new ShardLink({ ...wiring, index: 0 });
    strictEqual(first.bindInTurn(() => Atomics.store(new Int32Array(flag), 0, 1)), 1);
    await done;
    deepStrictEqual(said, ["binding", "after 0"]);
    // Both passed their turn.
    strictEqual(Atomics.load(new Int32Array(wiring.bindTurn), 0), 2);
  } finally {
    worker.terminate();
    const c = openLibc();
    for (const fd of wiring.wakeFds) c.close(fd);
  }
});
