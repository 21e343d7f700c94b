import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { HttpRoutes } from "./http_routes.ts";
import { ClientAddress } from "./client_address.ts";
import { HttpReply } from "./http_reply.ts";
import { findHeadEnd, RequestHead } from "../protocol/http1.ts";
import { HttpRequestParser } from "../protocol/http_request.ts";
import { FullScrapeAdmission } from "../logic/full_scrape_admission.ts";
import { StatsScanner } from "../logic/stats_scan.ts";
import { FullScrapes } from "../logic/full_scrape.ts";
import { AccessControl } from "../logic/access.ts";
import { HashSet20 } from "../swarm/hash_set.ts";
import { HTTP_ERROR } from "../stats/counters.ts";
import { metricsSource } from "../stats/_test_stats.ts";
import { SampleRing } from "../stats/samples.ts";
import { ipFromString } from "../util/ip.ts";
import { TEST_SEED, testLogic } from "../../tests/support/logic.ts";
import { bdecode } from "../../tests/support/http.ts";

const NOW = 1_740_000_000;
const HASH = "aa".repeat(20);
const Q_HASH = "%AA".repeat(20);
const CLIENT = ipFromString("192.0.2.7")!;
const PROXY = ipFromString("10.9.9.9")!;

function routes(
  o: { whitelist?: boolean; statsFrom?: Uint8Array; fullScrapeIntervalSeconds?: number } = {},
) {
  const access = o.whitelist
    ? new AccessControl("whitelist", new HashSet20(TEST_SEED), TEST_SEED)
    : undefined;
  const t = testLogic({ access });
  const log: string[] = [];
  const statsSource = () => ({
    trackerId: 1,
    counters: t.counters,
    torrents: t.swarm.torrentCount,
    peers: t.swarm.peerCount,
    seeds: t.swarm.seedCount,
    uptimeSeconds: 60,
    peerTimeoutMinutes: 45,
    peerBudget: 1000,
    refusedPeers: 0,
  });
  const admission = new FullScrapeAdmission(1, o.fullScrapeIntervalSeconds ?? 0);
  const fullScrapes = new FullScrapes(t.swarm, { concurrentMax: 1 });
  const r = new HttpRoutes({
    logic: t.logic,
    counters: t.counters,
    parser: new HttpRequestParser({ fullScrape: true }),
    redirectUrl: "https://example.org/",
    clientAddress: new ClientAddress((ip) => ip.every((b, i) => b === PROXY[i])),
    admin: {
      statsAllowed: (ip) => o.statsFrom === undefined || ip.every((b, i) => b === o.statsFrom![i]),
      statsSource,
      samples: new SampleRing(),
      metricsSource: () =>
        metricsSource({ ...statsSource(), fullScrapesActive: fullScrapes.active }),
      scanner: new StatsScanner(t.swarm, { clock: () => NOW }),
      woodpeckers: t.woodpeckers,
      fullScrape: {
        gzip: true,
        admit: (c, modest, now) => admission.admit(c, modest, now),
        release: () => admission.release(),
        open: (format, gzip, ended) => fullScrapes.open(format, gzip, ended),
      },
      log: (line) => log.push(line),
    },
  });
  const get = (target: string, headers = "", from = CLIENT, now = NOW) => {
    const b = Uint8Array.from(`GET ${target} HTTP/1.1\r\n${headers}\r\n`, (c) => c.charCodeAt(0));
    const head = new RequestHead();
    head.parse(b, 0, findHeadEnd(b, 0, b.length));
    return r.handle(head, from, now);
  };
  return { ...t, get, log, fullScrapes };
}

const text = (r: HttpReply) => new TextDecoder().decode(r.body);

Deno.test("HttpRoutes: announce and scrape answer bencode with the peers written in place", () => {
  const { get, counters } = routes();
  const first = get(`/announce?info_hash=${Q_HASH}&port=6881&left=0&compact=1`) as HttpReply;
  strictEqual(first.status, 200);
  const a = bdecode(first.body) as Record<string, unknown>;
  deepStrictEqual([a.complete, a.incomplete], [1, 0]);
  deepStrictEqual([...(a.peers as Uint8Array)], [192, 0, 2, 7, 0x1a, 0xe1]);
  const scrape = bdecode((get(`/scrape?info_hash=${Q_HASH}`) as HttpReply).body) as {
    files: Map<string, unknown> | Record<string, unknown>;
  };
  const files = scrape.files as Record<string, { complete: number; incomplete: number }>;
  const entry = Object.values(files)[0];
  deepStrictEqual([entry.complete, entry.incomplete], [1, 0]);
  strictEqual(counters.tcpAnnounces, 1);
  strictEqual(counters.tcpScrapes, 1);
  const stopped = get(`/announce?info_hash=${Q_HASH}&port=6881&event=stopped`) as HttpReply;
  const s = bdecode(stopped.body) as Record<string, unknown>;
  deepStrictEqual([s.complete, s.incomplete], [0, 0]);
});

Deno.test("HttpRoutes: the access list, a missing info_hash and bad parameters", () => {
  const { get, counters } = routes({ whitelist: true });
  const refused = get(`/announce?info_hash=${Q_HASH}&port=1`) as HttpReply;
  strictEqual(refused.status, 200);
  ok(text(refused).includes("not authorized"));
  ok(text(get("/announce?port=1") as HttpReply).includes("forgot to send"));
  const bad = get(`/announce?info_hash=${Q_HASH}&port=1&compact=0`) as HttpReply;
  strictEqual(bad.status, 400);
  strictEqual(counters.httpErrors[HTTP_ERROR.compact400], 1);
  strictEqual((get("/announce?info_hash=%zz") as HttpReply).status, 400);
  strictEqual(counters.httpRefused, 1);
});

Deno.test("HttpRoutes: root redirect, unknown paths and non-GET requests are counted", () => {
  const { get, counters } = routes();
  const root = get("/") as HttpReply;
  strictEqual(root.status, 302);
  strictEqual(root.location, "https://example.org/");
  strictEqual((get("/nothing") as HttpReply).status, 404);
  deepStrictEqual(
    [counters.httpErrors[HTTP_ERROR.redirect302], counters.httpErrors[HTTP_ERROR.notFound404]],
    [1, 1],
  );
});

Deno.test("HttpRoutes: a trusted proxy's X-Forwarded-For names the client", () => {
  const { get } = routes();
  const viaProxy = get(
    `/announce?info_hash=${Q_HASH}&port=80`,
    "X-Forwarded-For: 198.51.100.4\r\n",
    PROXY,
  ) as HttpReply;
  const peers = (bdecode(viaProxy.body) as { peers: Uint8Array }).peers;
  deepStrictEqual([...peers.subarray(0, 4)], [198, 51, 100, 4]);
  // From an untrusted address the header is ignored.
  const direct = get(`/announce?info_hash=${Q_HASH}&port=81`, "X-Forwarded-For: 1.2.3.4\r\n");
  const p2 = (bdecode((direct as HttpReply).body) as { peers: Uint8Array }).peers;
  ok([...p2].join().includes("192,0,2,7"));
  ok(![...p2].join().includes("1,2,3,4"));
});

Deno.test("HttpRoutes: stats modes, restricted stats, metrics and scanned modes", async () => {
  const { get } = routes({ statsFrom: CLIENT });
  get(`/announce?info_hash=${Q_HASH}&port=6881`);
  strictEqual(
    text(get("/stats?mode=peer") as HttpReply),
    "1\n0\nopentracker serving 1 torrents\nopentracker",
  );
  strictEqual((get("/stats?mode=peer", "", PROXY) as HttpReply).status, 403);
  strictEqual((get("/metrics", "", PROXY) as HttpReply).status, 403);
  ok(text(get("/metrics") as HttpReply).includes("\nopentracker_peers 1\n"));
  strictEqual((get("/stats?mode=nonsense") as HttpReply).status, 400);
  strictEqual((get("/stats?mode=busy") as HttpReply).status, 500);
  strictEqual((get("/stats?mode=tpbs&format=nope") as HttpReply).status, 400);
  const top = await get("/stats?mode=top10");
  ok(text(top).includes(`\t1\t${HASH.toUpperCase()}`));
  strictEqual(text(get("/stats?mode=woodpeckers") as HttpReply), "Networks, limit /28:\n\n");
});

Deno.test("HttpRoutes: the status page, by name or for a browser; its samples as JSON; restricted like /stats", async () => {
  const { get } = routes({ statsFrom: CLIENT });
  get(`/announce?info_hash=${Q_HASH}&port=6881&left=0`);
  const page = get("/stats?mode=html") as HttpReply;
  strictEqual(page.status, 200);
  strictEqual(page.contentType, "text/html; charset=utf-8");
  const html = text(page);
  ok(html.startsWith("<!doctype html>"));
  ok(html.includes("uPlot"), "uPlot is inlined");
  ok(!/<script[^>]+src=/.test(html), "no external scripts");
  ok(!/<link[^>]+href="(?!data:)/.test(html), "no external links");
  // A browser asking for the stats path alone gets the page; anything else the default mode.
  const browser = get("/stats", "Accept: text/html,application/xhtml+xml;q=0.9\r\n") as HttpReply;
  strictEqual(browser.contentType, "text/html; charset=utf-8");
  strictEqual((get("/stats", "Accept: */*\r\n") as HttpReply).contentType, "text/plain");
  strictEqual((get("/stats?mode=html", "", PROXY) as HttpReply).status, 403);
  strictEqual((await get("/stats?mode=samples", "", PROXY)).status, 403);
  const samples = await get("/stats?mode=samples");
  strictEqual(samples.contentType, "application/json");
  const d = JSON.parse(text(samples));
  deepStrictEqual(d.now.torrents, 1);
  deepStrictEqual([d.now.peers, d.now.seeders, d.now.leechers], [1, 1, 0]);
  deepStrictEqual(d.top, [{ hash: HASH.toUpperCase(), peers: 1 }]);
  strictEqual(d.intervalSeconds, 10);
  deepStrictEqual(d.samples.time, []);
});

Deno.test("HttpRoutes: full scrapes stream, gzip when asked, bounded and spaced per client", async () => {
  const { get, counters, log } = routes({ fullScrapeIntervalSeconds: 300 });
  get(`/announce?info_hash=${Q_HASH}&port=6881`);
  const plain = get("/scrape") as HttpReply;
  ok(plain.stream !== null);
  strictEqual(plain.contentEncoding, null);
  // A second one from the same client inside the interval: 402, as opentracker's modest scrapes.
  strictEqual((get("/scrape", "", CLIENT, NOW + 10) as HttpReply).status, 402);
  // Another client while one streams: 503 (one at a time here).
  strictEqual((get("/scrape", "", PROXY) as HttpReply).status, 503);
  strictEqual(counters.fullScrapesRefused, 1);
  const body = bdecode(new Uint8Array(await new Response(plain.stream).arrayBuffer())) as {
    files: Record<string, unknown>;
  };
  strictEqual(Object.keys(body.files).length, 1);
  const zipped = get(
    "/stats?mode=tpbs&format=txt",
    "Accept-Encoding: gzip\r\n",
    PROXY,
  ) as HttpReply;
  strictEqual(zipped.contentEncoding, "gzip");
  const unzipped = zipped.stream!.pipeThrough(
    new DecompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>,
  );
  strictEqual(await new Response(unzipped).text(), `${HASH.toUpperCase()}:0:1\n`);
  strictEqual(counters.fullScrapes, 2);
  strictEqual(log.length, 2);
  ok(log[1].includes("FULL SCRAPE (txt)"));
});
