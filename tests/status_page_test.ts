/**
 * The live status page in a real browser: headless Chromium (tests/support/browser.ts) loads
 * `/stats?mode=html` from a tracker in the same network namespace, with no console errors, its
 * charts drawn and its figures equal to /metrics. A screenshot is kept outside the repository.
 */

import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { isolatedBrowser } from "./support/browser.ts";
import { startTrackerProcess } from "./support/process.ts";
import { needs } from "./requirements.ts";

Deno.test({
  name:
    "the status page loads in Chromium without errors, draws its charts and shows /metrics' figures",
  ...needs("chromium"),
  async fn() {
    const nb = await isolatedBrowser();
    try {
      // Two workers where the machine has the cores (tracker.workers auto): figures summed.
      const t = await startTrackerProcess(
        ["-i", "127.0.0.1", "-p", "0", "-P", "0"],
        2,
        [],
        nb.wrapper,
      );
      try {
        const base = `http://127.0.0.1:${t.tcp[0]}`;
        const page = await nb.browser.newPage();
        // Traffic from the page itself (the test's own process is outside the namespace):
        // 5 torrents, 12 peers, 4 of them seeders, by two client programs.
        await page.goto(`${base}/stats?mode=version`);
        await page.evaluate(async () => {
          const hex = (n: number) => n.toString(16).padStart(2, "0");
          for (let t = 0; t < 5; t++) {
            const hash = Array.from({ length: 20 }, (_, i) => "%" + hex((t * 31 + i * 7) & 255))
              .join("");
            for (let p = 0; p < (t === 0 ? 4 : 2); p++) {
              const left = p === 0 && t < 4 ? 0 : 100;
              const id = (t % 2 === 0 ? "-qB4650-" : "-TR3000-") + `${t}${p}`.padEnd(12, "x");
              const r = await fetch(
                `/announce?info_hash=${hash}&peer_id=${id}&port=${6000 + p}&left=${left}&compact=1`,
              );
              if (!r.ok) throw new Error(`announce ${r.status}`);
            }
          }
        });
        // And a WebTorrent client: a WebSocket from the page, one peer in one torrent, kept open.
        await page.evaluate(async (url) => {
          const ws = new WebSocket(url);
          await new Promise((resolve, reject) => {
            ws.onopen = resolve;
            ws.onerror = reject;
          });
          const id = (c: string) => c.repeat(20);
          ws.send(
            JSON.stringify({ action: "announce", info_hash: id("h"), peer_id: id("p"), left: 1 }),
          );
          await new Promise((resolve) => ws.onmessage = resolve);
          (globalThis as unknown as { held: WebSocket }).held = ws;
        }, `ws://127.0.0.1:${t.tcp[0]}/announce`);
        // From here on every error counts (the plain-text page above has no icon: its favicon
        // request is left behind with it).
        await page.goto("about:blank");
        const problems: string[] = [];
        page.on("console", (m) => {
          if (m.type() === "error" || m.type() === "warn") problems.push(`console: ${m.text()}`);
        });
        page.on("pageerror", (e) => problems.push(`page error: ${e}`));
        page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()}`));
        page.on("response", (r) => {
          if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
        });
        const response = await page.goto(`${base}/stats?mode=html`);
        strictEqual(response?.status(), 200);
        strictEqual(response?.headers()["content-type"], "text/html; charset=utf-8");
        await page.waitForFunction("Number(document.body.dataset.drawn ?? 0) >= 1", {
          timeout: 15_000,
        });
        // Six charts, each a canvas that uPlot drew on.
        const canvases = await page.$$eval(".uplot canvas", (cs) =>
          cs.map((c) => {
            // (The page's types: this test is not type-checked against the DOM library.)
            const canvas = c as unknown as {
              width: number;
              height: number;
              getContext(kind: "2d"): {
                getImageData(x: number, y: number, w: number, h: number): { data: Uint8Array };
              };
            };
            const px = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height)
              .data;
            let inked = 0;
            for (let i = 3; i < px.length; i += 4) if (px[i] !== 0) inked++;
            return { width: canvas.width, inked };
          }));
        strictEqual(canvases.length, 6);
        for (const c of canvases) ok(c.width > 100 && c.inked > 100, JSON.stringify(c));
        const titles = await page.$$eval(".u-title", (ts) => ts.map((t) => t.textContent));
        deepStrictEqual(titles, [
          "Requests per second",
          "Peers",
          "Torrents",
          "Refused peers per second",
          "Memory (MiB)",
          "Event-loop lag (ms)",
        ]);
        // The figures shown are /metrics' figures.
        const shown = await page.$$eval(
          "#torrents, #peers, #seeders, #leechers",
          (es) => es.map((e) => Number(e.textContent!.replace(/,/g, ""))),
        );
        const metrics = await page.evaluate(() => fetch("/metrics").then((r) => r.text()));
        const metric = (name: string) =>
          Number(metrics.match(new RegExp(`^${name} (\\S+)$`, "m"))![1]);
        const peers = metric("opentracker_peers");
        const seeders = metric("opentracker_seeders");
        deepStrictEqual(shown, [metric("opentracker_torrents"), peers, seeders, peers - seeders]);
        deepStrictEqual(shown, [5, 12, 4, 8]);
        const shownWs = await page.$$eval(
          "#ws_peers, #ws_torrents, #ws_connections",
          (es) => es.map((e) => Number(e.textContent!.replace(/,/g, ""))),
        );
        deepStrictEqual(shownWs, [
          metric('opentracker_ws_peers\\{role="seeder"\\}') +
          metric('opentracker_ws_peers\\{role="leecher"\\}'),
          metric("opentracker_ws_torrents"),
          metric("opentracker_ws_connections"),
        ]);
        deepStrictEqual(shownWs, [1, 1, 1]);
        const top = await page.$$eval("#top tr", (rows) => rows.length);
        strictEqual(top, 5);
        // Kept for a person to look at, outside the repository.
        const shots = await Deno.makeTempDir({ prefix: "status-page-" });
        await page.screenshot({ path: `${shots}/status_page.png`, fullPage: true });
        console.error(`status page screenshot: ${shots}/status_page.png`);
        deepStrictEqual(problems, []);
      } finally {
        await t.stop();
      }
    } finally {
      await nb.close();
    }
  },
});
