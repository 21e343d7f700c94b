import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import {
  describeImport,
  describeRestore,
  mergeRestored,
  Restored,
  restoreLines,
  restoreStatedump,
  stateDamage,
} from "./restore.ts";
import { parseStatedump } from "../protocol/statedump.ts";
import { Swarm } from "../swarm/swarm.ts";
import { Prng } from "../util/random.ts";
import { toHex } from "../util/hex.ts";
import { TEST_SEED } from "../../tests/support/logic.ts";

const line = (b: string, base: number, down: number) => `${b.repeat(40)}:${base}:${down}`;

function swarm(torrentBudget?: number) {
  return new Swarm({ prng: new Prng([1, 2, 3, 4]), hashSeed: TEST_SEED, torrentBudget });
}

Deno.test("restoreStatedump() creates torrents with their downloads, skipping refused and known ones", () => {
  const s = swarm();
  const dump = parseStatedump(
    [line("A", 100, 5), line("B", 200, 7), "garbage", line("C", 300, 9), ""].join("\n"),
  );
  const refusedFirst = (h: Uint8Array, off: number) => h[off] !== 0xbb;
  const first = restoreStatedump(dump, s, refusedFirst);
  deepStrictEqual(
    [first.restored, first.refused, first.existing, first.overBudget, first.badCount],
    [2, 1, 0, 0, 1],
  );
  deepStrictEqual(first.badLines, [3]);
  strictEqual(s.torrentCount, 2);
  strictEqual(s.peerCount, 0);
  const counts = { seeders: 0, leechers: 0, downloaded: 0 };
  ok(s.scrape(new Uint8Array(20).fill(0xaa), 0, 100, counts));
  strictEqual(counts.downloaded, 5, "downloads restored once, not doubled");
  const again = restoreStatedump(dump, s, () => true);
  deepStrictEqual([again.restored, again.existing], [1, 2]);
  strictEqual(
    describeRestore("/var/dump", first),
    "Restored 2 torrents from /var/dump; 1 refused by the access list; 1 malformed lines skipped (lines 3)",
  );
});

Deno.test("restoreStatedump() stops creating torrents at the torrent budget", () => {
  const s = swarm(2);
  const dump = parseStatedump([line("1", 0, 0), line("2", 0, 0), line("3", 0, 0)].join("\n"));
  const r = restoreStatedump(dump, s, () => true);
  deepStrictEqual([r.restored, r.overBudget], [2, 1]);
  ok(describeRestore("d", r).endsWith("; 1 over tracker.torrent_budget"));
  const kept = new Set<string>();
  s.table.visit(0, 100, (_slot, hashes, off) => kept.add(toHex(hashes, off, 20)));
  deepStrictEqual([...kept].sort(), ["1".repeat(40), "2".repeat(40)]);
});

Deno.test("describeImport() says what was loaded, from when, and what was skipped", () => {
  const text = describeImport("/var/state", 4096, {
    torrents: 3,
    peers: 10,
    refusedRecords: 2,
    milliseconds: 12.4,
    report: { writtenAtSeconds: 1000 } as never,
  }, 1060);
  strictEqual(
    text.startsWith(
      "Loaded 3 torrents and 10 peers from /var/state (4096 bytes, written 60 s ago) in 12 ms; " +
        "2 records of torrents the access list refuses were skipped",
    ),
    true,
    text,
  );
});

Deno.test("mergeRestored() adds up what each worker took from the same files, said once", () => {
  const part = (torrents: number, peers: number, restored: number): Restored => ({
    state: {
      kind: "loaded",
      path: "/var/lib/ot/state",
      bytes: 4096,
      result: {
        torrents,
        peers,
        refusedRecords: 1,
        milliseconds: 2,
        report: {
          records: torrents + 1,
          damage: "truncated at byte 4000 (no final block)",
          damagedBlocks: 0,
          skippedBytes: 0,
          writtenAtSeconds: 1000,
        },
      },
    },
    dump: {
      kind: "read",
      path: "/tmp/dump",
      report: {
        restored,
        refused: 0,
        existing: 1,
        overBudget: 0,
        badLines: [4, 5],
        badCount: 2,
      },
    },
  });
  const merged = mergeRestored([part(3, 5, 10), part(4, 6, 11)]);
  deepStrictEqual(restoreLines(merged, 1060), [
    "Loaded 7 torrents and 11 peers from /var/lib/ot/state (4096 bytes, written 60 s ago) in " +
    "4 ms; 2 records of torrents the access list refuses were skipped",
    "Restored 21 torrents from /tmp/dump; 2 already known; 2 malformed lines skipped (lines 4, 5)",
  ]);
  strictEqual(stateDamage(merged), "truncated at byte 4000 (no final block)");
  // Nothing configured, a missing file, an unreadable dump.
  deepStrictEqual(restoreLines(mergeRestored([{ state: null, dump: null }]), 0), []);
  const missing: Restored = {
    state: { kind: "missing", path: "/s" },
    dump: { kind: "unread", path: "/d", why: "No such file" },
  };
  deepStrictEqual(restoreLines(mergeRestored([missing, missing]), 0), [
    "No state file at /s yet",
    "Warning: Can't open state file: /d: No such file",
  ]);
  strictEqual(stateDamage(missing), null);
});
