/**
 * The tracker as a process for integration tests: started through its entry point with exactly
 * the permission flags of `deno task start`, its "listening on" lines awaited, talked to over
 * real sockets, always stopped. Output is shown only when a test fails.
 */

import { httpGet, latin1 } from "./http.ts";

const ROOT = new URL("../../", import.meta.url);

/** The permission and unstable flags of `deno task start` (the one definition). */
export function startFlags(): string[] {
  const config = JSON.parse(Deno.readTextFileSync(new URL("deno.json", ROOT)));
  const task: string = config.tasks.start;
  const words = task.split(/\s+/);
  const from = words.indexOf("run") + 1;
  const to = words.indexOf("main.ts");
  if (from <= 0 || to < from) throw new Error(`Unexpected start task: ${task}`);
  return words.slice(from, to);
}

/** A running tracker subprocess. */
export interface TrackerProcess {
  readonly child: Deno.ChildProcess;
  readonly pid: number;
  /** Bound ports by protocol, in the order printed. */
  readonly tcp: number[];
  readonly udp: number[];
  /** Ports of the TLS (HTTPS) listeners. */
  readonly tls: number[];
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  /**
   * Resolves when the output printed after this call (or, with `fromStart`, at all) matches
   * `pattern`; rejects after `timeoutMs`.
   */
  waitFor(pattern: RegExp, timeoutMs?: number, fromStart?: boolean): Promise<void>;
  /** Sends SIGTERM and waits for the exit; returns the exit code. */
  stop(): Promise<number>;
}

/**
 * Starts `main.ts` with `args` and waits until it printed `listeners` "listening on" lines (none
 * with 0).
 * Throws (after killing the process) when it exits first. `wrapper` is a command that execs
 * the tracker (e.g. `prlimit --nofile=128:128`), so the process is still the tracker's.
 * `--deny-ffi` among `extraFlags` drops the start task's FFI grant (the tracker then runs without
 * the C library: portable UDP, descriptor limit unknown).
 */
export async function startTrackerProcess(
  args: string[],
  listeners: number,
  extraFlags: string[] = [],
  wrapper: string[] = [],
): Promise<TrackerProcess> {
  const command = [
    ...wrapper,
    Deno.execPath(),
    ...startFlags().filter((f) =>
      !(extraFlags.includes("--deny-ffi") && f.startsWith("--allow-ffi"))
    ),
    ...extraFlags,
    new URL("main.ts", ROOT).pathname,
    ...args,
  ];
  const child = new Deno.Command(command[0], {
    args: command.slice(1),
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let text = "";
  const waiters: { from: number; pattern: RegExp; resolve: () => void }[] = [];
  const notify = () => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i].pattern.test(text.slice(waiters[i].from))) {
        waiters[i].resolve();
        waiters.splice(i, 1);
      }
    }
  };
  const tcp: number[] = [];
  const udp: number[] = [];
  const tls: number[] = [];
  const collect = async (stream: ReadableStream<Uint8Array>, onLine?: (l: string) => void) => {
    const decoder = new TextDecoder();
    let pending = "";
    for await (const chunk of stream) {
      const s = decoder.decode(chunk, { stream: true });
      text += s;
      pending += s;
      notify();
      let nl;
      while ((nl = pending.indexOf("\n")) >= 0) {
        onLine?.(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
      }
    }
  };
  let seen = 0;
  let resolveReady!: () => void;
  const ready = new Promise<void>((r) => (resolveReady = r));
  const stdoutDone = collect(child.stdout, (line) => {
    const m = line.match(/^listening on (tcp|udp|tls) (.*):(\d+)$/);
    if (!m) return;
    (m[1] === "tcp" ? tcp : m[1] === "udp" ? udp : tls).push(Number(m[3]));
    if (++seen === listeners) resolveReady();
  });
  const stderrDone = collect(child.stderr);
  // No listening line awaited: the caller waits for what it needs.
  if (listeners === 0) resolveReady();
  const exited = child.status;
  const first = await Promise.race([ready.then(() => "ready"), exited.then(() => "exited")]);
  const proc: TrackerProcess = {
    child,
    pid: child.pid,
    tcp,
    udp,
    tls,
    output: () => text,
    waitFor(pattern, timeoutMs = 10_000, fromStart = false) {
      return new Promise<void>((resolve, reject) => {
        const from = fromStart ? 0 : text.length;
        if (fromStart && pattern.test(text)) return resolve();
        const timer = setTimeout(
          () => reject(new Error(`no output matching ${pattern} within ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiters.push({
          from,
          pattern,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      });
    },
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      const status = await exited;
      await Promise.all([stdoutDone, stderrDone]);
      return status.code;
    },
  };
  if (first !== "ready") {
    await proc.stop();
    throw new Error(`Tracker exited before listening:\n${text}`);
  }
  return proc;
}

/** Runs `fn` with a started tracker, always stopping it; prints its output when `fn` fails. */
export async function withTracker(
  args: string[],
  listeners: number,
  fn: (t: TrackerProcess) => Promise<void>,
  extraFlags: string[] = [],
  wrapper: string[] = [],
): Promise<void> {
  const t = await startTrackerProcess(args, listeners, extraFlags, wrapper);
  try {
    await fn(t);
  } catch (error) {
    console.error(`--- tracker output ---\n${t.output()}`);
    throw error;
  } finally {
    await t.stop();
  }
}

/**
 * Writes `conf` (text, or a function of the directory) to `opentracker.conf` in a fresh
 * directory, starts the tracker with it on 127.0.0.1 TCP and UDP port 0 (read and write granted
 * for that directory only), runs `fn`, and always stops the tracker and removes the directory.
 * `listeners` counts the sockets to wait for when `conf` binds more of its own (before ours).
 */
export async function withConfiguredTracker(
  conf: string | ((dir: string) => string),
  fn: (t: TrackerProcess, dir: string) => Promise<void>,
  options: {
    flags?: string[];
    wrapper?: string[];
    listeners?: number;
    /** More command-line arguments after `-f` (e.g. `-l`), given the directory. */
    args?: (dir: string) => string[];
  } = {},
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/opentracker.conf`;
  const text = typeof conf === "string" ? conf : conf(dir);
  await Deno.writeTextFile(path, text + "\nlisten.tcp 127.0.0.1:0\nlisten.udp 127.0.0.1:0\n");
  try {
    await withTracker(
      ["-f", path, ...(options.args?.(dir) ?? [])],
      options.listeners ?? 2,
      (t) => fn(t, dir),
      [`--allow-read=${dir}`, `--allow-write=${dir}`, ...(options.flags ?? [])],
      options.wrapper,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * The value of one /metrics series of the tracker on `host`:`port`, `series` written as the
 * exposition writes it (`name` or `name{label="value"}`); throws when it is absent.
 */
export async function metric(port: number, series: string, host = "127.0.0.1"): Promise<number> {
  const res = await httpGet(host, port, "/metrics");
  for (const line of latin1(res.body).split("\n")) {
    if (line.startsWith(series + " ")) return Number(line.slice(series.length + 1));
  }
  throw new Error(`no metric ${series}`);
}
