import { ok, strictEqual } from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { FullScrapes } from "./full_scrape.ts";
import { announceRequest, testHash, testLogic } from "../../tests/support/logic.ts";
import { PROTOCOL } from "../stats/counters.ts";
import { ipFromString } from "../util/ip.ts";
import { toHex } from "../util/hex.ts";

const NOW = 1_740_000_000;

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function filled(torrents: number) {
  const t = testLogic();
  const out = t.logic.newOutcome();
  for (let n = 0; n < torrents; n++) {
    // Spread the hashes over many buckets, in an order unlike the sorted one.
    const h = testHash(0, n);
    h[0] = (n * 37) & 255;
    h[1] = (n * 11) & 255;
    t.logic.announce(announceRequest(h, ipFromString("192.0.2.1")!, 1), PROTOCOL.udp, NOW, out);
  }
  return t;
}

Deno.test("FullScrapes streams every torrent in ascending hash order, plain or gzip", async () => {
  const { swarm } = filled(3000);
  let chunkBytes = 0;
  const scrapes = new FullScrapes(swarm, { concurrentMax: 2, onChunk: (b) => chunkBytes += b });
  const text = new TextDecoder().decode(await readAll(scrapes.open("txt", false)!));
  const lines = text.trimEnd().split("\n");
  strictEqual(lines.length, 3000);
  const hashes = lines.map((l) => l.slice(0, 40));
  ok(hashes.every((h, i) => i === 0 || hashes[i - 1] < h), "ascending");
  strictEqual(chunkBytes, text.length);
  const zipped = await readAll(scrapes.open("statedump", true)!);
  const dump = new TextDecoder().decode(gunzipSync(zipped)).trimEnd().split("\n");
  strictEqual(dump.length, 3000);
  ok(dump[0].startsWith(hashes[0]));
  strictEqual(scrapes.active, 0);
  strictEqual(scrapes.indexBytes, 0);
});

Deno.test("FullScrapes refuses beyond its concurrency and releases on end or cancel", async () => {
  const { swarm } = filled(3000); // more than one 32 KiB chunk
  const scrapes = new FullScrapes(swarm, { concurrentMax: 2 });
  const a = scrapes.open("ben", false)!;
  // The sort index is held from the first read on: 4 bytes per torrent.
  const reader = a.getReader();
  await reader.read();
  strictEqual(scrapes.indexBytes, 12000);
  const b = scrapes.open("bin", true)!;
  strictEqual(scrapes.open("txt", false), null);
  strictEqual(scrapes.active, 2);
  await reader.cancel();
  strictEqual(scrapes.active, 1);
  await readAll(b);
  strictEqual(scrapes.active, 0);
  strictEqual(scrapes.indexBytes, 0);
  ok(scrapes.open("txt", false) !== null);
});

Deno.test("FullScrapes: a stream past its deadline fails and is released", async () => {
  const { swarm } = filled(10);
  const scrapes = new FullScrapes(swarm, { concurrentMax: 1, deadlineMs: -1 });
  const stream = scrapes.open("txt", false)!;
  let failed = false;
  try {
    await readAll(stream);
  } catch (e) {
    failed = /deadline/.test(String(e));
  }
  ok(failed);
  strictEqual(scrapes.active, 0);
});

Deno.test("FullScrapes: torrents removed and added while it streams never show twice or out of order", async () => {
  const { logic, swarm } = filled(3000);
  const before = new Set<string>();
  swarm.table.visit(0, 1e9, (_s, hashes, off) => before.add(toHex(hashes, off, 20, true)));
  const scrapes = new FullScrapes(swarm, { concurrentMax: 1 });
  const reader = scrapes.open("txt", false)!.getReader();
  const decoder = new TextDecoder();
  const first = await reader.read();
  ok(!first.done);
  let text = decoder.decode(first.value);
  // Remove every other torrent, then add new ones that take the freed slots.
  for (let slot = 0; slot < swarm.table.slotCount; slot += 2) {
    if (swarm.table.slotUsed(slot)) swarm.table.delete(slot);
  }
  const out = logic.newOutcome();
  const added = new Set<string>();
  for (let n = 0; n < 1000; n++) {
    const h = testHash(0xee, n);
    h[0] = (n * 53) & 255;
    added.add(toHex(h, 0, 20, true));
    logic.announce(announceRequest(h, ipFromString("192.0.2.2")!, 1), PROTOCOL.udp, NOW, out);
  }
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    text += decoder.decode(r.value);
  }
  const hashes = text.trimEnd().split("\n").map((l) => l.slice(0, 40));
  ok(hashes.every((h, i) => i === 0 || hashes[i - 1] < h), "ascending, none twice");
  ok(hashes.every((h) => before.has(h) || added.has(h)), "only real torrents");
  ok(hashes.length >= 1500, `${hashes.length} lines`);
  strictEqual(scrapes.active, 0);
});
