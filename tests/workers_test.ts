/**
 * Several workers (`tracker.workers`) behave as one tracker: a torrent's peers meet whichever
 * worker their requests reach, scrapes gather from every worker, /stats and /metrics add up to
 * what one worker shows for the same traffic, closed mode and SIGHUP reach every worker, and a
 * worker that dies ends the process. Each client socket below has its own source port, so the
 * kernel spreads them over the workers' SO_REUSEPORT sockets.
 */

import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";
import { permissionFlags } from "../src/config/permission_flags.ts";
import { toHex } from "../src/util/hex.ts";
import {
  httpClient,
  lookupBinaryKey,
  randomHash,
  TrackerClient,
  udpClient,
} from "./support/clients.ts";
import {
  bdecode,
  dechunk,
  httpGet,
  latin1,
  latin1Bytes,
  rawHttp,
  urlencodeBytes,
} from "./support/http.ts";
import { freePort, waitForPort } from "./support/ports.ts";
import {
  metric,
  startTrackerProcess,
  TrackerProcess,
  withConfiguredTracker,
} from "./support/process.ts";

/** Announces `hash` once from each of `n` fresh clients (ports base..base+n-1), then closes them. */
async function spreadAnnounces(
  make: () => TrackerClient,
  hash: Uint8Array,
  n: number,
  base: number,
): Promise<void> {
  for (let i = 0; i < n; i++) {
    const c = make();
    try {
      await c.announce({ hash, port: base + i, left: i % 3 === 0 ? 0 : 1 });
    } finally {
      c.close();
    }
  }
}

/** The ports in `peers` (`ip:port` texts), sorted. */
const portsOf = (peers: string[]) => peers.map((p) => Number(p.split(":").at(-1))).sort();
const range = (base: number, n: number) => Array.from({ length: n }, (_, i) => base + i);

Deno.test("4 workers: a torrent's peers meet whichever worker their requests reach", async () => {
  await withConfiguredTracker("tracker.workers 4\nlisten.tcp_udp [::1]:0\n", async (tr) => {
    for (
      const [name, make] of [
        ["udp v4", () => udpClient("127.0.0.1", tr.udp[1])],
        ["http v4", () => httpClient("127.0.0.1", tr.tcp[1])],
        ["udp v6", () => udpClient("::1", tr.udp[0])],
        ["http v6", () => httpClient("::1", tr.tcp[0])],
      ] as const
    ) {
      const h = randomHash();
      await spreadAnnounces(make, h, 24, 7000);
      const c = make();
      const r = await c.announce({ hash: h, port: 7000, left: 0, numwant: 50 });
      const [s] = await c.scrape([h]);
      c.close();
      deepStrictEqual(portsOf(r.peers), range(7000, 24), name);
      deepStrictEqual([r.complete, r.incomplete], [8, 16], name);
      deepStrictEqual(s, { complete: 8, incomplete: 16, downloaded: 0 }, name);
    }
  }, { listeners: 4 });
});

Deno.test("4 workers: the kernel delivers every UDP announce to its owner's socket, on both address families", async () => {
  await withConfiguredTracker("tracker.workers 4\nlisten.tcp_udp [::1]:0\n", async (tr) => {
    // Each announce from its own client socket (source port), for its own torrent: without the
    // socket-choosing program (or with the sockets bound out of worker order) about three in four
    // would reach another worker and be handed over.
    for (const [host, port] of [["127.0.0.1", tr.udp[1]], ["::1", tr.udp[0]]] as const) {
      for (let i = 0; i < 24; i++) {
        const c = udpClient(host, port);
        try {
          await c.announce({ hash: randomHash(), port: 7000 + i, left: 1 });
        } finally {
          c.close();
        }
      }
    }
    strictEqual(await metric(tr.tcp[1], 'opentracker_handoff_records_total{direction="sent"}'), 0);
    const announces = (family: string) =>
      metric(
        tr.tcp[1],
        `opentracker_requests_total{protocol="udp",family="${family}",action="announce"}`,
      );
    deepStrictEqual([await announces("ipv4"), await announces("ipv6")], [24, 24]);
  }, { listeners: 4 });
});

Deno.test("2 workers with HTTP on Deno's own TCP (listen.tcp.batch off): announces and scrapes handed between workers are answered", async () => {
  // Here only the UDP sockets and the other workers' wake-ups are in a worker's epoll set: that
  // loop alone must answer what the other worker's HTTP sessions hand over.
  await withConfiguredTracker("tracker.workers 2\nlisten.tcp.batch off\n", async (tr) => {
    const hashes = Array.from({ length: 6 }, () => randomHash());
    for (const h of hashes) {
      await spreadAnnounces(() => httpClient("127.0.0.1", tr.tcp[0]), h, 12, 7100);
    }
    const http = httpClient("127.0.0.1", tr.tcp[0]);
    const udp = udpClient("127.0.0.1", tr.udp[0]);
    try {
      for (const h of hashes) {
        const r = await http.announce({ hash: h, port: 7100, left: 0, numwant: 50 });
        deepStrictEqual(portsOf(r.peers), range(7100, 12));
        deepStrictEqual([r.complete, r.incomplete], [4, 8]);
      }
      const want = hashes.map(() => ({ complete: 4, incomplete: 8, downloaded: 0 }));
      deepStrictEqual(await http.scrape(hashes), want);
      deepStrictEqual(await udp.scrape(hashes), want);
    } finally {
      http.close();
      udp.close();
    }
  });
});

/**
 * One announce with `Connection: close` on a fresh connection: the reply, read until the tracker
 * closes the connection (a reply without the close would time out here).
 */
async function announceAndClose(
  port: number,
  hash: Uint8Array,
  peerPort: number,
  left: number,
): Promise<{ complete: number; incomplete: number }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const timer = setTimeout(() => conn.close(), 5000);
  try {
    const target = `/announce?info_hash=${urlencodeBytes(hash)}&peer_id=-XX0001-${
      String(peerPort).padStart(12, "0")
    }&port=${peerPort}&left=${left}&compact=1`;
    await conn.write(latin1Bytes(`GET ${target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`));
    const chunks: number[] = [];
    const buf = new Uint8Array(4096);
    for (let n = await conn.read(buf); n !== null; n = await conn.read(buf)) {
      chunks.push(...buf.subarray(0, n));
    }
    const all = Uint8Array.from(chunks);
    const text = latin1(all);
    match(text, /^HTTP\/1\.[01] 200 OK\r\n/);
    const body = bdecode(all.subarray(text.indexOf("\r\n\r\n") + 4));
    return { complete: body.complete, incomplete: body.incomplete };
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed by the timer */ }
  }
}

Deno.test("2 workers, a connection per request: an announce of the other worker's torrent goes there with its connection, which replies and closes it", async () => {
  await withConfiguredTracker("tracker.workers 2\n", async (tr) => {
    const hashes = Array.from({ length: 8 }, () => randomHash());
    for (const h of hashes) {
      for (let k = 0; k < 6; k++) {
        const seeding = k % 2 === 0;
        // Each reply counts the announces before it: none was lost on the way.
        deepStrictEqual(await announceAndClose(tr.tcp[0], h, 7300 + k, seeding ? 0 : 1), {
          complete: Math.ceil((k + 1) / 2),
          incomplete: Math.floor((k + 1) / 2),
        });
      }
    }
    // 48 connections spread over two workers, 8 torrents owned by either: some went across.
    const handed = await metric(tr.tcp[0], "opentracker_handoff_http_connections_total");
    ok(handed > 0 && handed < 48, `${handed} connections handed over`);
    strictEqual(await metric(tr.tcp[0], "opentracker_handoff_expired_total"), 0);
  });
});

Deno.test("4 workers: one scrape of torrents that every worker owns", async () => {
  await withConfiguredTracker("tracker.workers 4\n", async (tr) => {
    const hashes = Array.from({ length: 40 }, () => randomHash());
    for (const [i, h] of hashes.entries()) {
      await spreadAnnounces(() => udpClient("127.0.0.1", tr.udp[0]), h, 1 + (i % 3), 9000);
    }
    const unknown = [randomHash(), randomHash()];
    const want = hashes.map((_, i) => {
      const n = 1 + (i % 3);
      const seeds = Math.ceil(n / 3);
      return { complete: seeds, incomplete: n - seeds, downloaded: 0 };
    });
    // UDP answers every hash in order (zeros for unknown ones); HTTP omits unknown torrents.
    const udp = udpClient("127.0.0.1", tr.udp[0]);
    const http = httpClient("127.0.0.1", tr.tcp[0]);
    try {
      const all = [unknown[0], ...hashes, unknown[1]];
      deepStrictEqual(await udp.scrape(all), [
        { complete: 0, incomplete: 0, downloaded: 0 },
        ...want,
        { complete: 0, incomplete: 0, downloaded: 0 },
      ]);
      // HTTP takes at most 64 hashes per scrape; 40 + 2 fit.
      deepStrictEqual(await http.scrape(all), [null, ...want, null]);
    } finally {
      udp.close();
      http.close();
    }
  });
});

/** The same traffic for every run: announces, a completion, a stop, scrapes, errors. */
async function traffic(tr: TrackerProcess, hashes: Uint8Array[]): Promise<void> {
  for (const [i, h] of hashes.entries()) {
    await spreadAnnounces(() => udpClient("127.0.0.1", tr.udp[0]), h, 3, 100 * i + 1000);
    await spreadAnnounces(() => httpClient("127.0.0.1", tr.tcp[0]), h, 2, 100 * i + 1050);
  }
  const udp = udpClient("127.0.0.1", tr.udp[0]);
  const http = httpClient("127.0.0.1", tr.tcp[0]);
  try {
    await udp.announce({ hash: hashes[0], port: 1001, left: 0, event: "completed" });
    await http.announce({ hash: hashes[1], port: 1151, event: "stopped" });
    await udp.scrape(hashes);
    await http.scrape(hashes.slice(0, 5));
  } finally {
    udp.close();
    http.close();
  }
  await httpGet("127.0.0.1", tr.tcp[0], "/announce?info_hash=short");
  await httpGet("127.0.0.1", tr.tcp[0], "/nothing-here");
}

/** /metrics without the series that describe memory, time or the process rather than traffic. */
function trafficMetrics(text: string): string[] {
  return text.split("\n").filter((l) =>
    l !== "" && !l.startsWith("#") &&
    !/memory|heap|rss|lag|uptime|workers|handoff|peer_store|tracker_id|connections_(open|peak|max)|http_connections\{|tcp_accepts|connections_closed|accepted|scans/
      .test(l)
  );
}

Deno.test("/stats and /metrics of 4 workers equal one worker's for the same traffic", async () => {
  const hashes = Array.from({ length: 12 }, () => randomHash());
  const MODES = [
    "peer",
    "torr",
    "udp4",
    "tcp4",
    "scrp",
    "completed",
    "herr",
    "renew",
    "numwants",
    // Scanned over every worker and merged; woodpeckers summed per network.
    "top100",
    "s24s",
    "woodpeckers",
  ];
  const seen: Record<string, string>[] = [];
  const minute = () => Math.floor(Date.now() / 60_000);
  for (const workers of [1, 4]) {
    // The tracker's clock counts peer ages in whole minutes: traffic that straddles a minute
    // puts a renewal in `renew`'s next bucket. Such a run is measured again (up to 3 times).
    for (let attempt = 1;; attempt++) {
      const started = minute();
      const bodies = await measure(workers);
      if (started === minute() || attempt === 3) {
        seen.push(bodies);
        break;
      }
    }
  }
  async function measure(workers: number): Promise<Record<string, string>> {
    const bodies: Record<string, string> = {};
    await withConfiguredTracker(`tracker.workers ${workers}\n`, async (tr) => {
      await traffic(tr, hashes);
      for (const mode of MODES) {
        const r = await httpGet("127.0.0.1", tr.tcp[0], `/stats?mode=${mode}`);
        strictEqual(r.status, 200, mode);
        // Uptime and the rates derived from it differ between two runs.
        bodies[mode] = latin1(r.body).replace(/\d+ seconds \(\d+ hours\)/, "T")
          .replace(/[\d.]+ (conns|success|scrapes|requests|announces)\/s/g, "R");
      }
      const m = await httpGet("127.0.0.1", tr.tcp[0], "/metrics");
      bodies.metrics = trafficMetrics(latin1(m.body)).join("\n");
    });
    return bodies;
  }
  for (const key of Object.keys(seen[0])) deepStrictEqual(seen[1][key], seen[0][key], key);
  match(seen[1].torr, /^12\n/);
  match(seen[1].top100, /Top 100 torrents by peers:/);
  match(seen[1].s24s, /127\.0\.0\.0/);
});

Deno.test("2 workers, closed mode: the list and its SIGHUP reload reach every worker", async () => {
  const listed = randomHash();
  const later = randomHash();
  await withConfiguredTracker((dir) => {
    Deno.writeTextFileSync(`${dir}/white`, toHex(listed, 0, 20, false) + "\n");
    return `tracker.workers 2\naccess.whitelist ${dir}/white\n`;
  }, async (tr, dir) => {
    const outcome = async (h: Uint8Array) => {
      const results = new Set<string>();
      for (let i = 0; i < 12; i++) {
        const c = udpClient("127.0.0.1", tr.udp[0]);
        try {
          await c.announce({ hash: h, port: 6000 + i });
          results.add("ok");
        } catch (error) {
          // A refusal is a BEP 15 error reply (action 3) with the HTTP failure text.
          results.add(/action 3|not authorized/.test(String(error)) ? "refused" : String(error));
        } finally {
          c.close();
        }
      }
      return [...results];
    };
    deepStrictEqual(await outcome(listed), ["ok"]);
    deepStrictEqual(await outcome(later), ["refused"]);
    Deno.writeTextFileSync(`${dir}/white`, toHex(later, 0, 20, false) + "\n");
    const reloaded = tr.waitFor(/^SIGHUP: Loaded 1 info_hashes/m);
    Deno.kill(tr.pid, "SIGHUP");
    await reloaded;
    // Every worker reloaded (the outcome below); one line says so.
    deepStrictEqual(await outcome(later), ["ok"]);
    strictEqual(tr.output().match(/SIGHUP: Loaded/g)?.length, 1, tr.output());
    deepStrictEqual(await outcome(randomHash()), ["refused"]);
  });
});

Deno.test("a worker that dies ends the process with a message and status 70", async () => {
  const dir = await Deno.makeTempDir();
  try {
    Deno.writeTextFileSync(
      `${dir}/opentracker.conf`,
      "tracker.workers 2\nlisten.tcp_udp 127.0.0.1:0\n",
    );
    const tr = await startTrackerProcess(
      ["-f", `${dir}/opentracker.conf`],
      2,
      [`--allow-read=${dir}`, "--allow-env=OPENTRACKER_FAULT_WORKER"],
      ["env", "OPENTRACKER_FAULT_WORKER=1"],
    );
    // The fault fires when the workers' figures are gathered; the request gets no answer.
    await httpGet("127.0.0.1", tr.tcp[0], "/stats?mode=peer").catch(() => null);
    const { code } = await tr.child.status;
    strictEqual(code, 70);
    match(tr.output(), /worker 1 of 2 failed: .*fault injected by OPENTRACKER_FAULT_WORKER/);
    match(tr.output(), /stopping the tracker so that it is restarted with every shard/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a /stats request while the last worker is still starting is answered once it started", async () => {
  const dir = await Deno.makeTempDir();
  const hold = `${dir}/hold`;
  try {
    strictEqual(new Deno.Command("mkfifo", { args: [hold] }).outputSync().code, 0);
    const port = freePort();
    Deno.writeTextFileSync(
      `${dir}/opentracker.conf`,
      `tracker.workers 2\nlisten.tcp_udp 127.0.0.1:${port}\n`,
    );
    // Worker 1's start waits for the FIFO; worker 0 serves meanwhile.
    const tr = await startTrackerProcess(
      ["-f", `${dir}/opentracker.conf`],
      0,
      [`--allow-read=${dir}`, "--allow-env=OPENTRACKER_FAULT_HOLD_START"],
      ["env", `OPENTRACKER_FAULT_HOLD_START=${hold}`],
    );
    try {
      await waitForPort(port);
      // Needs every worker's figures. Before the fix the main isolate asked worker 1, which had
      // no tracker yet and dropped the question: the request waited for ever, and so did the stop.
      const stats = httpGet("127.0.0.1", port, "/stats?mode=everything");
      // Worker 0 read that request before it answers one that came after it.
      strictEqual((await httpGet("127.0.0.1", port, "/")).status, 404);
      await Deno.writeTextFile(hold, "start\n");
      let timer: ReturnType<typeof setTimeout> | undefined;
      const r = await Promise.race([
        stats,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error("no answer to /stats")), 20_000);
        }),
      ]).finally(() => clearTimeout(timer));
      strictEqual(r.status, 200);
      match(latin1(r.body), /<stats>[\s\S]*<\/stats>/);
      await tr.waitFor(/^listening on tcp /m, 10_000, true);
    } catch (error) {
      console.error(`--- tracker output ---\n${tr.output()}`);
      throw error;
    } finally {
      strictEqual(await tr.stop(), 0);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("run from source without read access to it, tracker.workers names the grant", async () => {
  const dir = await Deno.makeTempDir();
  try {
    Deno.writeTextFileSync(
      `${dir}/opentracker.conf`,
      "tracker.workers 2\nlisten.tcp_udp 127.0.0.1:0\n",
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        ...permissionFlags({ read: [dir], write: [dir] }),
        new URL("../main.ts", import.meta.url).pathname,
        "-f",
        `${dir}/opentracker.conf`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stderr);
    strictEqual(out.code, 1, text);
    const src = new URL("../src/", import.meta.url).pathname;
    match(
      text,
      new RegExp(`worker 0 of 2 failed: .*tracker\\.workers needs --allow-read for ${src}`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Announces `n` torrents with 1–3 peers each through fresh UDP sockets; returns the hashes. */
async function fillSwarm(tr: TrackerProcess, n: number): Promise<Uint8Array[]> {
  const hashes = Array.from({ length: n }, () => randomHash());
  for (const [i, h] of hashes.entries()) {
    await spreadAnnounces(() => udpClient("127.0.0.1", tr.udp[0]), h, 1 + (i % 3), 3000);
  }
  return hashes;
}

/** Scrape counts of `hashes` over UDP (zeros for unknown torrents). */
async function counts(tr: TrackerProcess, hashes: Uint8Array[]) {
  const c = udpClient("127.0.0.1", tr.udp[0]);
  try {
    return await c.scrape(hashes);
  } finally {
    c.close();
  }
}

Deno.test("the state file written by 4 workers is restored by 1, and 1's by 4", async () => {
  const dir = await Deno.makeTempDir();
  const conf = (workers: number) =>
    `tracker.workers ${workers}\ntracker.statefile ${dir}/state\nlisten.tcp_udp 127.0.0.1:0\n`;
  const start = async (workers: number) => {
    Deno.writeTextFileSync(`${dir}/opentracker.conf`, conf(workers));
    return await startTrackerProcess(["-f", `${dir}/opentracker.conf`], 2, [
      `--allow-read=${dir}`,
      `--allow-write=${dir}`,
    ]);
  };
  try {
    let tr = await start(4);
    let hashes: Uint8Array[];
    let before;
    try {
      hashes = await fillSwarm(tr, 30);
      before = await counts(tr, hashes);
      deepStrictEqual(before[2], { complete: 1, incomplete: 2, downloaded: 0 });
    } finally {
      strictEqual(await tr.stop(), 0);
    }
    match(tr.output(), /Saved 30 torrents and 60 peers to .*state/);
    for (const workers of [1, 4]) {
      tr = await start(workers);
      try {
        deepStrictEqual(await counts(tr, hashes), before, `restored by ${workers}`);
      } finally {
        strictEqual(await tr.stop(), 0);
      }
    }
    // Each of the 4 workers loaded its share; one line says what all of them loaded.
    const loaded = [...tr.output().matchAll(/Loaded (\d+) torrents and (\d+) peers/g)];
    deepStrictEqual(loaded.map((m) => [m[1], m[2]]), [["30", "60"]]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("-l with 2 workers: each restores its share of the statedump, reported once", async () => {
  const hashes = Array.from({ length: 20 }, () => randomHash());
  await withConfiguredTracker(
    (dir) => {
      const minutes = Math.floor(Date.now() / 60_000);
      const lines = hashes.map((h, i) => `${toHex(h, 0, 20, false)}:${minutes}:${i + 1}`);
      Deno.writeTextFileSync(`${dir}/dump`, lines.join("\n") + "\n");
      return "tracker.workers 2\n";
    },
    async (tr) => {
      // Each worker restored its share; one line says what both restored.
      const restored = [...tr.output().matchAll(/Restored (\d+) torrents from/g)];
      deepStrictEqual(restored.map((m) => m[1]), ["20"]);
      const http = httpClient("127.0.0.1", tr.tcp[0]);
      deepStrictEqual(
        (await http.scrape(hashes)).map((s) => s?.downloaded),
        hashes.map((_, i) => i + 1),
      );
    },
    { args: (dir) => ["-l", `${dir}/dump`] },
  );
});

Deno.test("2 workers: a hash written to the add FIFO is admitted by every worker", async () => {
  const added = randomHash();
  await withConfiguredTracker((dir) => {
    Deno.writeTextFileSync(`${dir}/white`, toHex(randomHash(), 0, 20, false) + "\n");
    new Deno.Command("mkfifo", { args: [`${dir}/add.fifo`] }).outputSync();
    return `tracker.workers 2\naccess.whitelist ${dir}/white\naccess.fifo_add ${dir}/add.fifo\n`;
  }, async (tr, dir) => {
    const seen = tr.waitFor(new RegExp(`access.fifo_add: ${toHex(added, 0, 20, true)}`));
    const out = await new Deno.Command("sh", {
      args: [
        "-c",
        `printf '%s\\n' "$1" > "$2"`,
        "sh",
        toHex(added, 0, 20, false),
        `${dir}/add.fifo`,
      ],
    }).output();
    strictEqual(out.success, true);
    await seen;
    // Logged once (by the main isolate), applied by both workers: announces from 12 sockets,
    // spread over the workers, are all admitted.
    strictEqual(tr.output().match(/access\.fifo_add:/g)?.length, 1);
    for (let i = 0; i < 12; i++) {
      const c = udpClient("127.0.0.1", tr.udp[0]);
      try {
        await c.announce({ hash: added, port: 6100 + i });
      } finally {
        c.close();
      }
    }
    const c = udpClient("127.0.0.1", tr.udp[0]);
    const [s] = await c.scrape([added]);
    c.close();
    strictEqual(s?.incomplete, 12);
  });
});

Deno.test("4 workers: full scrapes and the statedump hold every worker's torrents in hash order", async () => {
  await withConfiguredTracker("tracker.workers 4\naccess.fullscrape_interval 0\n", async (tr) => {
    const hashes = await fillSwarm(tr, 30);
    // Full scrapes are streamed (chunked) until the connection closes.
    const get = async (target: string) => {
      const request = `GET ${target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`;
      return dechunk((await rawHttp("127.0.0.1", tr.tcp[0], request)).body);
    };
    const files = bdecode(await get("/scrape")).files;
    strictEqual(Object.keys(files).length, 30);
    for (const [i, h] of hashes.entries()) {
      const n = 1 + (i % 3);
      deepStrictEqual(lookupBinaryKey(files, h), {
        complete: Math.ceil(n / 3),
        downloaded: 0,
        incomplete: n - Math.ceil(n / 3),
      });
    }
    const dump = latin1(await get("/stats?mode=statedump"));
    const lines = dump.trimEnd().split("\n").map((l) => l.split(":")[0]);
    deepStrictEqual(lines, hashes.map((h) => toHex(h, 0, 20, true)).sort());
    const txt = latin1(await get("/stats?mode=tpbs&format=txt"));
    strictEqual(txt.trimEnd().split("\n").length, 30);
    strictEqual(await metric(tr.tcp[0], "opentracker_fullscrape_index_bytes"), 0);
  });
});

Deno.test("4 workers: one modest full scrape per client per interval, whichever worker serves", async () => {
  await withConfiguredTracker("tracker.workers 4\n", async (tr) => {
    const statuses: number[] = [];
    // Separate connections: the kernel spreads them over the workers.
    for (let i = 0; i < 8; i++) {
      const request = "GET /scrape HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
      statuses.push((await rawHttp("127.0.0.1", tr.tcp[0], request)).status);
    }
    deepStrictEqual(statuses, [200, 402, 402, 402, 402, 402, 402, 402]);
  });
});

Deno.test("2 workers: the per-address connection cap is the tracker's, not each worker's", async () => {
  await withConfiguredTracker(
    "tracker.workers 2\nlisten.tcp.address_connections_max 4\nlisten.tcp [::1]:0\n",
    async (tr) => {
      const [v6, v4] = tr.tcp;
      // Eight connections from 127.0.0.1, all held open: the kernel spreads them over both
      // workers, and only four are admitted between them. An admitted one answers (and stays
      // open: keep-alive); a refused one is closed without a reply.
      const conns = await Promise.all(
        Array.from({ length: 8 }, () => Deno.connect({ hostname: "127.0.0.1", port: v4 })),
      );
      try {
        const answered = await Promise.all(conns.map(async (c) => {
          await c.write(
            new TextEncoder().encode("GET /stats?mode=version HTTP/1.1\r\nHost: t\r\n\r\n"),
          )
            .catch(() => 0);
          const buf = new Uint8Array(4096);
          const n = await c.read(buf).catch(() => null);
          return n !== null && latin1(buf.subarray(0, n)).startsWith("HTTP/1.1 200");
        }));
        strictEqual(answered.filter((a) => a).length, 4);
        const refused = 'opentracker_http_connections_refused_total{reason="per_address"}';
        strictEqual(await metric(v6, refused, "::1"), 4);
      } finally {
        for (const c of conns) c.close();
      }
    },
    { listeners: 3 },
  );
});

Deno.test("2 workers: SIGTERM amid HTTP announces handed between workers ends the process", async () => {
  const dir = await Deno.makeTempDir();
  const conf = `${dir}/opentracker.conf`;
  await Deno.writeTextFile(conf, "tracker.workers 2\n");
  const t = await startTrackerProcess(
    ["-f", conf, "-i", "127.0.0.1", "-p", "0", "-P", "0"],
    2,
    [`--allow-read=${dir}`],
  );
  const conns: Deno.Conn[] = [];
  try {
    // 32 keep-alive connections, 64 pipelined announces each, of random torrents: about half
    // belong to the worker that did not accept the connection and wait for its answer.
    let burst = "";
    for (let i = 0; i < 64; i++) {
      const q = [...randomHash()].map((b) => "%" + b.toString(16).padStart(2, "0")).join("");
      burst += `GET /announce?info_hash=${q}&peer_id=-TR3000-abcdefghijkl&port=${i + 1}&left=1` +
        `&compact=1 HTTP/1.1\r\nHost: t\r\n\r\n`;
    }
    const bytes = new TextEncoder().encode(burst);
    for (let i = 0; i < 32; i++) {
      const c = await Deno.connect({ hostname: "127.0.0.1", port: t.tcp[0] });
      conns.push(c);
      await c.write(bytes);
    }
    // The stop comes while those are answered: it must not wait for answers that never come.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const hung = new Promise<"hung">((resolve) =>
      timer = setTimeout(() => resolve("hung"), 20_000)
    );
    const outcome = await Promise.race([t.stop(), hung]);
    clearTimeout(timer);
    if (outcome === "hung") {
      Deno.kill(t.pid, "SIGKILL");
      await t.stop();
      console.error(t.output());
    }
    strictEqual(outcome, 0, "the tracker exited after SIGTERM");
  } finally {
    for (const c of conns) c.close();
    await Deno.remove(dir, { recursive: true });
  }
});
