import { strictEqual } from "node:assert/strict";
import {
  FullScrapeFormat,
  writeFullScrapeEntry,
  writeFullScrapeHead,
  writeFullScrapeTail,
} from "./full_scrape.ts";

const latin1 = (b: Uint8Array) => String.fromCharCode(...b);
const HASH = Uint8Array.from({ length: 20 }, (_, i) => [0x41, 0x2f, 0x7e, 0xff, 0x20][i % 5]);

function doc(format: FullScrapeFormat): string {
  const out = new Uint8Array(512);
  let off = writeFullScrapeHead(format, out, 0);
  off = writeFullScrapeEntry(format, out, off, HASH, 0, {
    seeders: 3,
    leechers: 258,
    downloaded: 7,
    baseMinutes: 29000000,
  });
  return latin1(out.subarray(0, writeFullScrapeTail(format, out, off)));
}

Deno.test("full-scrape writers produce each tpbs format and the statedump line", () => {
  const hex = "412F7EFF20".repeat(4);
  strictEqual(doc("txt"), `${hex}:3:258\n`);
  strictEqual(doc("txtp"), `${hex}:3:258:7\n`);
  strictEqual(doc("statedump"), `${hex}:29000000:7\n`);
  strictEqual(doc("url"), "A/~%ff%20".repeat(4) + ":3:258\n");
  strictEqual(
    doc("ben"),
    `d5:filesd20:${latin1(HASH)}d8:completei3e10:downloadedi7e10:incompletei258eeee`,
  );
  strictEqual(doc("bin"), latin1(HASH) + "\x00\x00\x00\x03\x00\x00\x01\x02");
});
