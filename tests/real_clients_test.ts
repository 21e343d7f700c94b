/**
 * Real BitTorrent clients: two libtorrent sessions (Debian's python3-libtorrent) exchange a file
 * through our tracker over HTTP and UDP, IPv4 and IPv6; the leecher's file matches and a scrape
 * shows the completed download.
 */

import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { fromHex } from "../src/util/hex.ts";
import { httpClient } from "./support/clients.ts";
import { metric, withConfiguredTracker, withTracker } from "./support/process.ts";
import { needs } from "./requirements.ts";

const SCRIPT = new URL("./testdata/libtorrent_exchange.py", import.meta.url).pathname;

async function exchange(
  trackerUrl: string,
  host: string,
): Promise<{ info_hash: string; sha1_ok: boolean; [why: string]: unknown }> {
  const work = await Deno.makeTempDir();
  try {
    const out = await new Deno.Command("/usr/bin/python3", {
      args: [SCRIPT, trackerUrl, host, work],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    if (!out.success) throw new Error(`libtorrent exchange failed:\n${stdout}\n${stderr}`);
    return JSON.parse(stdout.trim().split("\n").pop()!);
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}

for (const [family, host] of [["IPv4", "127.0.0.1"], ["IPv6", "::1"]] as const) {
  Deno.test({
    name: `two libtorrent clients exchange a file over HTTP and UDP (${family})`,
    ...needs("python3-libtorrent"),
    async fn() {
      await withTracker(["-i", host, "-p", "0", "-P", "0"], 2, async (t) => {
        const bracketed = host.includes(":") ? `[${host}]` : host;
        for (
          const url of [
            `http://${bracketed}:${t.tcp[0]}/announce`,
            `udp://${bracketed}:${t.udp[0]}/announce`,
          ]
        ) {
          const result = await exchange(url, host);
          strictEqual(result.sha1_ok, true, `${url}: file differs: ${JSON.stringify(result)}`);
          const [scraped] = await httpClient(host, t.tcp[0]).scrape([fromHex(result.info_hash)]);
          deepStrictEqual(scraped?.downloaded, 1, `${url}: completed download not counted`);
        }
      });
    },
  });
}

Deno.test({
  name: "two libtorrent clients exchange a file with tracker.workers auto (one worker per core)",
  ...needs("python3-libtorrent"),
  async fn() {
    await withConfiguredTracker("tracker.workers auto\n", async (t) => {
      strictEqual(await metric(t.tcp[0], "opentracker_workers"), navigator.hardwareConcurrency);
      for (
        const url of [
          `http://127.0.0.1:${t.tcp[0]}/announce`,
          `udp://127.0.0.1:${t.udp[0]}/announce`,
        ]
      ) {
        const result = await exchange(url, "127.0.0.1");
        strictEqual(result.sha1_ok, true, `${url}: file differs: ${JSON.stringify(result)}`);
        const [scraped] = await httpClient("127.0.0.1", t.tcp[0]).scrape([
          fromHex(result.info_hash),
        ]);
        deepStrictEqual(scraped?.downloaded, 1, `${url}: completed download not counted`);
      }
    });
  },
});
