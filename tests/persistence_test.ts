/**
 * State that survives restarts, and full scrapes: every format decoded (gzip decompressed),
 * gzip only when asked, statedump → -l → equal scrape counts, SIGTERM and restart with the same
 * peers, damaged and truncated state files.
 */

import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { toHex } from "../src/util/hex.ts";
import { httpClient, lookupBinaryKey, udpClient } from "./support/clients.ts";
import { bdecode, dechunk, latin1, rawHttp, RawResponse } from "./support/http.ts";
import { startTrackerProcess, TrackerProcess, withConfiguredTracker } from "./support/process.ts";

/** GET with optional Accept-Encoding; de-chunks the body. */
async function get(port: number, target: string, acceptEncoding?: string): Promise<RawResponse> {
  const extra = acceptEncoding ? `Accept-Encoding: ${acceptEncoding}\r\n` : "";
  const res = await rawHttp(
    "127.0.0.1",
    port,
    `GET ${target} HTTP/1.1\r\nHost: t\r\n${extra}Connection: close\r\n\r\n`,
  );
  if (res.headers.get("transfer-encoding") === "chunked") res.body = dechunk(res.body);
  return res;
}

/** Three torrents with known counts; hashes sorted ascending. */
const HASHES = [0x10, 0x80, 0xf0].map((b) => {
  const h = new Uint8Array(20).fill(b);
  h[19] = 0x26; // "&" in the url format must be escaped
  return h;
});

async function feed(port: number): Promise<void> {
  const c = httpClient("127.0.0.1", port);
  await c.announce({ hash: HASHES[0], port: 1, left: 0 });
  await c.announce({ hash: HASHES[0], port: 2 });
  await c.announce({ hash: HASHES[0], port: 2, left: 0, event: "completed" });
  await c.announce({ hash: HASHES[1], port: 3 });
  await c.announce({ hash: HASHES[2], port: 4 });
  await c.announce({ hash: HASHES[2], port: 5, left: 0 });
}

const hex = (h: Uint8Array) => toHex(h, 0, 20, true);

Deno.test("full scrape and every tpbs format list every torrent in hash order", async () => {
  await withConfiguredTracker("access.fullscrape_interval 0\n", async (t) => {
    await feed(t.tcp[0]);
    const full = await get(t.tcp[0], "/scrape");
    strictEqual(full.status, 200);
    strictEqual(full.headers.get("content-type"), "application/octet-stream");
    strictEqual(full.headers.get("transfer-encoding"), "chunked");
    strictEqual(full.headers.get("content-encoding"), undefined, "no gzip unless asked");
    const files = bdecode(full.body).files;
    deepStrictEqual(lookupBinaryKey(files, HASHES[0]), {
      complete: 2,
      downloaded: 1,
      incomplete: 0,
    });
    deepStrictEqual(lookupBinaryKey(files, HASHES[1]), {
      complete: 0,
      downloaded: 0,
      incomplete: 1,
    });
    deepStrictEqual(lookupBinaryKey(files, HASHES[2]), {
      complete: 1,
      downloaded: 0,
      incomplete: 1,
    });

    const txt = latin1((await get(t.tcp[0], "/stats?mode=tpbs&format=txt")).body);
    strictEqual(txt, `${hex(HASHES[0])}:2:0\n${hex(HASHES[1])}:0:1\n${hex(HASHES[2])}:1:1\n`);
    const txtp = latin1((await get(t.tcp[0], "/stats?mode=tpbs&format=txtp")).body);
    strictEqual(
      txtp,
      `${hex(HASHES[0])}:2:0:1\n${hex(HASHES[1])}:0:1:0\n${hex(HASHES[2])}:1:1:0\n`,
    );
    const url = latin1((await get(t.tcp[0], "/stats?mode=tpbs&format=url")).body).split("\n");
    strictEqual(url[0], `${"%10".repeat(19)}%26:2:0`);
    const bin = (await get(t.tcp[0], "/stats?mode=tpbs&format=bin")).body;
    strictEqual(bin.length, 3 * 28);
    deepStrictEqual([...bin.subarray(20, 28)], [0, 0, 0, 2, 0, 0, 0, 0]);
    deepStrictEqual([...bin.subarray(28, 48)], [...HASHES[1]]);
    const ben = bdecode((await get(t.tcp[0], "/stats?mode=tpbs&format=ben")).body).files;
    strictEqual(Object.keys(ben).length, 3);

    const gz = await get(t.tcp[0], "/scrape", "gzip, deflate");
    strictEqual(gz.headers.get("content-encoding"), "gzip");
    deepStrictEqual(bdecode(gunzipSync(gz.body)).files, files);
    const notGz = await get(t.tcp[0], "/stats?mode=tpbs&format=txt", "gzip;q=0, br");
    strictEqual(notGz.headers.get("content-encoding"), undefined);
    strictEqual(latin1(notGz.body), txt);
    // A User-Agent that mentions gzip does not turn compression on (opentracker's substring search did).
    const ua = await rawHttp(
      "127.0.0.1",
      t.tcp[0],
      "GET /stats?mode=tpbs&format=txt HTTP/1.1\r\nUser-Agent: gzip-client\r\nConnection: close\r\n\r\n",
    );
    strictEqual(ua.headers.get("content-encoding"), undefined);

    strictEqual((await get(t.tcp[0], "/stats?mode=tpbs")).status, 400, "tpbs without format");
    strictEqual((await get(t.tcp[0], "/stats?mode=tpbs&format=xml")).status, 400);
    const fscr = latin1((await get(t.tcp[0], "/stats?mode=fscr")).body).split("\n");
    ok(Number(fscr[0]) >= 8000, `full scrapes counted: ${fscr[0]}`);
    ok(Number(fscr[1]) > 0, "full scrape bytes counted");
  });
});

Deno.test("full scrape can be switched off, and is rate-limited per client by default", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/off.conf`, "access.fullscrape off\n");
    const off = await startTrackerProcess(
      ["-f", `${dir}/off.conf`, "-i", "127.0.0.1", "-p", "0"],
      1,
      [`--allow-read=${dir}`],
    );
    try {
      strictEqual(
        (await get(off.tcp[0], "/scrape")).status,
        400,
        "like a build without WANT_FULLSCRAPE",
      );
      strictEqual((await get(off.tcp[0], "/stats?mode=statedump")).status, 500);
    } finally {
      await off.stop();
    }
    // The default access.fullscrape_interval (300 s) applies with no configuration.
    const modest = await startTrackerProcess(["-i", "127.0.0.1", "-p", "0"], 1);
    try {
      strictEqual((await get(modest.tcp[0], "/scrape")).status, 200);
      const second = await get(modest.tcp[0], "/scrape");
      strictEqual(second.status, 402);
      strictEqual(latin1(second.body), "<title>Payment Required</title>\n");
    } finally {
      await modest.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("statedump → -l restores the same scrape counts, without doubling downloads", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const first = await startTrackerProcess(["-i", "127.0.0.1", "-p", "0"], 1);
    let dump: string;
    let before: unknown;
    try {
      await feed(first.tcp[0]);
      dump = latin1((await get(first.tcp[0], "/stats?mode=statedump")).body);
      before = bdecode((await get(first.tcp[0], "/scrape")).body).files;
    } finally {
      await first.stop();
    }
    const lines = dump.trimEnd().split("\n");
    strictEqual(lines.length, 3);
    match(lines[0], new RegExp(`^${hex(HASHES[0])}:\\d+:1$`));
    await Deno.writeTextFile(`${dir}/dump`, dump + "garbage line\n" + `${"zz".repeat(20)}:1:1\n`);
    const second = await startTrackerProcess(
      ["-l", `${dir}/dump`, "-i", "127.0.0.1", "-p", "0"],
      1,
      [`--allow-read=${dir}`],
    );
    try {
      match(
        second.output(),
        /Restored 3 torrents from .*; 2 malformed lines skipped \(lines 4, 5\)/,
      );
      const after = bdecode((await get(second.tcp[0], "/scrape")).body).files;
      for (const h of HASHES) {
        strictEqual(lookupBinaryKey(after, h)?.downloaded, lookupBinaryKey(before, h)?.downloaded);
      }
      // A second cycle does not double the counter either.
      const again = latin1((await get(second.tcp[0], "/stats?mode=statedump")).body);
      match(again, new RegExp(`^${hex(HASHES[0])}:\\d+:1\n`));
    } finally {
      await second.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function withStateTracker<T>(dir: string, fn: (t: TrackerProcess) => Promise<T>): Promise<T> {
  const t = await startTrackerProcess(
    ["-f", `${dir}/state.conf`, "-i", "127.0.0.1", "-p", "0", "-P", "0"],
    2,
    [`--allow-read=${dir}`, `--allow-write=${dir}`],
  );
  try {
    return await fn(t);
  } finally {
    await t.stop();
  }
}

Deno.test("SIGTERM writes the state and a restart returns the same peers", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/state.conf`, `tracker.statefile ${dir}/state.bin\n`);
    const peersBefore = await withStateTracker(dir, async (t) => {
      const udp = udpClient("127.0.0.1", t.udp[0]);
      try {
        await feed(t.tcp[0]);
        for (let p = 10; p < 60; p++) await udp.announce({ hash: HASHES[1], port: p, numwant: 0 });
        return (await udp.announce({ hash: HASHES[1], port: 10, numwant: 200 })).peers.sort();
      } finally {
        udp.close();
      }
    });
    strictEqual(peersBefore.length, 51);
    const log = await withStateTracker(dir, async (t) => {
      const r = await httpClient("127.0.0.1", t.tcp[0]).announce({
        hash: HASHES[1],
        port: 10,
        numwant: 200,
      });
      deepStrictEqual(r.peers.sort(), peersBefore, "same peers after the restart");
      deepStrictEqual([r.complete, r.incomplete], [0, 51]);
      const [s0] = await httpClient("127.0.0.1", t.tcp[0]).scrape([HASHES[0]]);
      deepStrictEqual(s0, { complete: 2, downloaded: 1, incomplete: 0 });
      return t.output();
    });
    match(log, /Loaded 3 torrents and 55 peers from .*state\.bin/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a truncated or corrupt state file is reported, kept aside, and what was read is used", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/state.conf`, `tracker.statefile ${dir}/state.bin\n`);
    await withStateTracker(dir, (t) => feed(t.tcp[0]));
    const whole = await Deno.readFile(`${dir}/state.bin`);

    await Deno.writeFile(`${dir}/state.bin`, whole.subarray(0, whole.length - 5));
    await withStateTracker(dir, async (t) => {
      match(
        t.output(),
        /Loaded 3 torrents .*\n.*damaged: truncated at byte \d+ \(no final block\); .*moved the file to .*state\.bin\.damaged-\d+/,
      );
      const [s0] = await httpClient("127.0.0.1", t.tcp[0]).scrape([HASHES[0]]);
      deepStrictEqual(s0, { complete: 2, downloaded: 1, incomplete: 0 });
    });
    const kept = [...Deno.readDirSync(dir)].filter((e) => e.name.startsWith("state.bin.damaged-"));
    strictEqual(kept.length, 1, "the damaged file is kept");
    deepStrictEqual(
      await Deno.readFile(`${dir}/${kept[0].name}`),
      whole.subarray(0, whole.length - 5),
    );

    const corrupt = whole.slice();
    corrupt[40] ^= 0xff; // inside the first (only) block
    await Deno.writeFile(`${dir}/state.bin`, corrupt);
    await withStateTracker(dir, async (t) => {
      // The first block is lost; with several workers, each wrote blocks of its own torrents,
      // and those of the others are read.
      match(t.output(), /Loaded [0-2] torrents .*\n.*damaged: checksum mismatch/);
      strictEqual((await get(t.tcp[0], "/stats?mode=torr")).status, 200);
    });
    await Deno.writeFile(`${dir}/state.bin`, new TextEncoder().encode("garbage"));
    await withStateTracker(dir, async (t) => {
      match(t.output(), /shorter than its header/);
      strictEqual((await get(t.tcp[0], "/stats?mode=torr")).status, 200, "started empty");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
