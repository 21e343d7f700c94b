import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { AnnounceRequest, EVENT } from "../types.ts";
import { HttpRequestParser, PARSE, ROUTE } from "./http_request.ts";

const HASH = "%01%02%03%04%05%06%07%08%09%0a%0b%0c%0d%0e%0f%10%11%12%13%ff";
const HASH_BYTES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 255];

/** The target's bytes, as the server hands them to the parser (one byte per char code). */
function bytes(target: string): Uint8Array {
  return Uint8Array.from(target, (c) => c.charCodeAt(0));
}

function route(target: string, options = {}): number {
  return new HttpRequestParser(options).route(bytes(target), 0);
}

Deno.test("HttpRequestParser.route() follows opentracker's first-character routing", () => {
  const cases: [string, number][] = [
    ["/", ROUTE.root],
    ["///", ROUTE.root],
    ["/?info_hash=x", ROUTE.notFound],
    ["/announce?x", ROUTE.announce],
    ["/announce.php?x", ROUTE.announce],
    ["/a?", ROUTE.announce],
    ["//announce?x", ROUTE.announce],
    ["/announce", ROUTE.badRequest],
    ["/scrape?x", ROUTE.scrape],
    ["/scan?x", ROUTE.scrape],
    ["/scrape", ROUTE.badRequest],
    ["/stats", ROUTE.stats],
    ["/stats?mode=peer", ROUTE.stats],
    ["/statsx", ROUTE.notFound],
    ["/tracker/announce?x", ROUTE.notFound],
    ["/favicon.ico", ROUTE.notFound],
    ["/%61nnounce?x", ROUTE.announce],
    ["/%zz", ROUTE.notFound],
    ["/a=b", ROUTE.notFound],
    ["/a@b", ROUTE.notFound],
    ["/a%", ROUTE.notFound],
    ["/ann{ounce?x", ROUTE.notFound],
  ];
  for (const [target, expected] of cases) strictEqual(route(target), expected, target);
});

Deno.test("HttpRequestParser.route() finds full scrape only when enabled, and a custom stats path", () => {
  strictEqual(route("/scrape", { fullScrape: true }), ROUTE.fullScrape);
  strictEqual(route("/scrape?", { fullScrape: true }), ROUTE.scrape);
  strictEqual(route("/private/st", { statsPath: "private/st" }), ROUTE.stats);
  strictEqual(route("/stats", { statsPath: "private/st" }), ROUTE.notFound);
  // As in opentracker, a stats path starting with "a" or "sc" is shadowed by announce/scrape.
  strictEqual(route("/admin", { statsPath: "admin" }), ROUTE.badRequest);
});

function announce(query: string, options = {}): { code: number; req: AnnounceRequest } {
  const p = new HttpRequestParser(options);
  const target = "/announce?" + query;
  strictEqual(p.route(bytes(target), 0), ROUTE.announce);
  const req = new AnnounceRequest();
  return { code: p.parseAnnounce(req), req };
}

Deno.test("HttpRequestParser.parseAnnounce() decodes a binary info_hash and the parameters", () => {
  const { code, req } = announce(
    `info_hash=${HASH}&peer_id=-TR3000-abcdefghijkl&port=6881&left=0&event=completed&numwant=7&compact=1&key=x&uploaded=5`,
  );
  strictEqual(code, PARSE.ok);
  deepStrictEqual([...req.infoHash], HASH_BYTES);
  strictEqual(req.port, 6881);
  strictEqual(req.seeding, true);
  strictEqual(req.event, EVENT.completed);
  strictEqual(req.numwant, 7);
  strictEqual(req.hasPeerId, true);
  strictEqual(new TextDecoder().decode(req.peerId), "-TR3000-abcdefghijkl");
  // The next request without one does not keep it.
  const p = new HttpRequestParser({});
  strictEqual(p.route(bytes(`/announce?info_hash=${HASH}`), 0), ROUTE.announce);
  strictEqual(p.parseAnnounce(req), PARSE.ok);
  strictEqual(req.hasPeerId, false);
});

Deno.test("HttpRequestParser.parseAnnounce() applies opentracker's defaults and caps", () => {
  const cases: [string, Partial<AnnounceRequest>][] = [
    ["", { port: 0, seeding: false, numwant: 50, event: EVENT.none }],
    ["&numwant=-1", { numwant: 50 }],
    ["&numwant=0", { numwant: 0 }],
    ["&numwant=999", { numwant: 200 }],
    ["&left=abc", { seeding: true }],
    ["&left=4294967296", { seeding: false }],
    ["&left=000", { seeding: true }],
    ["&left=1", { seeding: false }],
    ["&event=stopped&event=completed", { event: EVENT.stopped }],
    ["&event=started", { event: EVENT.none }],
    ["&port=65535", { port: 65535 }],
    ["&port=1&port=2", { port: 2 }],
    ["&&flag&x=a=b&=v", { port: 0 }],
  ];
  for (const [extra, expected] of cases) {
    const { code, req } = announce(`info_hash=${HASH}${extra}`);
    strictEqual(code, PARSE.ok, extra);
    for (const [k, v] of Object.entries(expected)) {
      strictEqual((req as unknown as Record<string, unknown>)[k], v, `${extra}: ${k}`);
    }
  }
});

Deno.test("HttpRequestParser.parseAnnounce() reports opentracker's error classes", () => {
  const cases: [string, number][] = [
    ["port=1", PARSE.noInfoHash],
    ["info_hash=short", PARSE.badParameter],
    [`info_hash=${HASH}&info_hash=${HASH}`, PARSE.badParameter],
    [`info_hash=${HASH}&peer_id=short`, PARSE.badParameter],
    [`info_hash=${HASH}&port=`, PARSE.badParameter],
    [`info_hash=${HASH}&port=65536`, PARSE.badParameter],
    [`info_hash=${HASH}&port=-1`, PARSE.badParameter],
    [`info_hash=${HASH}&port=12a`, PARSE.badParameter],
    [`info_hash=${HASH}&left=`, PARSE.badParameter],
    [`info_hash=${HASH}&numwant=x`, PARSE.badParameter],
    [`info_hash=${HASH}&compact=0`, PARSE.badCompact],
    [`info_hash=${HASH}&compact6=0`, PARSE.badCompact],
    [`info_hash=${HASH}&compact=x`, PARSE.badParameter],
    [`info_hash=${HASH}&port=%zz`, PARSE.badParameter],
    [`info_hash=${HASH}&x=%zz`, PARSE.ok],
    [`info_hash=${HASH}&x=a"b`, PARSE.badParameter],
    [`info_hash=${HASH}&x@y=1`, PARSE.badParameter],
    [`info_hash=${HASH}&x=[1]`, PARSE.badParameter],
    [`info_hash=${HASH}&numwant=%4`, PARSE.badParameter],
  ];
  for (const [query, expected] of cases) strictEqual(announce(query).code, expected, query);
});

Deno.test("HttpRequestParser.parseAnnounce() honours ip= only when enabled", () => {
  const off = announce(`info_hash=${HASH}&ip=10.1.2.3`);
  strictEqual(off.code, PARSE.ok);
  deepStrictEqual([...off.req.ip.subarray(12)], [0, 0, 0, 0]);
  const on = announce(`info_hash=${HASH}&ip=10.1.2.3`, { ipFromQuery: true });
  deepStrictEqual([...on.req.ip.subarray(12)], [10, 1, 2, 3]);
  strictEqual(
    announce(`info_hash=${HASH}&ip=nonsense`, { ipFromQuery: true }).code,
    PARSE.badParameter,
  );
});

Deno.test("HttpRequestParser.parseScrape() takes up to 64 info_hashes and nothing else", () => {
  const p = new HttpRequestParser();
  const many = Array.from({ length: 70 }, () => `info_hash=${HASH}`).join("&");
  for (
    const [query, code, count] of [
      [`info_hash=${HASH}&foo=1&info_hash=${HASH}`, PARSE.ok, 2],
      [many, PARSE.ok, 64],
      ["foo=1", PARSE.badParameter, 0],
      ["info_hash=abc", PARSE.badParameter, 0],
    ] as const
  ) {
    const target = "/scrape?" + query;
    p.route(bytes(target), 0);
    strictEqual(p.parseScrape(), code, query.slice(0, 40));
    if (code === PARSE.ok) strictEqual(p.scrapeCount, count);
  }
});

Deno.test("HttpRequestParser.parseStats() reads mode and format and refuses info_hash", () => {
  const p = new HttpRequestParser();
  p.route(bytes("/stats?mode=tpbs&format=txt"), 0);
  strictEqual(p.parseStats(), PARSE.ok);
  strictEqual(p.statsMode, "tpbs");
  strictEqual(p.statsFormat, "txt");
  p.route(bytes("/stats?info_hash=x"), 0);
  strictEqual(p.parseStats(), PARSE.badParameter);
  p.route(bytes("/stats"), 0);
  strictEqual(p.parseStats(), PARSE.ok);
  strictEqual(p.statsMode, "");
});
