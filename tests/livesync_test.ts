/**
 * Live sync between real tracker processes on loopback: multicast on 224.0.23.5 with each
 * node sending from its own 127.0.0.x address, and the unicast transport with HMAC keys.
 * Waits poll the receiving node until the synced state shows (bounded), never fixed sleeps.
 */

import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";
import { httpClient, randomHash } from "./support/clients.ts";
import { httpGet, latin1, urlencodeBytes } from "./support/http.ts";
import { freePort } from "./support/ports.ts";
import { TrackerProcess, withConfiguredTracker } from "./support/process.ts";
import { toHex } from "../src/util/hex.ts";

interface NodeOptions {
  ip: string;
  port: number;
  trusted?: string[];
  /** More configuration lines, given the node's directory. */
  extra?: (dir: string) => string;
}

function nodeConf(o: NodeOptions, dir: string): string {
  return [
    `livesync.cluster.listen ${o.ip}:${o.port}`,
    ...(o.trusted ?? []).map((n) => `livesync.cluster.node_ip ${n}`),
    "livesync.flush_delay 1",
    "access.ip_from_query on",
    o.extra?.(dir) ?? "",
  ].join("\n");
}

/** Runs `fn` with one started node per option set, stopping all of them afterwards. */
function withNodes(
  nodes: NodeOptions[],
  fn: (ts: TrackerProcess[]) => Promise<void>,
  started: TrackerProcess[] = [],
): Promise<void> {
  if (started.length === nodes.length) return fn(started);
  return withConfiguredTracker(
    (dir) => nodeConf(nodes[started.length], dir),
    (t) => withNodes(nodes, fn, [...started, t]),
  );
}

/** Calls `probe` until it returns true; throws with `what` after `timeoutMs`. */
async function eventually(what: string, probe: () => Promise<boolean>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50)); // poll pacing, not synchronisation
  }
}

/** Announces `hash` for peer `ip:port` (ip= in the query) on node `t`. */
async function announce(
  t: TrackerProcess,
  hash: Uint8Array,
  ip: string,
  port: number,
  extra = "",
): Promise<void> {
  const q = `info_hash=${urlencodeBytes(hash)}&peer_id=-DT0001-abcdefghijkl&port=${port}` +
    `&uploaded=0&downloaded=0&compact=1&ip=${ip}&numwant=0${extra}`;
  const res = await httpGet("127.0.0.1", t.tcp[0], `/announce?${q}`);
  strictEqual(res.status, 200, latin1(res.body));
  ok(!latin1(res.body).includes("failure"), latin1(res.body));
}

async function scrape(t: TrackerProcess, hash: Uint8Array) {
  const [s] = await httpClient("127.0.0.1", t.tcp[0]).scrape([hash]);
  return s ?? { complete: 0, incomplete: 0, downloaded: 0 };
}

/** Peers of `hash` on node `t` as `ip:port`, asked by a throw-away peer that stops again. */
async function peersOn(t: TrackerProcess, hash: Uint8Array): Promise<string[]> {
  const client = httpClient("127.0.0.1", t.tcp[0]);
  const r = await client.announce({ hash, port: 1, numwant: 50 });
  await client.announce({ hash, port: 1, event: "stopped" });
  return r.peers.filter((p) => p !== "127.0.0.1:1").sort();
}

async function metric(t: TrackerProcess, line: RegExp): Promise<number> {
  const text = latin1((await httpGet("127.0.0.1", t.tcp[0], "/metrics")).body);
  const m = text.match(line);
  return m ? Number(m[1]) : 0;
}

Deno.test("live sync: peers, completions and stops reach the other node; no echo", async () => {
  const port = freePort();
  const trusted = ["127.0.0.1", "127.0.0.2"];
  await withNodes([
    { ip: "127.0.0.1", port, trusted },
    { ip: "127.0.0.2", port, trusted },
  ], async ([a, b]) => {
    const h = randomHash();
    await announce(a, h, "10.9.8.7", 7001, "&left=5");
    await announce(a, h, "2001:db8::7", 7002, "&left=5");
    await eventually("both peers on B", async () => (await scrape(b, h)).incomplete === 2);
    deepStrictEqual(await peersOn(b, h), ["10.9.8.7:7001", "2001:db8::7:7002"].sort());

    // A completion on A is counted once on A and once on B, and B does not send it back.
    await announce(a, h, "10.9.8.7", 7001, "&left=0&event=completed");
    await eventually("completion on B", async () => {
      const s = await scrape(b, h);
      return s.downloaded === 1 && s.complete === 1 && s.incomplete === 1;
    });
    // Barrier: a peer announced on B after the completion arrived; once A has it, anything B
    // would have echoed has arrived too.
    await announce(b, h, "10.9.8.9", 7009, "&left=5");
    await eventually("B's peer on A", async () => (await scrape(a, h)).incomplete === 2);
    deepStrictEqual(await scrape(a, h), { complete: 1, incomplete: 2, downloaded: 1 });
    deepStrictEqual(await scrape(b, h), { complete: 1, incomplete: 2, downloaded: 1 });

    // A stop on A removes the peer on B.
    await announce(a, h, "10.9.8.7", 7001, "&left=0&event=stopped");
    await eventually("stop on B", async () => (await scrape(b, h)).complete === 0);
    deepStrictEqual(await peersOn(b, h), ["10.9.8.9:7009", "2001:db8::7:7002"].sort());

    match(
      latin1((await httpGet("127.0.0.1", b.tcp[0], "/stats?mode=syncs")).body),
      /^[1-9]\d*\n0\n/,
    );
    ok(await metric(b, /opentracker_livesync_packets_total\{result="applied"\} (\d+)/) >= 3);
    // Two new peers, one completion, one stop.
    strictEqual(await metric(a, /opentracker_livesync_sent_records_total (\d+)/), 4);
  });
});

Deno.test("live sync: a node outside node_ip is ignored, the access list applies", async () => {
  const port = freePort();
  const allowed = randomHash();
  const refused = randomHash();
  await withNodes([
    {
      ip: "127.0.0.1",
      port,
      trusted: ["127.0.0.1", "127.0.0.3"],
      extra: (dir) => {
        Deno.writeTextFileSync(`${dir}/whitelist`, toHex(allowed) + "\n");
        return `access.whitelist ${dir}/whitelist`;
      },
    },
    { ip: "127.0.0.2", port, trusted: ["127.0.0.0/8"] },
    { ip: "127.0.0.3", port, trusted: ["127.0.0.0/8"] },
  ], async ([a, b, c]) => {
    // B is not trusted by A: its packets are counted and dropped.
    await announce(b, allowed, "10.0.0.2", 7002, "&left=5");
    await eventually(
      "untrusted packet counted on A",
      async () =>
        await metric(a, /opentracker_livesync_packets_total\{result="untrusted"\} (\d+)/) > 0,
    );
    // C is trusted: its peer of the listed torrent arrives, the unlisted one does not.
    await announce(c, refused, "10.0.0.3", 7003, "&left=5");
    await announce(c, allowed, "10.0.0.3", 7003, "&left=5");
    await eventually("C's peer on A", async () => (await scrape(a, allowed)).incomplete === 1);
    deepStrictEqual(await peersOn(a, allowed), ["10.0.0.3:7003"]);
    ok(await metric(a, /opentracker_livesync_refused_total (\d+)/) >= 1);
    deepStrictEqual(await scrape(a, refused), { complete: 0, incomplete: 0, downloaded: 0 });
  });
});

Deno.test("live sync over unicast: HMAC-sealed packets arrive, a wrong key is refused", async () => {
  const key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
  const wrong = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeefe";
  const [pa, pb, pc] = [freePort(), freePort(), freePort()];
  const unicast = (k: string, ...peers: string[]) => () =>
    [`livesync.unicast.key ${k}`, ...peers.map((p) => `livesync.unicast.peer ${p}`)].join("\n");
  await withNodes([
    { ip: "127.0.0.1", port: pa, extra: unicast(key, `127.0.0.2:${pb}`) },
    // B trusts its configured peer A; C is not configured but blessed, so only its key is wrong.
    { ip: "127.0.0.2", port: pb, trusted: ["127.0.0.3"], extra: unicast(key, `127.0.0.1:${pa}`) },
    { ip: "127.0.0.3", port: pc, extra: unicast(wrong, `127.0.0.2:${pb}`) },
  ], async ([a, b, c]) => {
    const h = randomHash();
    await announce(c, h, "10.0.0.3", 7003, "&left=5");
    await eventually(
      "C's packet refused on B",
      async () =>
        await metric(b, /opentracker_livesync_packets_total\{result="bad_hmac"\} (\d+)/) > 0,
    );
    await announce(a, h, "10.0.0.1", 7001, "&left=0");
    await eventually("A's peer on B", async () => (await scrape(b, h)).complete === 1);
    deepStrictEqual(await peersOn(b, h), ["10.0.0.1:7001"]);
    // And back: B's peers reach A (the throw-away peer of peersOn was announced and stopped).
    await announce(b, h, "10.0.0.2", 7002, "&left=5");
    await eventually("B's peer on A", async () => (await scrape(a, h)).incomplete === 1);
  });
});

Deno.test("live sync with 2 workers: records reach their owners and every worker's peers go out", async () => {
  const port = freePort();
  const trusted = ["127.0.0.1", "127.0.0.2"];
  await withNodes([
    { ip: "127.0.0.1", port, trusted, extra: () => "tracker.workers 2" },
    { ip: "127.0.0.2", port, trusted },
  ], async ([a, b]) => {
    // Torrents of both of A's workers: announced on A, they reach B through A's one socket.
    const fromA = Array.from({ length: 16 }, () => randomHash());
    for (const [i, h] of fromA.entries()) await announce(a, h, "10.1.1.1", 8000 + i, "&left=5");
    // Announced on B, they reach A's socket in worker 0, which hands each to its owner.
    const fromB = Array.from({ length: 16 }, () => randomHash());
    for (const [i, h] of fromB.entries()) await announce(b, h, "10.2.2.2", 9000 + i, "&left=5");
    const all = async (t: TrackerProcess, hashes: Uint8Array[]) =>
      (await httpClient("127.0.0.1", t.tcp[0]).scrape(hashes)).every((s) => s?.incomplete === 1);
    await eventually("A's torrents on B", () => all(b, fromA));
    await eventually("B's torrents on A", () => all(a, fromB));
    // All 16 arrived on B, so all 16 were sent (before the announces of peersOn add more).
    strictEqual(await metric(a, /opentracker_livesync_sent_records_total (\d+)/), 16);
    deepStrictEqual(await peersOn(a, fromB[3]), ["10.2.2.2:9003"]);
    ok(await metric(a, /opentracker_handoff_records_total\{direction="sent"\} (\d+)/) > 0);
  });
});
