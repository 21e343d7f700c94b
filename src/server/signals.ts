/**
 * Every signal an operator or the systemd unit may send, handled in one place, from the first
 * moment of `main` (an unhandled SIGHUP or SIGUSR2 would end the process and lose its state):
 *
 * | signal            | effect                                                                 |
 * | ----------------- | ---------------------------------------------------------------------- |
 * | SIGHUP            | reload what can be reloaded (the access list); otherwise logs that nothing is to reload |
 * | SIGUSR2           | write the state file now (`tracker.statefile`)                          |
 * | SIGTERM, SIGINT, SIGQUIT | stop: close the listeners, write the state file, exit 0; a second SIGINT, a second or more later, exits at once (1) |
 *
 * SIGUSR1 is Deno's own: it opens the V8 inspector on 127.0.0.1:9229, whatever the program does,
 * so the tracker never uses it and the unit never sends it.
 */

/** What the signals act on: the running tracker. */
export interface SignalTarget {
  /** Reloads the access list (and whatever else is reloadable); logs what it did. */
  reload(): void;
  /** Writes the state file now; logs the outcome. */
  saveState(): Promise<void>;
  /** Closes everything and writes the state file. */
  stop(): Promise<void>;
}

/** Options for {@link handleSignals}. */
export interface HandleSignalsOptions {
  log: (line: string) => void;
  /** Ends the process. */
  exit: (code: number) => void;
  /** Milliseconds of a monotonic clock (default `performance.now`). */
  now?: () => number;
}

/**
 * A SIGINT this soon after the one that began the stop is the same Ctrl-C: the terminal sends it
 * to the whole process group, and `deno task` (the README's way to start) forwards it to the
 * tracker once more. Only a later one is the operator's "exit now".
 */
const SIGINT_REPEAT_MS = 1000;

/** The signal handlers of the process; {@link attach} gives them the tracker once it runs. */
export interface Signals {
  attach(target: SignalTarget): void;
  /** Removes the handlers (tests). */
  remove(): void;
}

const STOP: Deno.Signal[] = ["SIGTERM", "SIGINT", "SIGQUIT"];

/** Installs the handlers. Before {@link Signals.attach}, a stop signal exits at once. */
export function handleSignals(o: HandleSignalsOptions): Signals {
  let target: SignalTarget | null = null;
  let stopping = false;
  let stoppedAtMs = 0;
  const now = o.now ?? (() => performance.now());
  const handlers: [Deno.Signal, () => void][] = [
    ["SIGHUP", () => {
      if (target === null) o.log("SIGHUP: still starting, nothing to reload yet");
      else target.reload();
    }],
    ["SIGUSR2", () => {
      if (target === null) o.log("SIGUSR2: still starting, no state to write yet");
      else void target.saveState();
    }],
    ...STOP.map((signal): [Deno.Signal, () => void] => [signal, () => {
      if (target === null) {
        o.log(`${signal}: exiting before the tracker started`);
        o.exit(0);
        return;
      }
      if (stopping) {
        if (signal === "SIGINT" && now() - stoppedAtMs >= SIGINT_REPEAT_MS) {
          o.log("SIGINT again: exiting without waiting for the state file");
          o.exit(1);
        } else {
          o.log(`${signal}: already stopping`);
        }
        return;
      }
      stopping = true;
      stoppedAtMs = now();
      o.log(`${signal}: stopping`);
      target.stop().finally(() => o.exit(0));
    }]),
  ];
  for (const [signal, fn] of handlers) Deno.addSignalListener(signal, fn);
  return {
    attach(t) {
      target = t;
    },
    remove() {
      for (const [signal, fn] of handlers) Deno.removeSignalListener(signal, fn);
    },
  };
}
