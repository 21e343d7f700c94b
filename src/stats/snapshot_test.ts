import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { mergeScanParts, ScanPart, TOP_ENTRIES, TOP_NETS } from "./snapshot.ts";

const hex = (n: number) => n.toString(16).toUpperCase().padStart(40, "0");

function part(base: number, nets: [number, number][]): ScanPart {
  const top = Array.from(
    { length: TOP_ENTRIES },
    (_, i) => ({ count: base - i, hex: hex(base + i) }),
  );
  return {
    at: base,
    torrents: TOP_ENTRIES + 5,
    topPeers: top,
    topSeeds: top.slice(0, 3),
    topLeechers: [],
    nets28: nets,
    nets24: nets,
  };
}

Deno.test("mergeScanParts: top lists from every part, networks summed over every network", () => {
  // The network 7 is small in each part but the largest in sum: the parts carry every network.
  const a = part(1000, [
    [7, 60],
    ...Array.from({ length: 200 }, (_, i): [number, number] => [100 + i, 100]),
  ]);
  const b = part(950, [[7, 60], [5, 1]]);
  const m = mergeScanParts([a, b]);
  strictEqual(m.torrents, 2 * (TOP_ENTRIES + 5));
  strictEqual(m.at, 950);
  strictEqual(m.topPeers.length, TOP_ENTRIES);
  deepStrictEqual(m.topPeers.slice(0, 3).map((e) => e.count), [1000, 999, 998]);
  // Equal counts from both parts: the smaller hash first.
  const ties = m.topPeers.filter((e) => e.count === 950);
  deepStrictEqual(ties.map((e) => e.hex), [hex(950), hex(1050)]);
  deepStrictEqual(m.topLeechers, []);
  strictEqual(m.nets28.length, TOP_NETS);
  deepStrictEqual(m.nets28[0], [7, 120]);
  deepStrictEqual(m.nets24[1], [100, 100]);
});
