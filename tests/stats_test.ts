/**
 * /stats and /metrics against a tracker fed a known sequence: every mode's exact format, the
 * `everything` XML through an XML parser (every element the Prometheus exporter reads), the
 * /metrics exposition line by line, and the 403/400 cases.
 */

import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";
import { XMLParser } from "fast-xml-parser";
import { toHex } from "../src/util/hex.ts";
import { httpClient, randomHash, udpClient } from "./support/clients.ts";
import { httpGet, latin1 } from "./support/http.ts";
import { startTrackerProcess, TrackerProcess, withConfiguredTracker } from "./support/process.ts";

async function stats(t: TrackerProcess, query: string): Promise<{ status: number; text: string }> {
  const res = await httpGet("127.0.0.1", t.tcp[0], `/stats${query}`);
  return { status: res.status, text: latin1(res.body) };
}

/** Hashes whose order is known: a < b < c by raw bytes. */
const A = new Uint8Array(20).fill(0x0a);
const B = new Uint8Array(20).fill(0x0b);
const C = new Uint8Array(20).fill(0x0c);

/**
 * Feeds the sequence: torrent A has 3 peers (2 seeders) and one completion, B has 1 leecher,
 * C has 2 leechers; one HTTP scrape, one UDP scrape, one 404, one compact=0.
 */
async function feed(t: TrackerProcess): Promise<void> {
  const http = httpClient("127.0.0.1", t.tcp[0]);
  const udp = udpClient("127.0.0.1", t.udp[0]);
  try {
    await http.announce({ hash: A, port: 1, left: 0 });
    await http.announce({ hash: A, port: 2 });
    await http.announce({ hash: A, port: 2, left: 0, event: "completed" });
    await udp.announce({ hash: A, port: 3 });
    await udp.announce({ hash: B, port: 4 });
    await http.announce({ hash: C, port: 5 });
    await http.announce({ hash: C, port: 6 });
    await http.scrape([A]);
    await udp.scrape([B]);
    await httpGet("127.0.0.1", t.tcp[0], "/nothing");
    await httpGet("127.0.0.1", t.tcp[0], `/announce?info_hash=${"%00".repeat(20)}&compact=0`);
  } finally {
    udp.close();
  }
}

Deno.test("every /stats mode answers in opentracker's format", async () => {
  const t = await startTrackerProcess(["-i", "127.0.0.1", "-p", "0", "-P", "0"], 2);
  try {
    await feed(t);
    const t1 = "\\d+ seconds \\(\\d+ hours\\)";
    const cases: [string, RegExp][] = [
      ["", /^6\n2\nopentracker serving 3 torrents\nopentracker$/],
      ["?mode=peer", /^6\n2\nopentracker serving 3 torrents\nopentracker$/],
      ["?mode=torr", /^3\n0\nopentracker serving 3 torrents\nopentracker$/],
      [
        "?mode=conn",
        new RegExp(
          `^\\d+\\n\\d+\\n${t1}\\nopentracker connections, \\d+ conns/s :: \\d+ success/s\\.$`,
        ),
      ],
      [
        "?mode=udp4",
        new RegExp(
          `^\\d+\\n\\d+\\n${t1}\\nopentracker udp4 stats, \\d+ conns/s :: \\d+ success/s\\.$`,
        ),
      ],
      [
        "?mode=tcp4",
        new RegExp(
          `^\\d+\\n5\\n${t1}\\nopentracker tcp4 stats, \\d+ conns/s :: \\d+ success/s\\.$`,
        ),
      ],
      [
        "?mode=scrp",
        new RegExp(`^1\\n1\\n${t1}\\nopentracker scrape stats, \\d+ scrape/s \\(tcp and udp\\)$`),
      ],
      [
        "?mode=fscr",
        new RegExp(`^0\\n0\\n${t1}\\nopentracker full scrape stats, 0 conns/s :: 0 bytes/s\\.$`),
      ],
      ["?mode=completed", new RegExp(`^1\\n0\\n${t1}\\nopentracker, 1 completed/h\\.$`)],
      ["?mode=syncs", new RegExp(`^0\\n0\\n${t1}\\nopentracker livesync, 0 records/s\\.$`)],
      [
        "?mode=herr",
        /^302 RED 0\n400 \.\.\. 0\n400 PAR 0\n400 COM 1\n403 IP {2}0\n404 INV 1\n500 SRV 0\n$/,
      ],
      ["?mode=version", /^https:\/\/erdgeist\.org\/gitweb\/opentracker\/commit\/\?id=.+\n$/],
      ["?mode=woodpeckers", /^Networks, limit \/28:\n\n$/],
    ];
    for (const [query, pattern] of cases) {
      const r = await stats(t, query);
      strictEqual(r.status, 200, query);
      match(r.text, pattern, query);
    }
    const renew = (await stats(t, "?mode=renew")).text.split("\n");
    strictEqual(renew.length, 46, "45 lines and the final newline");
    strictEqual(renew[0], "00 1", "one renewal at age 0");
    strictEqual(renew[44], "44 0");
    const numwants = (await stats(t, "?mode=numwants")).text.split("\n");
    strictEqual(numwants.length, 202);
    strictEqual(numwants[50], "050 => 7", "every announce asked for 50");

    const top = (await stats(t, "?mode=top10")).text;
    strictEqual(
      top,
      "Top 10 torrents by peers:\n" +
        `\t3\t${toHex(A, 0, 20, true)}\n\t2\t${toHex(C, 0, 20, true)}\n\t1\t${
          toHex(B, 0, 20, true)
        }\n` +
        `Top 10 torrents by seeds:\n\t2\t${toHex(A, 0, 20, true)}\n` +
        "Top 10 torrents by leechers:\n" +
        `\t2\t${toHex(C, 0, 20, true)}\n\t1\t${toHex(A, 0, 20, true)}\n\t1\t${
          toHex(B, 0, 20, true)
        }\n`,
    );
    match((await stats(t, "?mode=top100")).text, /^Top 100 torrents by peers:\n\t3\t0A0A/);
    strictEqual(
      (await stats(t, "?mode=s24s")).text,
      "Networks, limit /28:\n00000006: 127.0.0.0\n\nNetworks, limit /24:\n00000006: 127.0.0.0\n\n",
    );
    for (
      const [query, status] of [
        ["?mode=nonsense", 400],
        ["?mode=top5", 400],
        ["?info_hash=x", 400],
        ["?mode=busy", 500],
      ] as const
    ) {
      strictEqual((await stats(t, query)).status, status, query);
    }
  } finally {
    await t.stop();
  }
});

Deno.test("mode=everything is XML with every element the Prometheus exporter reads", async () => {
  const t = await startTrackerProcess(["-i", "127.0.0.1", "-p", "0", "-P", "0"], 2);
  try {
    await feed(t);
    const { status, text } = await stats(t, "?mode=everything");
    strictEqual(status, 200);
    ok(text.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<stats>\n  <tracker_id>'));
    ok(text.endsWith("</stats>"), "no newline after </stats>");
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "@" }).parse(text);
    const s = doc.stats;
    ok(Number(s.uptime) >= 0);
    strictEqual(s.torrents.count_mutex, 3);
    strictEqual(s.torrents.count_iterator, 3);
    strictEqual(s.peers.count, 6);
    strictEqual(s.seeds.count, 2);
    strictEqual(s.completed.count, 1);
    deepStrictEqual(Object.keys(s.connections.tcp), ["accept", "announce", "scrape"]);
    strictEqual(s.connections.tcp.announce, 5);
    strictEqual(s.connections.tcp.scrape, 1);
    deepStrictEqual(Object.keys(s.connections.udp), [
      "overall",
      "connect",
      "announce",
      "scrape",
      "missmatch",
    ]);
    strictEqual(s.connections.udp.announce, 2);
    strictEqual(s.connections.udp.connect, 1);
    strictEqual(s.connections.livesync.count, 0);
    const renew = s.debug.renew.count;
    strictEqual(renew.length, 45);
    deepStrictEqual([renew[0]["@interval"], renew[0]["#text"]], ["00", 1]);
    const errors = s.debug.http_error.count;
    strictEqual(errors.length, 9);
    deepStrictEqual(
      errors.map((e: Record<string, unknown>) => e["@code"]),
      [
        "302 Redirect",
        "400 Parse Error",
        "400 Invalid Parameter",
        "400 Invalid Parameter (compact=0)",
        "400 Not Modest",
        "402 Payment Required",
        "403 Access Denied",
        "404 Not found",
        "500 Internal Server Error",
      ],
    );
    strictEqual(errors[3]["#text"], 1);
    strictEqual(errors[7]["#text"], 1);
    strictEqual(s.debug.mutex_stall.count, 0);
  } finally {
    await t.stop();
  }
});

Deno.test("/metrics is a valid Prometheus exposition with the tracker's figures", async () => {
  const t = await startTrackerProcess(["-i", "127.0.0.1", "-p", "0", "-P", "0"], 2);
  try {
    await feed(t);
    const res = await httpGet("127.0.0.1", t.tcp[0], "/metrics");
    strictEqual(res.status, 200);
    const lines = latin1(res.body).trimEnd().split("\n");
    const families = new Map<string, string>();
    const samples = new Map<string, number>();
    for (const line of lines) {
      if (line.startsWith("# HELP ")) continue;
      const type = line.match(/^# TYPE ([a-z_]+) (counter|gauge)$/);
      if (type) {
        ok(!families.has(type[1]), `family ${type[1]} declared twice`);
        families.set(type[1], type[2]);
        continue;
      }
      const m = line.match(/^([a-z_]+)(\{[a-z_]+="[^"]*"(?:,[a-z_]+="[^"]*")*\})? (-?[0-9.e+-]+)$/);
      ok(m, `not a sample line: ${line}`);
      ok(families.has(m[1]), `sample before its # TYPE: ${line}`);
      if (families.get(m[1]) === "counter") ok(m[1].endsWith("_total"), m[1]);
      samples.set(m[1] + (m[2] ?? ""), Number(m[3]));
    }
    strictEqual(
      samples.get('opentracker_requests_total{protocol="http",family="ipv4",action="announce"}'),
      5,
    );
    strictEqual(
      samples.get('opentracker_requests_total{protocol="udp",family="ipv4",action="announce"}'),
      2,
    );
    strictEqual(
      samples.get('opentracker_requests_total{protocol="udp",family="ipv4",action="connect"}'),
      1,
    );
    strictEqual(samples.get('opentracker_http_errors_total{code="404",reason="not_found"}'), 1);
    strictEqual(samples.get("opentracker_torrents"), 3);
    strictEqual(samples.get("opentracker_peers"), 6);
    strictEqual(samples.get("opentracker_seeders"), 2);
    strictEqual(samples.get("opentracker_completed_total"), 1);
    ok(samples.get("process_resident_memory_bytes")! > 1e6);
    ok(samples.has("opentracker_event_loop_lag_seconds"));
    ok(samples.has('opentracker_udp_errors_total{reason="connection_id"}'));
  } finally {
    await t.stop();
  }
});

Deno.test("/metrics counts announces by client software, decoded from the peer_id", async () => {
  const t = await startTrackerProcess(["-i", "127.0.0.1", "-p", "0", "-P", "0"], 2);
  const udp = udpClient("127.0.0.1", t.udp[0]);
  try {
    const http = httpClient("127.0.0.1", t.tcp[0]);
    // Over both protocols, on torrents every worker owns; HTTP announces to another worker's
    // torrent carry their peer_id in the hand-off.
    for (let i = 0; i < 6; i++) {
      await http.announce({ hash: randomHash(), port: 1, peerId: `-qB4650-k8hj3Lx9Ap${i}u` });
      await udp.announce({ hash: randomHash(), port: 2, peerId: `-qB4650-zz${i}zzzzzzzzz` });
    }
    for (let i = 0; i < 3; i++) {
      await udp.announce({ hash: randomHash(), port: 3, peerId: `-TR3000-abc${i}efabcdef` });
    }
    await http.announce({ hash: randomHash(), port: 4, peerId: `\u0001${"x".repeat(19)}` });
    const text = latin1((await httpGet("127.0.0.1", t.tcp[0], "/metrics")).body);
    const series = text.split("\n").filter((l) => l.startsWith("opentracker_announces_by_client"));
    deepStrictEqual(series, [
      'opentracker_announces_by_client_total{client="qBittorrent",version="4.6.5"} 12',
      'opentracker_announces_by_client_total{client="Transmission",version="3.00"} 3',
      'opentracker_announces_by_client_total{client="unknown",version=""} 1',
      'opentracker_announces_by_client_total{client="other",version=""} 0',
    ]);
  } finally {
    udp.close();
    await t.stop();
  }
});

Deno.test("restricted stats: /stats and /metrics answer 403 outside access.stats nets", async () => {
  const t = await startTrackerProcess(["-i", "127.0.0.1", "-p", "0", "-A", "10.0.0.0/8"], 1);
  try {
    for (const path of ["/stats", "/stats?mode=everything", "/metrics"]) {
      const res = await httpGet("127.0.0.1", t.tcp[0], path);
      strictEqual(res.status, 403, path);
      strictEqual(latin1(res.body), "<title>Access Denied</title>\n");
    }
  } finally {
    await t.stop();
  }
});

Deno.test("a client hammering mode=everything costs one scan per worker per cache period", async () => {
  const t = await startTrackerProcess(["-i", "127.0.0.1", "-p", "0", "-P", "0"], 2);
  try {
    const http = httpClient("127.0.0.1", t.tcp[0]);
    for (let i = 0; i < 50; i++) await http.announce({ hash: randomHash(), port: i + 1 });
    const bodies = await Promise.all(
      Array.from({ length: 40 }, () => stats(t, "?mode=everything").then((r) => r.text)),
    );
    for (const b of bodies) match(b, /<count_iterator>50<\/count_iterator>/);
    const metrics = latin1((await httpGet("127.0.0.1", t.tcp[0], "/metrics")).body);
    // Each worker scans its own torrents once, whichever worker the requests reached.
    const workers = metrics.match(/\nopentracker_workers (\d+)\n/)![1];
    match(metrics, new RegExp(`\nopentracker_stats_scans_total ${workers}\n`), "40 requests");
  } finally {
    await t.stop();
  }
});

Deno.test("mode=samples: the status page's data, a first sample at once with one worker or two", async () => {
  for (const workers of [1, 2]) {
    await withConfiguredTracker(`tracker.workers ${workers}\n`, async (t) => {
      const http = httpClient("127.0.0.1", t.tcp[0]);
      await http.announce({ hash: randomHash(), port: 1, left: 0 });
      const res = await httpGet("127.0.0.1", t.tcp[0], "/stats?mode=samples");
      strictEqual(res.status, 200);
      const d = JSON.parse(latin1(res.body));
      deepStrictEqual(d.now.workers, workers);
      deepStrictEqual([d.now.torrents, d.now.peers, d.now.seeders, d.now.leechers], [1, 1, 1, 0]);
      strictEqual(d.samples.time.length, 1, `${workers} workers`);
      ok(Math.abs(d.samples.time[0] - Date.now() / 1000) < 60);
      ok(d.samples.rss_bytes[0] > 1e6);
    });
  }
});
