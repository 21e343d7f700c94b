/**
 * Side by side with the real opentracker (Debian's build of upstream 110868e, IPv4 only, with a
 * whitelist): the same HTTP request sequences go to both, and the replies must be identical except
 * for random intervals, peer order, connection ids and the documented deviations (README).
 */

import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { toHex } from "../src/util/hex.ts";
import { randomHash } from "./support/clients.ts";
import { bdecode, httpGet, latin1, rawHttp, RawResponse, urlencodeBytes } from "./support/http.ts";
import { startTrackerProcess, TrackerProcess } from "./support/process.ts";
import { startReference } from "./support/reference.ts";
import { needs } from "./requirements.ts";

const HASHES = Array.from({ length: 16 }, () => randomHash());

/** A comparable form of an HTTP reply: status, content type and decoded body. */
function normalise(res: RawResponse): unknown {
  const type = res.headers.get("content-type") ?? null;
  const body = latin1(res.body);
  if (res.status !== 200 || !body.startsWith("d")) return { status: res.status, type, body };
  const d = bdecode(res.body);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(d)) {
    if (k === "interval" || k === "min interval") {
      out[k] = typeof v === "number" && v >= 810 && v <= 1979 ? "in range" : v;
    } else if (k === "peers" && v instanceof Uint8Array && v.length === 0) {
      // Debian's 2021 build always sends `5:peers0:`; upstream since 2024 omits it, as do we.
      continue;
    } else if ((k === "peers" || k === "peers6") && v instanceof Uint8Array) {
      const size = k === "peers" ? 6 : 18;
      const peers: string[] = [];
      for (let i = 0; i < v.length; i += size) peers.push(toHex(v, i, size));
      out[k] = peers.sort();
    } else if (k === "files") {
      out[k] = Object.fromEntries(Object.entries(v as object).sort(([a], [b]) => a < b ? -1 : 1));
    } else if (v instanceof Uint8Array) {
      out[k] = latin1(v);
    } else {
      out[k] = v;
    }
  }
  // Fewer peers than the swarm holds: a random sample, so only its size compares.
  const sampled = Array.isArray(out.peers) &&
    out.peers.length < Number(d.complete ?? 0) + Number(d.incomplete ?? 0);
  if (sampled) out.peers = `${(out.peers as string[]).length} sampled`;
  return { status: res.status, type, body: out };
}

/** Status line and header names in order, with every value but Content-Length. */
function framing(res: RawResponse): string[] {
  return [
    res.statusLine,
    ...[...res.headers].map(([k, v]) => k === "content-length" ? k : `${k}: ${v}`),
  ];
}

const h = (i: number) => urlencodeBytes(HASHES[i]);
const PID = "&peer_id=-DT0001-abcdefghijkl";

/** [name, request target or raw request] sent in order to both trackers. */
const HTTP_STEPS: [string, string][] = [
  ["first leecher", `/announce?info_hash=${h(0)}${PID}&port=1001&left=10&event=started`],
  ["second peer seeds", `/announce?info_hash=${h(0)}${PID}&port=1002&left=0`],
  ["leecher completes", `/announce?info_hash=${h(0)}${PID}&port=1001&left=0&event=completed`],
  ["completes again", `/announce?info_hash=${h(0)}${PID}&port=1001&left=0&event=completed`],
  ["scrape one", `/scrape?info_hash=${h(0)}`],
  ["stop", `/announce?info_hash=${h(0)}${PID}&port=1001&left=0&event=stopped`],
  ["scrape after stop", `/scrape?info_hash=${h(0)}`],
  ["stop unknown", `/announce?info_hash=${h(1)}&port=1&event=stopped`],
  ...Array.from(
    { length: 10 },
    (_, i) =>
      [`fill ${i}`, `/announce?info_hash=${h(2)}&port=${2000 + i}&left=${i % 2}&numwant=0`] as [
        string,
        string,
      ],
  ),
  ["numwant 0", `/announce?info_hash=${h(2)}&port=2000&numwant=0`],
  ["numwant -1", `/announce?info_hash=${h(2)}&port=2000&numwant=-1`],
  ["numwant 5", `/announce?info_hash=${h(2)}&port=2000&numwant=5`],
  ["numwant 1000", `/announce?info_hash=${h(2)}&port=2000&numwant=1000`],
  ["no port", `/announce?info_hash=${h(3)}`],
  ["announce.php with junk", `/announce.php?info_hash=${h(4)}&key=x&uploaded=1&foo&&=bar&port=5`],
  ["no info_hash", `/announce?port=1`],
  ["empty query", `/announce?`],
  ["short info_hash", `/announce?info_hash=abc&port=1`],
  ["double info_hash", `/announce?info_hash=${h(0)}&info_hash=${h(0)}`],
  ["compact=0", `/announce?info_hash=${h(0)}&compact=0`],
  ["compact=1", `/announce?info_hash=${h(5)}&compact=1&port=9`],
  ["port abc", `/announce?info_hash=${h(0)}&port=abc`],
  ["port 70000", `/announce?info_hash=${h(0)}&port=70000`],
  ["numwant x", `/announce?info_hash=${h(0)}&numwant=x`],
  ["short peer_id", `/announce?info_hash=${h(0)}&peer_id=abc`],
  ["bad escape in unknown parameter", `/announce?info_hash=${h(0)}&x=%zz`],
  ["bad escape in port", `/announce?info_hash=${h(0)}&port=%zz`],
  ["quote in unknown parameter", `/announce?info_hash=${h(0)}&x=a"b`],
  ["brackets in unknown parameter", `/announce?info_hash=${h(0)}&x=[1]`],
  ["at sign in a name", `/announce?info_hash=${h(0)}&a@b=1`],
  ["at sign in a value", `/announce?info_hash=${h(10)}&x=a@b&port=3`],
  ["question mark in a value", `/announce?info_hash=${h(10)}&x=a?b&port=3`],
  ["equals in a value", `/announce?info_hash=${h(10)}&x=a=b&port=3`],
  ["name without value", `/announce?info_hash=${h(10)}&flag&port=3`],
  ["percent in event", `/announce?info_hash=${h(10)}&event=%zz`],
  ["started event", `/announce?info_hash=${h(10)}&event=started&port=4`],
  ["left not a number", `/announce?info_hash=${h(11)}&left=abc&port=4`],
  ["negative numwant", `/announce?info_hash=${h(11)}&numwant=-5&port=4`],
  ["left empty", `/announce?info_hash=${h(0)}&left=`],
  ["root", `/`],
  ["unknown path", `/foo`],
  ["passkey path", `/abc123/announce?info_hash=${h(0)}`],
  ["announce without query", `/announce`],
  ["scrape without hash", `/scrape?foo=1`],
  ["scrape short hash", `/scrape?info_hash=abc`],
  ["bad path escape", `/%zz`],
  ["scrape unknown", `/scrape?info_hash=${h(6)}`],
  ["scrape mixed", `/scrape?info_hash=${h(6)}&info_hash=${h(2)}&info_hash=${h(0)}`],
  ["scrape duplicate", `/scrape?info_hash=${h(2)}&info_hash=${h(0)}&info_hash=${h(2)}`],
  ["negative port", `/announce?info_hash=${h(12)}&port=-1`],
  ["left 2^32", `/announce?info_hash=${h(13)}&port=5&left=4294967296`],
];

/** Steps whose replies differ on purpose (README "Deviations"); checked against our side. */
const HTTP_DEVIATIONS: Record<string, (ours: RawResponse, theirs: RawResponse) => void> = {
  "negative port"(ours, theirs) {
    // opentracker wraps -1 to port 65535; we refuse it.
    strictEqual(ours.status, 400);
    strictEqual(theirs.status, 200);
    const peers: Uint8Array = bdecode(theirs.body).peers;
    deepStrictEqual([...peers.subarray(4, 6)], [0xff, 0xff], "stored as port 65535");
  },
  "left 2^32"(ours, theirs) {
    // opentracker parses left as a 32-bit int, so 2^32 bytes left is a seeder.
    deepStrictEqual([bdecode(ours.body).incomplete, bdecode(ours.body).complete], [1, 0]);
    deepStrictEqual([bdecode(theirs.body).incomplete, bdecode(theirs.body).complete], [0, 1]);
  },
  "scrape duplicate"(ours, theirs) {
    // opentracker repeats keys (invalid bencode); we sort and de-duplicate.
    const raw = latin1(ours.body);
    strictEqual(raw.split("d8:complete").length - 1, 2, "two distinct entries");
    strictEqual(latin1(theirs.body).split("d8:complete").length - 1, 3, "three entries");
    deepStrictEqual(normalise(ours), normalise(theirs));
  },
};

Deno.test({
  name: "HTTP replies equal opentracker's",
  ...needs("opentracker"),
  async fn() {
    const ref = await startReference(HASHES);
    let ours: TrackerProcess | null = null;
    try {
      ours = await startTrackerProcess(["-i", "127.0.0.1", "-p", "0", "-P", "0"], 2);
      for (const [name, target] of HTTP_STEPS) {
        const a = await httpGet("127.0.0.1", ours.tcp[0], target);
        const b = await httpGet("127.0.0.1", ref.port, target);
        const deviation = HTTP_DEVIATIONS[name];
        if (deviation) deviation(a, b);
        else {
          deepStrictEqual(normalise(a), normalise(b), `step "${name}": ${target}`);
          // The framing is opentracker's byte for byte: status line, header names and order.
          deepStrictEqual(framing(a), framing(b), `step "${name}": ${target}`);
        }
      }
      // Methods other than GET: opentracker answers 400, and so do we.
      for (const method of ["POST", "HEAD"]) {
        const req = `${method} /announce?info_hash=${h(0)} HTTP/1.1\r\nConnection: close\r\n\r\n`;
        const a = await rawHttp("127.0.0.1", ours.tcp[0], req);
        const b = await rawHttp("127.0.0.1", ref.port, req);
        strictEqual(a.status, b.status, method);
      }
    } finally {
      await ours?.stop();
      await ref.stop();
    }
  },
});
