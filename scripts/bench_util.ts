/**
 * What the side-by-side benchmark scripts share: running a command, a started tracker process,
 * its resident memory, medians.
 */

import { INSTALL_DIRS, permissionFlags } from "../src/config/permission_flags.ts";

/**
 * The command that runs this tracker from `root` as the installed wrapper would (its permission
 * set, `work` readable), with configuration `conf`, on 127.0.0.1 `port` for UDP and TCP.
 */
export function ourTracker(
  root: string,
  work: string,
  conf: string,
  port: number,
  ffi = true,
): string[] {
  return [
    Deno.execPath(),
    "run",
    ...permissionFlags({
      read: [...INSTALL_DIRS.read, work],
      write: INSTALL_DIRS.write,
      ffi,
      source: `${root}src`,
    }),
    `${root}main.ts`,
    "-f",
    conf,
    "-i",
    "127.0.0.1",
    "-p",
    String(port),
    "-P",
    String(port),
  ];
}

/** Runs `cmd` to completion; its stdout and stderr together. */
export function sh(cmd: string[], opts: { quiet?: boolean } = {}): { ok: boolean; out: string } {
  const r = new Deno.Command(cmd[0], { args: cmd.slice(1), stdout: "piped", stderr: "piped" })
    .outputSync();
  const out = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
  if (!r.success && !opts.quiet) console.error(out);
  return { ok: r.success, out };
}

/** A started tracker. */
export interface Running {
  pid: number;
  port: number;
  stop(): Promise<void>;
}

/** A started tracker process; stopping it sends SIGTERM and waits for the exit. */
export function running(child: Deno.ChildProcess, port: number): Running {
  return {
    pid: child.pid,
    port,
    stop: async () => {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

/** Resident memory of a process, KiB. */
export function rssKiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(status.match(/VmRSS:\s+(\d+)/)![1]);
}

/** CPU seconds a process used so far (user and system). */
export function cpuSeconds(pid: number): number {
  const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
