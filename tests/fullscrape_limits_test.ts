/**
 * Full scrapes are bounded: clients that request one and stop reading are cut off by the write
 * deadline and release what the scrape held; no more than access.fullscrape_concurrency stream
 * at once.
 */

import { ok, strictEqual } from "node:assert/strict";
import { toHex } from "../src/util/hex.ts";
import { latin1, latin1Bytes, rawHttp } from "./support/http.ts";
import { metric, withConfiguredTracker } from "./support/process.ts";

/** Torrents in the swarm: their full scrape (≈ 14 MB) is far larger than the socket buffers. */
const TORRENTS = 200_000;

/** Polls /metrics until `series` satisfies `test`; throws after `timeoutMs`. */
async function waitForMetric(
  port: number,
  series: string,
  test: (v: number) => boolean,
  timeoutMs = 15_000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const v = await metric(port, series);
    if (test(v)) return v;
    if (Date.now() > deadline) throw new Error(`${series} is ${v} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50)); // polling pace, not synchronisation
  }
}

Deno.test("stalled full scrapes are cut at the write deadline and release their memory; the cap holds", async () => {
  const hash = new Uint8Array(20);
  const view = new DataView(hash.buffer);
  const lines: string[] = [];
  const base = Math.floor(Date.now() / 60000);
  for (let i = 0; i < TORRENTS; i++) {
    view.setUint32(0, i * 2654435761);
    view.setUint32(16, i);
    lines.push(`${toHex(hash, 0, 20, true)}:${base}:1`);
  }
  await withConfiguredTracker(
    (dir) => {
      Deno.writeTextFileSync(`${dir}/dump`, lines.join("\n") + "\n");
      return "listen.tcp.write_timeout 1\naccess.fullscrape_concurrency 2\n" +
        `access.fullscrape_interval 0\n`;
    },
    async (t) => {
      const port = t.tcp[0];
      strictEqual(await metric(port, "opentracker_torrents"), TORRENTS);
      // Two clients ask for a full scrape and never read it.
      const stalled: Deno.Conn[] = [];
      try {
        for (let i = 0; i < 2; i++) {
          const c = await Deno.connect({ hostname: "127.0.0.1", port });
          await c.write(latin1Bytes("GET /scrape HTTP/1.1\r\nHost: t\r\n\r\n"));
          stalled.push(c);
        }
        await waitForMetric(port, "opentracker_fullscrapes_active", (v) => v === 2);
        // Each sorts an index of 4 bytes per torrent (after its first pass over the table).
        await waitForMetric(
          port,
          "opentracker_fullscrape_index_bytes",
          (v) => v === 2 * 4 * TORRENTS,
        );
        // A third while they stream: refused, not queued.
        const third = await rawHttp(
          "127.0.0.1",
          port,
          "GET /scrape HTTP/1.1\r\nConnection: close\r\n\r\n",
        );
        strictEqual(third.status, 503);
        strictEqual(await metric(port, "opentracker_fullscrapes_refused_total"), 1);
        // The stalled ones are cut after the write deadline and hold nothing any more.
        await waitForMetric(
          port,
          'opentracker_http_connections_closed_total{reason="write_timeout"}',
          (v) => v === 2,
        );
        await waitForMetric(port, "opentracker_fullscrapes_active", (v) => v === 0);
        strictEqual(await metric(port, "opentracker_fullscrape_index_bytes"), 0);
      } finally {
        for (const c of stalled) c.close();
      }
      // A client that keeps reading gets the whole document, to its last chunk.
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      await c.write(latin1Bytes("GET /scrape HTTP/1.1\r\nConnection: close\r\n\r\n"));
      const buf = new Uint8Array(1 << 20);
      let total = 0;
      let tail = "";
      for (let n = await c.read(buf); n !== null; n = await c.read(buf)) {
        total += n;
        tail = (tail + latin1(buf.subarray(Math.max(0, n - 16), n))).slice(-16);
      }
      c.close();
      ok(total > 60 * TORRENTS, `full scrape of ${total} bytes`);
      ok(tail.endsWith("ee\r\n0\r\n\r\n"), `ends with ${JSON.stringify(tail)}`);
    },
    { args: (dir) => ["-l", `${dir}/dump`] },
  );
});
