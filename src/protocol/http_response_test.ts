import { strictEqual } from "node:assert/strict";
import {
  AnnounceBody,
  FAILURE_NO_INFO_HASH,
  FAILURE_NOT_AUTHORIZED,
  putUint,
  writeAnnounceBody,
  writeScrapeEntry,
  writeScrapeHead,
  writeScrapeTail,
  writeStopBody,
} from "./http_response.ts";

const latin1 = (b: Uint8Array) => String.fromCharCode(...b);

/** An announce body whose peers are the given compact bytes of each family. */
function body(
  counts: { seeders: number; leechers: number; downloaded: number; interval: number },
  peers4: Uint8Array,
  peers6: Uint8Array,
): AnnounceBody {
  return {
    ...counts,
    n4: peers4.length / 6,
    n6: peers6.length / 18,
    writePeers(f, out, off) {
      const p = f === 0 ? peers4 : peers6;
      out.set(p, off);
      return off + p.length;
    },
  };
}

Deno.test("writeAnnounceBody() matches opentracker's reply byte for byte", () => {
  const out = new Uint8Array(256);
  const peers4 = Uint8Array.of(10, 0, 0, 1, 0x1a, 0xe1);
  const counts = { seeders: 0, leechers: 1, downloaded: 0, interval: 1794 };
  const n = writeAnnounceBody(out, 0, body(counts, peers4, new Uint8Array(0)));
  strictEqual(
    latin1(out.subarray(0, n)),
    "d8:completei0e10:downloadedi0e10:incompletei1e8:intervali1794e12:min intervali897e5:peers6:\x0a\x00\x00\x01\x1a\xe1e",
  );
});

Deno.test("writeAnnounceBody() omits empty peer keys and writes peers6", () => {
  const out = new Uint8Array(256);
  const counts = { seeders: 3, leechers: 2, downloaded: 9, interval: 1800 };
  const none = body(counts, new Uint8Array(0), new Uint8Array(0));
  strictEqual(
    latin1(out.subarray(0, writeAnnounceBody(out, 0, none))),
    "d8:completei3e10:downloadedi9e10:incompletei2e8:intervali1800e12:min intervali900ee",
  );
  const six = body({ ...counts, interval: 1 }, new Uint8Array(0), new Uint8Array(18).fill(7));
  const text = latin1(out.subarray(0, writeAnnounceBody(out, 0, six)));
  strictEqual(
    text,
    "d8:completei3e10:downloadedi9e10:incompletei2e8:intervali1e12:min intervali0e6:peers618:" +
      "\x07".repeat(18) + "e",
  );
});

Deno.test("writeStopBody() matches opentracker's stop reply for IPv4 and IPv6 requesters", () => {
  const out = new Uint8Array(128);
  strictEqual(
    latin1(out.subarray(0, writeStopBody(out, 0, { seeders: 0, leechers: 0 }, 1621, false))),
    "d8:completei0e10:incompletei0e8:intervali1621e12:min intervali810e5:peers0:e",
  );
  strictEqual(
    latin1(out.subarray(0, writeStopBody(out, 0, { seeders: 1, leechers: 2 }, 1800, true))),
    "d8:completei1e10:incompletei2e8:intervali1800e12:min intervali900e6:peers60:e",
  );
});

Deno.test("scrape writers produce d5:filesdee and opentracker's entries", () => {
  const out = new Uint8Array(256);
  strictEqual(
    latin1(out.subarray(0, writeScrapeTail(out, writeScrapeHead(out, 0)))),
    "d5:filesdee",
  );
  const hash = new Uint8Array(20).fill(0x41);
  let n = writeScrapeHead(out, 0);
  n = writeScrapeEntry(out, n, hash, 0, { seeders: 1, leechers: 2, downloaded: 3 });
  n = writeScrapeTail(out, n);
  strictEqual(
    latin1(out.subarray(0, n)),
    "d5:filesd20:AAAAAAAAAAAAAAAAAAAAd8:completei1e10:downloadedi3e10:incompletei2eeee",
  );
});

Deno.test("failure reasons have opentracker's lengths", () => {
  strictEqual(FAILURE_NO_INFO_HASH.length, 102);
  strictEqual(FAILURE_NOT_AUTHORIZED.length, 85);
});

Deno.test("putUint() writes decimal digits", () => {
  const out = new Uint8Array(32);
  for (const v of [0, 7, 10, 99, 100, 4294967295, 9007199254740991]) {
    strictEqual(latin1(out.subarray(0, putUint(out, 0, v))), String(v));
  }
});
