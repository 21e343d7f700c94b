import { deepStrictEqual } from "node:assert/strict";
import { handleSignals } from "./signals.ts";

/** Handlers on this process with a recording target; real signals are sent to ourselves. */
function setup(stopNeverEnds = false) {
  const events: string[] = [];
  let wake: (() => void) | null = null;
  const record = (e: string) => {
    events.push(e);
    wake?.();
  };
  const signals = handleSignals({
    log: (l) => record(`log ${l}`),
    exit: (c) => record(`exit ${c}`),
  });
  const target = {
    reload: () => record("reload"),
    saveState: () => {
      record("save");
      return Promise.resolve();
    },
    stop: () => {
      record("stop");
      return stopNeverEnds ? new Promise<void>(() => {}) : Promise.resolve();
    },
  };
  /** Sends `signal` and waits until `n` events were recorded in all. */
  const send = async (signal: Deno.Signal, n: number) => {
    const reached = new Promise<void>((resolve) => {
      wake = () => events.length >= n && resolve();
    });
    // Signal listeners do not keep the event loop alive; this timer does, until delivery.
    const keepAlive = setTimeout(() => {}, 10_000);
    Deno.kill(Deno.pid, signal);
    await reached;
    clearTimeout(keepAlive);
  };
  return { events, signals, target, send };
}

Deno.test("handleSignals() before the tracker runs: reloads are logged, a stop exits at once", async () => {
  const { events, signals, send } = setup();
  try {
    await send("SIGHUP", 1);
    await send("SIGUSR2", 2);
    await send("SIGTERM", 4);
    deepStrictEqual(events, [
      "log SIGHUP: still starting, nothing to reload yet",
      "log SIGUSR2: still starting, no state to write yet",
      "log SIGTERM: exiting before the tracker started",
      "exit 0",
    ]);
  } finally {
    signals.remove();
  }
});

Deno.test("handleSignals() reloads on SIGHUP, saves on SIGUSR2, stops once on SIGQUIT", async () => {
  const { events, signals, target, send } = setup();
  try {
    signals.attach(target);
    await send("SIGHUP", 1);
    await send("SIGUSR2", 2);
    await send("SIGQUIT", 5);
    deepStrictEqual(events, ["reload", "save", "log SIGQUIT: stopping", "stop", "exit 0"]);
  } finally {
    signals.remove();
  }
});

/**
 * Runs handlers in a child process (the test runner itself takes SIGINT as "abort the run"),
 * whose clock moves `stepMs` at every reading, and whose stop never ends. Sends `signals` one
 * after another, each once the child has logged what the one before did; returns the lines the
 * child printed and its exit status.
 */
async function stopInChild(
  stepMs: number,
  signals: [Deno.Signal, number][],
): Promise<{ lines: string[]; code: number | null }> {
  const script = `
    import { handleSignals } from ${JSON.stringify(new URL("./signals.ts", import.meta.url).href)};
    let t = 0;
    const signals = handleSignals({
      log: (l) => console.log(l),
      exit: (c) => Deno.exit(c),
      now: () => (t += ${stepMs}),
    });
    signals.attach({
      reload() {},
      saveState: () => Promise.resolve(),
      stop: () => { console.log("stop"); return new Promise(() => {}); },
    });
    setInterval(() => {}, 1000);
    console.log("ready");
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines: string[] = [];
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let pending = "";
  /** Reads until `n` lines arrived. */
  const until = async (n: number) => {
    while (lines.length < n) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`child ended after ${JSON.stringify(lines)}`);
      pending += value;
      const parts = pending.split("\n");
      pending = parts.pop()!;
      lines.push(...parts);
    }
  };
  await until(1);
  for (const [signal, lineCount] of signals) {
    child.kill(signal);
    await until(lineCount);
  }
  let code: number | null = null;
  if (lines.at(-1)?.startsWith("SIGINT again")) code = (await child.status).code;
  else child.kill("SIGKILL");
  reader.releaseLock();
  await child.stdout.cancel().catch(() => {});
  if (code === null) await child.status;
  return { lines, code };
}

Deno.test("handleSignals(): a second SIGTERM waits, a later SIGINT exits without waiting", async () => {
  // Every clock reading a second after the one before.
  const { lines, code } = await stopInChild(1000, [["SIGTERM", 3], ["SIGTERM", 4], ["SIGINT", 5]]);
  deepStrictEqual(lines, [
    "ready",
    "SIGTERM: stopping",
    "stop",
    "SIGTERM: already stopping",
    "SIGINT again: exiting without waiting for the state file",
  ]);
  deepStrictEqual(code, 1);
});

Deno.test("handleSignals(): one Ctrl-C delivered twice at once (terminal and deno task) stops once", async () => {
  // The clock does not move: the second SIGINT comes at the same moment as the first.
  const { lines } = await stopInChild(0, [["SIGINT", 3], ["SIGINT", 4]]);
  deepStrictEqual(lines, ["ready", "SIGINT: stopping", "stop", "SIGINT: already stopping"]);
});
