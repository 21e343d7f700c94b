import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { epoll, EpollCompanion, EPOLLIN, setEpollCompanion } from "./epoll_loop.ts";
import { openLibc } from "./libc.ts";

const EFD_NONBLOCK = 0o4000;
const EFD_CLOEXEC = 0o2000000;

Deno.test("epoll_loop: a level-triggered descriptor that stays ready is reported turn after turn, and timers still run in between", async () => {
  const c = openLibc();
  const fd = c.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  ok(fd >= 0);
  const one = new Uint8Array(8);
  one[0] = 1;
  c.write(fd, one, 8n); // readable from now on: nobody reads the counter
  let reports = 0;
  let reportsAtTimer = -1;
  const stopped = Promise.withResolvers<void>();
  const stop = () => {
    epoll().unwatch(fd);
    c.close(fd);
    stopped.resolve();
  };
  // The timer is due at once; it can only run when the loop lets the event loop turn.
  setTimeout(() => {
    reportsAtTimer = reports;
    stop();
  }, 0);
  epoll().add(fd, {
    onEvents() {
      // Bounded, so that a loop that never yields fails instead of hanging.
      if (++reports === 1_000_000) stop();
    },
  }, EPOLLIN);
  await stopped.promise;
  ok(reportsAtTimer > 1, `the timer ran after ${reportsAtTimer} reports`);
  ok(reportsAtTimer < 1_000_000);
  strictEqual(reports, reportsAtTimer);
});

Deno.test("epoll_loop: the loop answers the rings, waits on their eventfd, and marks the worker asleep before it waits", async () => {
  const c = openLibc();
  const wakeFd = c.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  ok(wakeFd >= 0);
  const calls: string[] = [];
  // Each step the test waits for: the loop calls the companion as it turns.
  const waiters = new Map<string, () => void>();
  const next = (call: string) => new Promise<void>((resolve) => waiters.set(call, resolve));
  const seen = (call: string) => {
    calls.push(call);
    waiters.get(call)?.();
    waiters.delete(call);
  };
  let sleeps = 0;
  const eight = new Uint8Array(8);
  const companion: EpollCompanion = {
    wakeFd,
    // The first time records came in meanwhile: the loop must drain them before it waits.
    prepareSleep: () => (seen("sleep?"), ++sleeps > 1),
    markBusy: () => seen("busy"),
    awake() {
      seen("awake");
      c.read(wakeFd, eight, 8n);
    },
    wake() {
      new DataView(eight.buffer).setBigUint64(0, 1n, true);
      c.write(wakeFd, eight, 8n);
    },
    drain: () => (seen("drain"), 0),
  };
  try {
    const asleep = next("sleep?");
    setEpollCompanion(companion);
    await asleep;
    const refusedAt = calls.indexOf("sleep?");
    // The loop now waits (the second prepareSleep said yes); another worker wakes it.
    const slept = sleeps > 1 ? Promise.resolve() : next("sleep?");
    await slept;
    const drained = next("drain");
    companion.wake();
    await drained;
    // After a "not now": busy, and the waiting records drained.
    deepStrictEqual(calls.slice(refusedAt, refusedAt + 3), ["sleep?", "busy", "drain"]);
    // The wake-up: reported by the loop's own wait, cleared, then the rings drained.
    const woke = calls.lastIndexOf("awake");
    ok(woke > refusedAt && calls.indexOf("drain", woke) > woke, calls.join(" "));
  } finally {
    setEpollCompanion(null);
    c.close(wakeFd);
  }
});
