import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { sendAll } from "./udp_batch.ts";
import { EAGAIN, EINTR, ENOBUFS } from "./libc.ts";

const EINVAL = 22;
const EPERM = 1;

/**
 * A `sendmmsg` as the kernel behaves: it sends messages in order, stops at the first that fails,
 * and reports that failure (-1 with its errno) only when it is the first message of the call.
 * `fate(i)` is 0 for a message that goes, else its errno; `full` is the index from which the
 * send buffer is full.
 */
function kernel(fate: (i: number) => number, full = Infinity) {
  const sent: number[] = [];
  let errno = 0;
  let calls = 0;
  const send = (from: number, k: number): number => {
    calls++;
    let n = 0;
    for (let i = from; i < from + k; i++) {
      const e = i >= full ? EAGAIN : fate(i);
      if (e !== 0) {
        if (n > 0) return n;
        errno = e;
        return -1;
      }
      sent.push(i);
      n++;
    }
    return n;
  };
  return { send, error: () => errno, sent, calls: () => calls };
}

Deno.test("sendAll: a message the kernel refuses drops only itself; the rest of the batch goes", () => {
  // Every fourth reply goes to a forged source port 0 (EINVAL), one to a forbidden address.
  const k = kernel((i) => i % 4 === 1 ? EINVAL : i === 6 ? EPERM : 0);
  const dropped = sendAll(k.send, k.error, 12);
  strictEqual(dropped, 4);
  deepStrictEqual(k.sent, [0, 2, 3, 4, 7, 8, 10, 11]);
});

Deno.test("sendAll: a full send buffer drops the rest at once", () => {
  const k = kernel(() => 0, 5);
  strictEqual(sendAll(k.send, k.error, 12), 7);
  deepStrictEqual(k.sent, [0, 1, 2, 3, 4]);
  strictEqual(k.calls(), 2);
  const nobufs = kernel((i) => i === 3 ? ENOBUFS : 0);
  strictEqual(sendAll(nobufs.send, nobufs.error, 8), 5);
});

Deno.test("sendAll: an interrupted call is made again; a batch whose messages all fail ends", () => {
  let interrupted = false;
  const k = kernel((i) => {
    if (i === 2 && !interrupted) {
      interrupted = true;
      return EINTR;
    }
    return 0;
  });
  strictEqual(sendAll(k.send, k.error, 4), 0);
  deepStrictEqual(k.sent, [0, 1, 2, 3]);
  const bad = kernel(() => EINVAL);
  strictEqual(sendAll(bad.send, bad.error, 64), 64);
  strictEqual(bad.calls(), 64);
});
