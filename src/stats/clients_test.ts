import { deepStrictEqual, strictEqual } from "node:assert/strict";
import {
  CLIENT_KEYS_MAX,
  CLIENT_SERIES_MAX,
  ClientCounts,
  clientName,
  clientSeries,
  mergeClientEntries,
} from "./clients.ts";
import { labelValue } from "./metrics.ts";

const id = (s: string) => {
  const b = new Uint8Array(20);
  for (let i = 0; i < 20; i++) b[i] = s.charCodeAt(i) || 0x61;
  return b;
};
const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

Deno.test("ClientCounts: one key per peer_id prefix, random ids under one key", () => {
  const c = new ClientCounts();
  c.count(id("-qB4650-k8hj3Lx9Ap0u"));
  c.count(id("-qB4650-zzzzzzzzzzzz"));
  c.count(id("-qB4650-yyyyyyyyyyyy"));
  c.count(id("-TR3000-abcdefabcdef"));
  const random = crypto.getRandomValues(new Uint8Array(20));
  random[0] = 0x01; // not printable: one key for every random peer_id
  c.count(random);
  c.count(Uint8Array.of(0xff, ...new Uint8Array(19)));
  const entries = c.entries().sort((a, b) => b[1] - a[1]);
  deepStrictEqual(entries, [
    [hex(id("-qB4650-k8hj3Lx9Ap0u")), 3],
    [hex(random), 2],
    [hex(id("-TR3000-abcdefabcdef")), 1],
  ]);
  strictEqual(c.overflow, 0);
});

Deno.test("ClientCounts: past its key limit, new prefixes count as overflow, known ones still count", () => {
  const c = new ClientCounts();
  for (let i = 0; i < CLIENT_KEYS_MAX + 10; i++) {
    c.count(id(`-X${String(i).padStart(5, "0")}-aaaaaaaaaaaa`));
  }
  strictEqual(c.entries().length, CLIENT_KEYS_MAX);
  strictEqual(c.overflow, 10);
  c.count(id("-X00000-bbbbbbbbbbbb"));
  strictEqual(c.entries().find(([s]) => s.startsWith(hex(id("-X00000-")).slice(0, 16)))![1], 2);
});

Deno.test("clientName() decodes the peer_id conventions (npm bittorrent-peerid)", () => {
  const cases: [string, string, string][] = [
    ["-qB4650-k8hj3Lx9Ap0u", "qBittorrent", "4.6.5"],
    ["-TR3000-abcdefabcdef", "Transmission", "3.00"],
    ["-LT1270-abcdefabcdef", "libtorrent (Rasterbar)", ""],
    ["-lt0D80-abcdefabcdef", "libTorrent (Rakshasa) / rTorrent*", ""],
    ["-UT3550-abcdefabcdef", "µTorrent", "3.5.5"],
    ["-DE2110-abcdefabcdef", "Deluge", "2.1.1"],
    ["-WW0105-abcdefabcdef", "WebTorrent", "1.5"],
  ];
  for (const [peerId, client, version] of cases) {
    deepStrictEqual(clientName(hex(id(peerId))), { client, version }, peerId);
  }
  deepStrictEqual(clientName("00".repeat(20)), { client: "unknown", version: "" });
  deepStrictEqual(clientName("not hex"), { client: "unknown", version: "" });
});

Deno.test("clientSeries(): the most frequent client versions, then other with the rest", () => {
  const entries: [string, number][] = [
    [hex(id("-qB4650-aaaaaaaaaaaa")), 50],
    [hex(id("-TR3000-aaaaaaaaaaaa")), 70],
  ];
  for (let i = 0; i < CLIENT_SERIES_MAX + 3; i++) {
    entries.push([hex(id(`-DE2${String(i).padStart(2, "0")}0-aaaaaaaaaaaa`)), 1]);
  }
  // A second worker's count of the same prefix (another peer's id) adds to it.
  const series = clientSeries(
    mergeClientEntries([entries, [[hex(id("-qB4650-bbbbbbbbbbbb")), 5]]]),
    4,
  );
  strictEqual(series.length, CLIENT_SERIES_MAX + 1);
  deepStrictEqual(series[0], { client: "Transmission", version: "3.00", announces: 70 });
  deepStrictEqual(series[1], { client: "qBittorrent", version: "4.6.5", announces: 55 });
  // 23 Deluge versions with 1 each: 18 shown (by version), 5 in other, plus 4 overflowed.
  deepStrictEqual(series.at(-1), { client: "other", version: "", announces: 5 + 4 });
  strictEqual(series.filter((s) => s.client === "Deluge").length, CLIENT_SERIES_MAX - 2);
});

Deno.test("labelValue() escapes what the exposition format needs escaped", () => {
  strictEqual(labelValue('a"b\\c\nd µ'), 'a\\"b\\\\c\\nd µ');
});
