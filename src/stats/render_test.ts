import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { renderScanned, renderStats, SCANNED_MODES, VERSION_TEXT } from "./render.ts";
import { statsSource } from "./_test_stats.ts";
import { Snapshot } from "./snapshot.ts";

const body = (mode: string, s = statsSource()) => {
  const r = renderStats(mode, s);
  ok("body" in r, `${mode} has a body`);
  return r.body;
};

Deno.test("renderStats() MRTG modes: four lines in opentracker's wording", () => {
  strictEqual(body(""), "11\n4\nopentracker serving 3 torrents\nopentracker");
  strictEqual(body("peer"), body(""));
  strictEqual(body("torr"), "3\n0\nopentracker serving 3 torrents\nopentracker");
  strictEqual(
    body("conn"),
    "30\n21\n7200 seconds (2 hours)\nopentracker connections, 0 conns/s :: 0 success/s.",
  );
  strictEqual(
    body("scrp"),
    "2\n3\n7200 seconds (2 hours)\nopentracker scrape stats, 0 scrape/s (tcp and udp)",
  );
  strictEqual(body("completed"), "4\n0\n7200 seconds (2 hours)\nopentracker, 2 completed/h.");
  strictEqual(
    body("budget"),
    "11\n2\n7200 seconds (2 hours)\nopentracker peer budget 100, 11% used",
  );
  strictEqual(body("version"), VERSION_TEXT);
});

Deno.test("renderStats() rates divide by uptime, never by zero", () => {
  const s = statsSource({ uptimeSeconds: 0 });
  strictEqual(body("tcp4", s).split("\n")[3], "opentracker tcp4 stats, 10 conns/s :: 7 success/s.");
  strictEqual(body("udp4", s).split("\n")[1], "14");
});

Deno.test("renderStats() herr, numwants and renew list their counters", () => {
  const herr = body("herr").split("\n");
  strictEqual(herr[1], "400 ... 6");
  // Upstream prints its 402 slot under the 403 label; here each label shows its own slot.
  strictEqual(herr[4], "403 IP  5");
  const numwants = body("numwants").trimEnd().split("\n");
  strictEqual(numwants.length, 201);
  strictEqual(numwants[50], "050 => 12");
  const renew = body("renew").trimEnd().split("\n");
  strictEqual(renew.length, 45);
  strictEqual(renew[3], "03 8");
});

Deno.test("renderStats() answers 500 for modes upstream knows but cannot serve, 400 otherwise", () => {
  deepStrictEqual(renderStats("busy", statsSource()), { status: 500 });
  deepStrictEqual(renderStats("statedump", statsSource()), { status: 500 });
  deepStrictEqual(renderStats("nonsense", statsSource()), { status: 400 });
  for (const m of SCANNED_MODES) deepStrictEqual(renderStats(m, statsSource()), { status: 400 });
});

const snapshot: Snapshot = {
  at: 0,
  torrents: 3,
  topPeers: Array.from({ length: 12 }, (_, i) => ({ count: 100 - i, hex: "AB".repeat(20) })),
  topSeeds: [{ count: 3, hex: "CD".repeat(20) }],
  topLeechers: [],
  nets28: [[0x0a000010, 5]],
  nets24: [[0x0a000000, 6]],
};

Deno.test("renderScanned() top lists, networks and the everything XML", () => {
  const top = renderScanned("top10", statsSource(), snapshot).split("\n");
  strictEqual(top[0], "Top 10 torrents by peers:");
  strictEqual(top[1], `\t100\t${"AB".repeat(20)}`);
  strictEqual(top[11], "Top 10 torrents by seeds:");
  strictEqual(top[13], "Top 10 torrents by leechers:");
  strictEqual(
    renderScanned("s24s", statsSource(), snapshot),
    "Networks, limit /28:\n00000005: 10.0.0.16\n\nNetworks, limit /24:\n00000006: 10.0.0.0\n\n",
  );
  const xml = renderScanned("everything", statsSource(), snapshot);
  ok(
    xml.startsWith(
      '<?xml version="1.0" encoding="UTF-8"?>\n<stats>\n  <tracker_id>1234</tracker_id>',
    ),
  );
  ok(xml.includes("<count_mutex>3</count_mutex>\n    <count_iterator>3</count_iterator>"));
  ok(xml.includes('<count code="400 Parse Error">6</count>'));
  ok(xml.includes('<count interval="03">8</count>'));
  ok(xml.endsWith("</stats>"));
});
