/**
 * One table of swarm cases, run over HTTP and UDP, on 127.0.0.1 and ::1, against the real
 * tracker process. Every HTTP body is decoded with npm `bencode`.
 */

import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";
import { httpClient, randomHash, TrackerClient, udpClient } from "./support/clients.ts";
import { startFlags, withConfiguredTracker, withTracker } from "./support/process.ts";

interface SwarmCase {
  name: string;
  run(c: TrackerClient, self: string): Promise<void>;
}

const sorted = (xs: string[]) => [...xs].sort();

const CASES: SwarmCase[] = [
  {
    name: "a first leecher is alone and gets itself back",
    async run(c, self) {
      const r = await c.announce({ hash: randomHash(), port: 6881 });
      deepStrictEqual([r.complete, r.incomplete], [0, 1]);
      deepStrictEqual(r.peers, [`${self}:6881`]);
      ok(r.interval >= 1620 && r.interval <= 1979, `interval ${r.interval}`);
    },
  },
  {
    name: "seeders and leechers are counted and returned",
    async run(c, self) {
      const h = randomHash();
      await c.announce({ hash: h, port: 1001 });
      await c.announce({ hash: h, port: 1002, left: 0 });
      const r = await c.announce({ hash: h, port: 1003 });
      deepStrictEqual([r.complete, r.incomplete], [1, 2]);
      deepStrictEqual(sorted(r.peers), sorted([1001, 1002, 1003].map((p) => `${self}:${p}`)));
    },
  },
  {
    name: "a completion counts once",
    async run(c) {
      const h = randomHash();
      await c.announce({ hash: h, port: 2001 });
      await c.announce({ hash: h, port: 2001, left: 0, event: "completed" });
      await c.announce({ hash: h, port: 2001, left: 0, event: "completed" });
      const [s] = await c.scrape([h]);
      deepStrictEqual(s, { complete: 1, downloaded: 1, incomplete: 0 });
    },
  },
  {
    name: "a completion without left=0 does not count",
    async run(c) {
      const h = randomHash();
      await c.announce({ hash: h, port: 2101, left: 5, event: "completed" });
      const [s] = await c.scrape([h]);
      deepStrictEqual(s, { complete: 0, downloaded: 0, incomplete: 1 });
    },
  },
  {
    name: "a stop removes the peer and reports counts after removal",
    async run(c, self) {
      const h = randomHash();
      await c.announce({ hash: h, port: 3001, left: 0 });
      await c.announce({ hash: h, port: 3002 });
      const stop = await c.announce({ hash: h, port: 3001, event: "stopped" });
      deepStrictEqual([stop.complete, stop.incomplete, stop.peers], [0, 1, []]);
      const r = await c.announce({ hash: h, port: 3002 });
      deepStrictEqual(r.peers, [`${self}:3002`]);
    },
  },
  {
    name: "a stop of an unknown torrent creates nothing",
    async run(c) {
      const h = randomHash();
      const stop = await c.announce({ hash: h, port: 3101, event: "stopped" });
      deepStrictEqual([stop.complete, stop.incomplete], [0, 0]);
      const [s] = await c.scrape([h]);
      ok(s === null || (s.complete === 0 && s.incomplete === 0 && s.downloaded === 0));
    },
  },
  {
    name: "numwant limits the peers and 0 returns none",
    async run(c) {
      const h = randomHash();
      for (let p = 4001; p <= 4010; p++) await c.announce({ hash: h, port: p, numwant: 0 });
      const three = await c.announce({ hash: h, port: 4001, numwant: 3 });
      strictEqual(three.peers.length, 3);
      strictEqual(new Set(three.peers).size, 3);
      const none = await c.announce({ hash: h, port: 4001, numwant: 0 });
      deepStrictEqual([none.peers, none.incomplete], [[], 10]);
    },
  },
  {
    name: "a multi-scrape reports known torrents",
    async run(c) {
      const a = randomHash();
      const b = randomHash();
      await c.announce({ hash: a, port: 5001, left: 0 });
      await c.announce({ hash: b, port: 5002 });
      await c.announce({ hash: b, port: 5003 });
      const [sa, sb] = await c.scrape([a, b]);
      deepStrictEqual(sa, { complete: 1, downloaded: 0, incomplete: 0 });
      deepStrictEqual(sb, { complete: 0, downloaded: 0, incomplete: 2 });
    },
  },
];

/** Runs every case as a step with each client (and the address it announces from); closes them. */
async function runCases(t: Deno.TestContext, clients: [TrackerClient, string][]) {
  try {
    for (const [client, self] of clients) {
      for (const c of CASES) {
        await t.step(`${client.name}: ${c.name}`, () => c.run(client, self));
      }
    }
  } finally {
    for (const [client] of clients) client.close();
  }
}

Deno.test("swarm cases over HTTP and portable UDP (auto without FFI), IPv4 and IPv6", async (t) => {
  await withTracker(
    ["-i", "127.0.0.1", "-p", "0", "-P", "0", "-i", "::1", "-p", "0", "-P", "0"],
    4,
    async (tr) => {
      // listen.udp.batch auto falls back to the portable path and says so, with what
      // tracker.workers auto loses, in one line.
      const said = tr.output().split("\n").filter((l) => /portable|worker/.test(l));
      strictEqual(said.length, 1, tr.output());
      match(
        said[0],
        /^UDP on the portable path, about half the datagrams per second of the batched one(, and one worker instead of one per core)? \(listen\.udp\.batch auto: FFI to the C library is not granted/,
      );
      strictEqual(said[0].includes("one worker instead"), navigator.hardwareConcurrency > 1);
      await runCases(t, [
        [httpClient("127.0.0.1", tr.tcp[0]), "127.0.0.1"],
        [udpClient("127.0.0.1", tr.udp[0]), "127.0.0.1"],
        [httpClient("::1", tr.tcp[1]), "::1"],
        [udpClient("::1", tr.udp[1]), "::1"],
      ]);
    },
    ["--deny-ffi"],
  );
});

Deno.test("swarm cases over batched UDP (the default with FFI to the C library), IPv4 and IPv6", async (t) => {
  await withTracker(
    ["-i", "127.0.0.1", "-P", "0", "-i", "::1", "-P", "0"],
    2,
    (tr) => {
      ok(!/portable path/.test(tr.output()), tr.output());
      return runCases(t, [
        [udpClient("127.0.0.1", tr.udp[0]), "127.0.0.1"],
        [udpClient("::1", tr.udp[1]), "::1"],
      ]);
    },
  );
});

Deno.test("listen.udp.batch and listen.tcp.batch on without FFI to the C library name the grant and do not start", async () => {
  const dir = await Deno.makeTempDir();
  const conf = `${dir}/opentracker.conf`;
  await Deno.writeTextFile(conf, "listen.udp.batch on\nlisten.tcp.batch on\n");
  try {
    const denied = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        ...startFlags().filter((f) => !f.startsWith("--allow-ffi")),
        `--allow-read=${dir}`,
        new URL("../main.ts", import.meta.url).pathname,
        "-f",
        conf,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    strictEqual(denied.code, 1);
    match(
      new TextDecoder().decode(denied.stderr),
      /ffi, needed by listen\.udp\.batch on and listen\.tcp\.batch on; start with --allow-ffi=\/lib\/x86_64-linux-gnu\/libc\.so\.6,/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("HTTP returns peers of both families, UDP only the requester's", async () => {
  await withTracker(["-i", "::", "-p", "0", "-P", "0"], 2, async (tr) => {
    const h = randomHash();
    const h4 = httpClient("127.0.0.1", tr.tcp[0]);
    const h6 = httpClient("::1", tr.tcp[0]);
    const u4 = udpClient("127.0.0.1", tr.udp[0]);
    try {
      await h4.announce({ hash: h, port: 7001 });
      await h6.announce({ hash: h, port: 7002 });
      const both = await h4.announce({ hash: h, port: 7001 });
      deepStrictEqual(sorted(both.peers), ["127.0.0.1:7001", "::1:7002"]);
      const own = await u4.announce({ hash: h, port: 7001 });
      deepStrictEqual(own.peers, ["127.0.0.1:7001"]);
      strictEqual(own.incomplete, 2);
    } finally {
      u4.close();
    }
  });
});

for (const workers of [2, 4]) {
  Deno.test(`swarm cases with tracker.workers ${workers}: HTTP and UDP, IPv4 and IPv6`, async (t) => {
    await withConfiguredTracker(
      `tracker.workers ${workers}\nlisten.tcp_udp [::1]:0\n`,
      async (tr) => {
        await runCases(t, [
          [httpClient("127.0.0.1", tr.tcp[1]), "127.0.0.1"],
          [udpClient("127.0.0.1", tr.udp[1]), "127.0.0.1"],
          [httpClient("::1", tr.tcp[0]), "::1"],
          [udpClient("::1", tr.udp[0]), "::1"],
        ]);
      },
      { listeners: 4 },
    );
  });
}
