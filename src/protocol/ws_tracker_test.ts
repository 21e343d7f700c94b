import { deepStrictEqual, strictEqual } from "node:assert/strict";
import {
  announceHashOf,
  binaryString,
  parseWsMessage,
  toBinaryString,
  writeAnnounceReply,
  writeAnswer,
  writeError,
  writeOffer,
  writeScrapeReply,
  WS_LIMITS,
} from "./ws_tracker.ts";
import { EVENT } from "../types.ts";

// Every byte value a binary string can carry, as a client writes it.
const HASH = Uint8Array.from({ length: 20 }, (_, i) => (i * 13 + 250) & 255);
const PEER = new TextEncoder().encode("-WW0208-abcdefghijkl");
const bin = (b: Uint8Array) => String.fromCharCode(...b);
const SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n";

Deno.test("parseWsMessage(): an announce with offers, as a WebTorrent client sends it", () => {
  const text = JSON.stringify({
    action: "announce",
    info_hash: bin(HASH),
    peer_id: bin(PEER),
    event: "started",
    left: 1048576,
    numwant: 5,
    uploaded: 0,
    downloaded: 0,
    offers: [
      { offer_id: "o".repeat(20), offer: { type: "offer", sdp: SDP, extra: "dropped" } },
      { offer_id: "p".repeat(20), offer: { type: "offer", sdp: SDP } },
    ],
  });
  // Through a text frame: UTF-8 there and back.
  const r = parseWsMessage(new TextDecoder().decode(new TextEncoder().encode(text)));
  if (r.kind !== "announce") throw new Error(JSON.stringify(r));
  deepStrictEqual([...r.infoHash], [...HASH]);
  deepStrictEqual([...r.peerId], [...PEER]);
  deepStrictEqual([r.hashKey, r.peerKey], [bin(HASH), bin(PEER)]);
  deepStrictEqual([r.event, r.seeding, r.numwant, r.answer], [EVENT.started, false, 2, null]);
  deepStrictEqual(r.offers, [
    { offerId: "o".repeat(20), offer: { type: "offer", sdp: SDP } },
    { offerId: "p".repeat(20), offer: { type: "offer", sdp: SDP } },
  ]);
});

Deno.test("parseWsMessage(): an answer to an offer, a seeder, events", () => {
  const r = parseWsMessage(JSON.stringify({
    action: "announce",
    info_hash: bin(HASH),
    peer_id: bin(PEER),
    left: 0,
    to_peer_id: "t".repeat(20),
    offer_id: "o".repeat(20),
    answer: { type: "answer", sdp: SDP },
  }));
  if (r.kind !== "announce") throw new Error(JSON.stringify(r));
  deepStrictEqual([r.seeding, r.event, r.numwant, r.offers], [true, EVENT.none, 0, []]);
  strictEqual(r.answer!.toPeerKey, "t".repeat(20));
  deepStrictEqual([r.answer!.offerId, r.answer!.answer], ["o".repeat(20), {
    type: "answer",
    sdp: SDP,
  }]);
  for (const [event, code] of [["completed", EVENT.completed], ["stopped", EVENT.stopped]]) {
    const e = parseWsMessage(
      JSON.stringify({ action: "announce", info_hash: bin(HASH), peer_id: bin(PEER), event }),
    );
    strictEqual(e.kind === "announce" && e.event, code);
  }
});

Deno.test("parseWsMessage(): bad input is an error with a reason, never a throw", () => {
  const base = { action: "announce", info_hash: bin(HASH), peer_id: bin(PEER) };
  const offer = (sdp: string) => ({ offer_id: "o".repeat(20), offer: { type: "offer", sdp } });
  const cases: [string, string, "announce" | "scrape" | null, boolean][] = [
    ["{", "invalid JSON", null, false],
    ["[1,2]", "a message must be a JSON object", null, false],
    ["null", "a message must be a JSON object", null, false],
    [JSON.stringify({ action: "connect" }), 'invalid action: "connect"', null, false],
    [JSON.stringify({}), "invalid action: missing", null, false],
    [
      JSON.stringify({ ...base, info_hash: "x".repeat(19) }),
      "invalid info_hash",
      "announce",
      false,
    ],
    [
      JSON.stringify({ ...base, info_hash: "ā".repeat(20) }),
      "invalid info_hash",
      "announce",
      false,
    ],
    [JSON.stringify({ ...base, peer_id: 7 }), "invalid peer_id", "announce", true],
    [JSON.stringify({ ...base, event: "paused" }), "invalid event", "announce", true],
    [JSON.stringify({ ...base, offers: {} }), "invalid offers: must be a list", "announce", true],
    [
      JSON.stringify({ ...base, offers: Array(WS_LIMITS.offersMax + 1).fill(offer(SDP)) }),
      "too many offers: at most 10",
      "announce",
      true,
    ],
    [
      JSON.stringify({ ...base, offers: [offer("x".repeat(WS_LIMITS.sdpBytesMax + 1))] }),
      "invalid offer: sdp longer than 16384 characters",
      "announce",
      true,
    ],
    [
      JSON.stringify({
        ...base,
        offers: [{ offer_id: "short", offer: { type: "offer", sdp: SDP } }],
      }),
      "invalid offer_id",
      "announce",
      true,
    ],
    [
      JSON.stringify({
        ...base,
        offers: [{ offer_id: "o".repeat(20), offer: { type: "answer", sdp: SDP } }],
      }),
      'invalid offer: type must be "offer"',
      "announce",
      true,
    ],
    [
      JSON.stringify({ ...base, answer: { type: "answer", sdp: SDP }, offer_id: "o".repeat(20) }),
      "invalid to_peer_id (required with answer)",
      "announce",
      true,
    ],
    [
      JSON.stringify({ action: "scrape", info_hash: [bin(HASH), 5] }),
      "invalid info_hash",
      "scrape",
      false,
    ],
    [
      JSON.stringify({ action: "scrape", info_hash: Array(65).fill(bin(HASH)) }),
      "too many info_hashes: at most 64",
      "scrape",
      false,
    ],
  ];
  for (const [text, reason, action, withHash] of cases) {
    const r = parseWsMessage(text);
    deepStrictEqual(
      r.kind === "error" && [r.reason, r.action, r.infoHash === null ? null : [...r.infoHash]],
      [reason, action, withHash ? [...HASH] : null],
      text.slice(0, 80),
    );
  }
});

Deno.test("parseWsMessage(): a scrape of one hash, several, or every torrent", () => {
  const one = parseWsMessage(JSON.stringify({ action: "scrape", info_hash: bin(HASH) }));
  deepStrictEqual(one.kind === "scrape" && one.infoHashes.map((h) => [...h]), [[...HASH]]);
  const two = parseWsMessage(
    JSON.stringify({ action: "scrape", info_hash: [bin(HASH), bin(PEER)] }),
  );
  strictEqual(two.kind === "scrape" && two.infoHashes.length, 2);
  const all = parseWsMessage(JSON.stringify({ action: "scrape" }));
  deepStrictEqual(all.kind === "scrape" && all.infoHashes, []);
});

Deno.test("the writers: what bittorrent-tracker sends, binary strings intact through UTF-8", () => {
  const through = (s: string) => JSON.parse(new TextDecoder().decode(new TextEncoder().encode(s)));
  deepStrictEqual(through(writeAnnounceReply(bin(HASH), 3, 4, 120)), {
    action: "announce",
    interval: 120,
    info_hash: bin(HASH),
    complete: 3,
    incomplete: 4,
  });
  const offer = { offerId: "o".repeat(20), offer: { type: "offer" as const, sdp: SDP } };
  deepStrictEqual(through(writeOffer(bin(HASH), bin(PEER), offer)), {
    action: "announce",
    offer: { type: "offer", sdp: SDP },
    offer_id: "o".repeat(20),
    peer_id: bin(PEER),
    info_hash: bin(HASH),
  });
  deepStrictEqual(
    through(writeAnswer(bin(HASH), bin(PEER), "o".repeat(20), { type: "answer", sdp: SDP })),
    {
      action: "announce",
      answer: { type: "answer", sdp: SDP },
      offer_id: "o".repeat(20),
      peer_id: bin(PEER),
      info_hash: bin(HASH),
    },
  );
  deepStrictEqual(
    through(writeScrapeReply([{ hashKey: bin(HASH), complete: 1, incomplete: 2, downloaded: 3 }])),
    { action: "scrape", files: { [bin(HASH)]: { complete: 1, incomplete: 2, downloaded: 3 } } },
  );
  deepStrictEqual(
    through(writeError({ reason: "invalid peer_id", action: "announce", infoHash: HASH })),
    {
      action: "announce",
      "failure reason": "invalid peer_id",
      info_hash: bin(HASH),
    },
  );
  deepStrictEqual(through(writeError({ reason: "invalid JSON", action: null, infoHash: null })), {
    "failure reason": "invalid JSON",
  });
  deepStrictEqual([...binaryString(toBinaryString(HASH))!], [...HASH]);
});

Deno.test("announceHashOf(): the info_hash JSON.parse reads, found without parsing the message", () => {
  const utf8 = (text: string) => new TextEncoder().encode(text);
  // Every byte value, as JSON.stringify escapes them (\u0000, \", \\) or UTF-8 encodes them.
  for (let first = 0; first < 256; first += 20) {
    const hash = Uint8Array.from({ length: 20 }, (_, i) => (first + i) & 255);
    const text = JSON.stringify({
      action: "announce",
      info_hash: bin(hash),
      peer_id: bin(PEER),
      offers: [{ offer: { type: "offer", sdp: SDP }, offer_id: "o".repeat(20) }],
    });
    deepStrictEqual(announceHashOf(utf8(text)), hash);
    const parsed = parseWsMessage(text);
    deepStrictEqual(parsed.kind === "announce" && parsed.infoHash, hash);
  }
  const h = bin(HASH);
  // Names in any order, with the spaces JSON allows.
  deepStrictEqual(
    announceHashOf(utf8(`{ "info_hash" :\n ${JSON.stringify(h)},\t"action" : "announce" }`)),
    HASH,
  );
  // Not plainly an announce with a 20-character binary info_hash: null (the message is parsed).
  for (
    const text of [
      JSON.stringify({ action: "scrape", info_hash: h }),
      JSON.stringify({ action: "announcement", info_hash: h }),
      JSON.stringify({ info_hash: h }),
      JSON.stringify({ action: "announce" }),
      JSON.stringify({ action: "announce", info_hash: [h] }),
      JSON.stringify({ action: "announce", info_hash: h.slice(1) }),
      JSON.stringify({ action: "announce", info_hash: "\u0100".repeat(20) }),
      `{"action":"announce","info_hash":"${"\\q".repeat(10)}"}`, // an invalid escape
      `{"action":"announce","info_hash":"${"a".repeat(200)}`, // no closing quote
      "",
    ]
  ) strictEqual(announceHashOf(utf8(text)), null, text);
  // The first name counts (JSON.parse takes the last): the owner checks (ws_hub.ts).
  const other = "b".repeat(20);
  deepStrictEqual(
    announceHashOf(
      utf8(`{"action":"announce","info_hash":"${"a".repeat(20)}","info_hash":"${other}"}`),
    ),
    utf8("a".repeat(20)),
  );
});
