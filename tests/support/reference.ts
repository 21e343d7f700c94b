/**
 * Debian's opentracker (upstream 110868e, IPv4 only, with a whitelist) as the reference the
 * compatibility tests compare against.
 */

import { toHex } from "../../src/util/hex.ts";
import { httpGet, latin1, urlencodeBytes } from "./http.ts";
import { freePort } from "./ports.ts";

export interface Reference {
  port: number;
  stop(): Promise<void>;
}

/**
 * Starts Debian's opentracker on 127.0.0.1 as `nobody` (no chroot), whitelisting `hashes`; it
 * is ready once its asynchronously loaded whitelist admits the last of them.
 */
export async function startReference(hashes: Uint8Array[]): Promise<Reference> {
  const canary = hashes[hashes.length - 1];
  const dir = await Deno.makeTempDir();
  await Deno.chmod(dir, 0o755);
  await Deno.writeTextFile(`${dir}/whitelist`, hashes.map((h) => toHex(h) + "\n").join(""));
  await Deno.chmod(`${dir}/whitelist`, 0o644);
  const port = freePort();
  const child = new Deno.Command("setpriv", {
    args: [
      "--reuid=nobody",
      "--regid=nogroup",
      "--clear-groups",
      "/usr/bin/opentracker",
      "-i",
      "127.0.0.1",
      "-p",
      String(port),
      "-P",
      String(port),
      "-A",
      "127.0.0.1",
      "-d",
      dir,
      "-w",
      `${dir}/whitelist`,
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    await child.status;
    await Deno.remove(dir, { recursive: true });
  };
  // Ready when the asynchronously loaded whitelist admits the canary (reference doc).
  const deadline = Date.now() + 10_000;
  while (true) {
    try {
      const res = await httpGet(
        "127.0.0.1",
        port,
        `/announce?info_hash=${urlencodeBytes(canary)}&port=1&left=1&event=stopped`,
      );
      if (!latin1(res.body).includes("failure")) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      await stop();
      throw new Error("opentracker did not become ready");
    }
    await new Promise((r) => setTimeout(r, 20)); // retry pacing, not synchronisation
  }
  return { port, stop };
}
