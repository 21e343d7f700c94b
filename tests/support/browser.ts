/**
 * Headless Chromium for tests (Debian's `chromium`, driven by npm `puppeteer-core`, which uses
 * the installed browser and downloads nothing), in a network namespace of the test's own that has
 * only `lo`: the browser, and the tracker started in it through {@link IsolatedBrowser.wrapper},
 * reach nothing but each other. Root only (network namespaces); `needs("chromium")` gates it.
 */

import puppeteer, { Browser } from "puppeteer-core";

let made = 0;

/** A namespace with a browser in it. */
export interface IsolatedBrowser {
  readonly browser: Browser;
  /** Runs a command inside the namespace: the `wrapper` of startTrackerProcess. */
  readonly wrapper: string[];
  /** Closes the browser and removes the namespace. */
  close(): Promise<void>;
}

async function run(cmd: string, args: string[]): Promise<void> {
  const r = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!r.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(r.stderr).trim()}`);
  }
}

/** Creates the namespace and starts Chromium in it, with `args` added to its flags. */
export async function isolatedBrowser(args: readonly string[] = []): Promise<IsolatedBrowser> {
  const name = `otb${Deno.pid}x${made++}`;
  await run("ip", ["netns", "add", name]);
  const dir = await Deno.makeTempDir({ prefix: "otb-" });
  const inside = ["ip", "netns", "exec", name];
  const remove = async () => {
    await run("ip", ["netns", "del", name]).catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    await run(inside[0], [...inside.slice(1), "ip", "link", "set", "lo", "up"]);
    // puppeteer starts this script; it execs Chromium inside the namespace (pipes inherited).
    const launcher = `${dir}/chromium`;
    await Deno.writeTextFile(
      launcher,
      `#!/bin/sh\nexec ${inside.join(" ")} /usr/bin/chromium "$@"\n`,
    );
    await Deno.chmod(launcher, 0o755);
    const browser = await puppeteer.launch({
      executablePath: launcher,
      pipe: true,
      userDataDir: `${dir}/profile`,
      args: [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        ...args,
      ],
    });
    return {
      browser,
      wrapper: inside,
      async close() {
        try {
          await browser.close();
        } finally {
          await remove();
        }
      },
    };
  } catch (error) {
    await remove();
    throw error;
  }
}
