/**
 * The WebSocket (WebTorrent) tracker over real sockets with Deno's own WebSocket client: offers
 * reach other peers with their offer_id, answers come back to the offerer, stops and closed
 * sockets remove peers, bad input gets an error or a close with a reason, limits hold, the
 * handshake is checked, `listen.ws off` leaves an upgrade request to HTTP as in opentracker.
 */

import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Sender } from "ws";
import { metric, TrackerProcess, withConfiguredTracker } from "./support/process.ts";
import { latin1 } from "./support/http.ts";
import { Message, offer, randomId, WsClient } from "./support/ws_client.ts";

const url = (t: TrackerProcess, path = "/announce") => `ws://127.0.0.1:${t.tcp[0]}${path}`;

function announce(infoHash: string, peerId: string, extra: Record<string, unknown> = {}): Message {
  return { action: "announce", info_hash: infoHash, peer_id: peerId, left: 100, ...extra };
}

/** Scrapes `infoHash` on `c` until `want(entry)` holds (the tracker sees a close asynchronously). */
async function scrapeUntil(
  c: WsClient,
  infoHash: string,
  want: (e: { complete: number; incomplete: number }) => boolean,
): Promise<{ complete: number; incomplete: number; downloaded: number }> {
  for (let i = 0; i < 200; i++) {
    c.send({ action: "scrape", info_hash: infoHash });
    const r = await c.next();
    strictEqual(r.action, "scrape");
    const e = r.files[infoHash];
    if (want(e)) return e;
  }
  throw new Error("the scrape never showed the expected counts");
}

Deno.test("websocket: an offer reaches another peer and its answer comes back", async () => {
  await withConfiguredTracker("tracker.workers 1\n", async (t) => {
    const hash = randomId();
    const [idA, idB] = [randomId(), randomId()];
    const a = await WsClient.connect(url(t));
    const b = await WsClient.connect(url(t, "/"));
    try {
      // A is alone: its offers go nowhere; the reply counts it.
      a.send(announce(hash, idA, { event: "started", numwant: 2, offers: [offer(), offer()] }));
      deepStrictEqual(await a.next(), {
        action: "announce",
        interval: 120,
        info_hash: hash,
        complete: 0,
        incomplete: 1,
      });
      // B, a seeder, offers once: A receives it with B's peer_id and the offer_id.
      const o = offer("v=0 B's offer é");
      b.send(announce(hash, idB, { event: "started", left: 0, offers: [o] }));
      const replyB = await b.next();
      strictEqual(replyB.complete, 1);
      strictEqual(replyB.incomplete, 1);
      deepStrictEqual(await a.next(), {
        action: "announce",
        offer: o.offer,
        offer_id: o.offer_id,
        peer_id: idB,
        info_hash: hash,
      });
      // A answers: B receives the answer from A, and A gets no reply of its own.
      const answer = { type: "answer", sdp: "v=0 A's answer" };
      a.send(announce(hash, idA, { answer, offer_id: o.offer_id, to_peer_id: idB }));
      deepStrictEqual(await b.next(), {
        action: "announce",
        answer,
        offer_id: o.offer_id,
        peer_id: idA,
        info_hash: hash,
      });
      // Scrape in order after the answer: A had nothing more to read.
      deepStrictEqual(await scrapeUntil(a, hash, () => true), {
        complete: 1,
        incomplete: 1,
        downloaded: 0,
      });
      // An answer to a peer that is not there is dropped (and counted).
      a.send(announce(hash, idA, { answer, offer_id: o.offer_id, to_peer_id: randomId() }));
      // A stop removes B; a closed socket removes A.
      b.send(announce(hash, idB, { event: "stopped", left: 0 }));
      strictEqual((await b.next()).complete, 0);
      await a.close();
      await scrapeUntil(b, hash, (e) => e.incomplete === 0);
      strictEqual(await metric(t.tcp[0], 'opentracker_ws_relayed_total{kind="offer"}'), 1);
      strictEqual(await metric(t.tcp[0], 'opentracker_ws_relayed_total{kind="answer"}'), 1);
      strictEqual(await metric(t.tcp[0], "opentracker_ws_answers_undelivered_total"), 1);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

Deno.test("websocket: the tracker stops with connections open, and ends them", async () => {
  for (const workers of [1, 2]) {
    await withConfiguredTracker(`tracker.workers ${workers}\n`, async (t) => {
      const clients = [];
      for (let i = 0; i < 4; i++) {
        const c = await WsClient.connect(url(t));
        c.send(announce(randomId(), randomId(), { event: "started" }));
        strictEqual((await c.next()).action, "announce");
        clients.push(c);
      }
      // A stop waits until every WebSocket connection has ended, and exits cleanly (one that
      // hangs is killed after 30 s, and the exit code says so).
      const hung = setTimeout(() => t.child.kill("SIGKILL"), 30_000);
      const code = await t.stop();
      clearTimeout(hung);
      strictEqual(code, 0);
      for (const c of clients) await c.closed();
    });
  }
});

Deno.test("websocket: a scrape without info_hash lists the busiest torrents, once per interval", async () => {
  await withConfiguredTracker("tracker.workers 1\naccess.fullscrape_interval 300\n", async (t) => {
    const a = await WsClient.connect(url(t));
    const b = await WsClient.connect(url(t));
    try {
      // Torrent k has k peers (all on connection a, one peer_id each), one of them a seeder.
      const hashes = [randomId(), randomId(), randomId()];
      for (let k = 1; k <= 3; k++) {
        for (let i = 0; i < k; i++) {
          a.send(announce(hashes[k - 1], randomId(), { event: "started", left: i === 0 ? 0 : 9 }));
          strictEqual((await a.next()).action, "announce");
        }
      }
      a.send({ action: "scrape" });
      deepStrictEqual(await a.next(), {
        action: "scrape",
        files: Object.fromEntries(
          hashes.map((h, k) => [h, { complete: 1, incomplete: k, downloaded: 0 }]),
        ),
      });
      // Once per interval per connection; another connection has its own.
      a.send({ action: "scrape" });
      deepStrictEqual(await a.next(), {
        action: "scrape",
        "failure reason":
          "one full scrape per 300 seconds; name the torrents to scrape in info_hash (at most 64)",
      });
      b.send({ action: "scrape" });
      strictEqual(Object.keys((await b.next()).files).length, 3);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

Deno.test("websocket: bad messages get a failure reason, over-limit frames a close", async () => {
  await withConfiguredTracker("tracker.workers 1\naccess.fullscrape off\n", async (t) => {
    const c = await WsClient.connect(url(t));
    try {
      const cases: [Message, Message][] = [
        ["{not json", { "failure reason": "invalid JSON" }],
        [{ action: "connect" }, { "failure reason": 'invalid action: "connect"' }],
        [{ action: "announce", info_hash: "short" }, {
          action: "announce",
          "failure reason": "invalid info_hash",
        }],
        [{ action: "scrape" }, {
          action: "scrape",
          "failure reason":
            "name the torrents to scrape in info_hash (at most 64): full scrapes are off",
        }],
      ];
      for (const [send, want] of cases) {
        c.send(send);
        deepStrictEqual(await c.next(), want);
      }
      // Still served after the errors.
      const hash = randomId();
      c.send(announce(hash, randomId()));
      strictEqual((await c.next()).incomplete, 1);
      // A message over 64 KiB closes the connection with 1009.
      c.send(announce(hash, randomId(), { pad: "x".repeat(70_000) }));
      const closed = await c.closed();
      strictEqual(closed.code, 1009);
      match(closed.reason, /Max payload size exceeded/);
      strictEqual(await metric(t.tcp[0], 'opentracker_ws_closed_total{reason="protocol"}'), 1);
      strictEqual(await metric(t.tcp[0], "opentracker_ws_bad_messages_total"), 4);
    } finally {
      await c.close();
    }
  });
});

Deno.test("websocket: a connection that sends too fast is told, and kept", async () => {
  await withConfiguredTracker("tracker.workers 1\n", async (t) => {
    const c = await WsClient.connect(url(t));
    try {
      const hash = randomId();
      const id = randomId();
      // 100 at once: the burst allowance (2 × 20) passes, the rest are refused one by one.
      for (let i = 0; i < 100; i++) c.send(announce(hash, id));
      let replies = 0;
      let refused = 0;
      for (let i = 0; i < 100; i++) {
        const m = await c.next();
        if (m.action === "announce") replies++;
        else if (m["failure reason"] === "too many messages: at most 20 per second") refused++;
      }
      ok(replies >= 40 && replies < 60, `${replies} replies`);
      strictEqual(replies + refused, 100);
    } finally {
      await c.close();
    }
  });
});

Deno.test("websocket: closed mode refuses torrents off the whitelist", async () => {
  const listed = randomId();
  const hex = Buffer.from(listed, "latin1").toString("hex");
  await withConfiguredTracker(
    (dir) => {
      Deno.writeTextFileSync(`${dir}/whitelist`, `${hex}\n`);
      return `tracker.workers 1\naccess.whitelist ${dir}/whitelist\n`;
    },
    async (t) => {
      const c = await WsClient.connect(url(t));
      try {
        const other = randomId();
        c.send(announce(other, randomId()));
        deepStrictEqual(await c.next(), {
          action: "announce",
          "failure reason": "Requested download is not authorized for use with this tracker.",
          info_hash: other,
        });
        c.send(announce(listed, randomId()));
        strictEqual((await c.next()).incomplete, 1);
      } finally {
        await c.close();
      }
    },
  );
});

/** Everything `conn` receives until the tracker closes it, as Latin-1 text. */
async function receiveUntilClose(conn: Deno.Conn, stop: (text: string) => boolean = () => false) {
  const chunks: number[] = [];
  const buf = new Uint8Array(4096);
  while (true) {
    const n = await conn.read(buf);
    if (n === null) break;
    chunks.push(...buf.subarray(0, n));
    if (stop(latin1(Uint8Array.from(chunks)))) break;
  }
  return latin1(Uint8Array.from(chunks));
}

/** What the tracker sends after the 101 head until it closes: the frames, as Latin-1 text. */
async function framesUntilClose(conn: Deno.Conn): Promise<string> {
  const text = await receiveUntilClose(conn);
  return text.slice(text.indexOf("\r\n\r\n") + 4);
}

/** Sends `head` on a raw TCP connection; what the tracker sent until it closed (or its head). */
async function raw(port: number, head: string, headOnly = false): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(head));
    return await receiveUntilClose(conn, (text) => headOnly && text.includes("\r\n\r\n"));
  } finally {
    conn.close();
  }
}

const upgradeHead = (extra = "Sec-WebSocket-Version: 13\r\n", path = "/announce") =>
  `GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${extra}\r\n`;

Deno.test("websocket: the handshake is checked; other paths and listen.ws off stay HTTP", async () => {
  await withConfiguredTracker("tracker.workers 1\n", async (t) => {
    const port = t.tcp[0];
    match(
      await raw(port, upgradeHead("Sec-WebSocket-Version: 8\r\n")),
      /^HTTP\/1\.1 400 Bad Request\r\n[^]*\r\n\r\nonly Sec-WebSocket-Version 13 is supported\n$/,
    );
    match(
      await raw(port, upgradeHead(), true),
      /^HTTP\/1\.1 101 Switching Protocols\r\n[^]*Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=\r\n/,
    );
    // An upgrade of the stats path is an ordinary stats request.
    match(await raw(port, upgradeHead(undefined, "/stats?mode=tcp4"), true), /^HTTP\/1\.1 200 OK/);
    strictEqual(await metric(port, 'opentracker_ws_handshakes_total{result="refused"}'), 1);
  });
  await withConfiguredTracker("tracker.workers 1\nlisten.ws off\n", async (t) => {
    // opentracker's answer to an announce without info_hash.
    match(await raw(t.tcp[0], upgradeHead()), /^HTTP\/1\.0 400 Invalid Request/);
  });
});

Deno.test("websocket: a peer is relayed its rate of offers, however fast another announces", async () => {
  const conf = "tracker.workers 1\nlisten.ws.messages_per_second 1000\n" +
    "listen.ws.peer_relays_per_second 5\n";
  await withConfiguredTracker(conf, async (t) => {
    const hash = randomId();
    const victim = await WsClient.connect(url(t));
    const stranger = await WsClient.connect(url(t));
    try {
      victim.send(announce(hash, randomId()));
      strictEqual((await victim.next()).action, "announce");
      // 20 announces of 10 offers each, as fast as the message rate allows.
      const id = randomId();
      for (let i = 0; i < 20; i++) {
        stranger.send(announce(hash, id, { offers: Array.from({ length: 10 }, () => offer()) }));
      }
      for (let i = 0; i < 20; i++) strictEqual((await stranger.next()).action, "announce");
      // The victim's scrape is answered after every offer queued for it before.
      victim.send({ action: "scrape", info_hash: hash });
      let offers = 0;
      for (let m = await victim.next(); m.action !== "scrape"; m = await victim.next()) {
        ok(m.offer !== undefined, JSON.stringify(m));
        offers++;
      }
      // A burst of twice the rate (the test takes well under a second; a second more would
      // have given 5 more).
      ok(offers >= 10 && offers <= 15, `${offers} offers relayed`);
      ok(
        await metric(t.tcp[0], 'opentracker_ws_relays_limited_total{kind="offer"}') >= 20 - offers,
      );
    } finally {
      await victim.close();
      await stranger.close();
    }
  });
});

Deno.test("websocket: a silent connection is pinged, then closed at the timeout", async () => {
  await withConfiguredTracker("tracker.workers 1\nlisten.ws.timeout 4\n", async (t) => {
    // Deno's client answers pings: it stays past the timeout.
    const kept = await WsClient.connect(url(t));
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: t.tcp[0] });
    try {
      await conn.write(new TextEncoder().encode(upgradeHead()));
      // Until the close: the 101, then a ping (0x89) after 2 to 3 s; no pong is sent. (A client
      // that answers has at least 1 s to do so before the close.)
      const body = await framesUntilClose(conn);
      strictEqual(body.charCodeAt(0), 0x89);
      strictEqual(
        await metric(
          t.tcp[0],
          'opentracker_http_connections_closed_total{reason="websocket_timeout"}',
        ),
        1,
      );
      // The client that answered the pings is still served.
      const hash = randomId();
      kept.send(announce(hash, randomId()));
      strictEqual((await kept.next()).incomplete, 1);
    } finally {
      conn.close();
      await kept.close();
    }
  });
});

Deno.test("websocket: a client that pings without reading has one pong waiting at most, the latest", async () => {
  await withConfiguredTracker("tracker.workers 1\n", async (t) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: t.tcp[0] });
    try {
      await conn.write(new TextEncoder().encode(upgradeHead()));
      // 200,000 pings numbered in their payload (26 MB), written before anything is read: the
      // pongs would fill the socket buffers and then queue in the tracker.
      const pings = 200_000;
      const frames = [];
      for (let i = 0; i < pings; i++) {
        const payload = Buffer.alloc(125);
        payload.writeUInt32BE(i, 0);
        frames.push(
          ...Sender.frame(payload, {
            fin: true,
            opcode: 0x9,
            mask: true,
            readOnly: false,
            rsv1: false,
          }),
        );
      }
      const all = new Uint8Array(Buffer.concat(frames));
      let written = 0;
      while (written < all.length) written += await conn.write(all.subarray(written));
      // The write ended once the tracker had read all but what the socket buffers hold.
      ok(await metric(t.tcp[0], "opentracker_ws_send_queue_bytes") <= 127);
      // The 101's head, then pong frames of 127 bytes (0x8a, 125, payload) until the pong to the
      // last ping: pongs to earlier ones may have been skipped.
      const start = await receiveUntilClose(conn, (text) => text.includes("\r\n\r\n"));
      let bytes = Uint8Array.from(
        start.slice(start.indexOf("\r\n\r\n") + 4),
        (c) => c.charCodeAt(0),
      );
      const buf = new Uint8Array(1 << 16);
      let pongs = 0;
      let last = -1;
      while (last !== pings - 1) {
        let at = 0;
        for (; bytes.length - at >= 127; at += 127, pongs++) {
          strictEqual(bytes[at], 0x8a);
          last = new DataView(bytes.buffer, bytes.byteOffset + at + 2).getUint32(0);
        }
        if (last === pings - 1) break;
        const n = await conn.read(buf);
        if (n === null) throw new Error(`closed after ${pongs} pongs (last ${last})`);
        const more = new Uint8Array(bytes.length - at + n);
        more.set(bytes.subarray(at));
        more.set(buf.subarray(0, n), bytes.length - at);
        bytes = more;
      }
      ok(pongs < pings, `${pongs} pongs for ${pings} pings`);
    } finally {
      conn.close();
    }
  });
});

Deno.test("websocket: frames a client sends unmasked close the connection with 1002", async () => {
  await withConfiguredTracker("tracker.workers 1\n", async (t) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: t.tcp[0] });
    try {
      await conn.write(new TextEncoder().encode(upgradeHead()));
      const parts = Sender.frame(Buffer.from("{}"), {
        fin: true,
        opcode: 1,
        mask: false,
        readOnly: true,
        rsv1: false,
      });
      await conn.write(new Uint8Array(Buffer.concat(parts)));
      const close = await framesUntilClose(conn);
      strictEqual(close.charCodeAt(0), 0x88);
      strictEqual((close.charCodeAt(2) << 8) | close.charCodeAt(3), 1002);
    } finally {
      conn.close();
    }
  });
});

for (const workers of [2, 4]) {
  Deno.test(`websocket, ${workers} workers: offers and answers cross workers, a scrape gathers, a close reaches the owner`, async () => {
    // A message rate above the default's 20 a second: the test sends a burst of 60 below.
    const conf = `tracker.workers ${workers}\nlisten.ws.messages_per_second 1000\n`;
    await withConfiguredTracker(conf, async (t) => {
      const hash = randomId();
      const peers: WsClient[] = [];
      const ids: string[] = [];
      try {
        // Six connections: the kernel spreads them over the workers' listeners.
        for (let k = 0; k < 6; k++) {
          peers.push(await WsClient.connect(url(t)));
          ids.push(randomId());
        }
        for (let k = 0; k < 6; k++) {
          // Peer k makes k offers: as many as the peers before it, so each of them gets one.
          const offers = Array.from({ length: k }, () => offer(`v=0 from ${k}`));
          peers[k].send(announce(hash, ids[k], { event: "started", offers }));
          const reply = await peers[k].next();
          strictEqual(reply.incomplete, k + 1, `reply to peer ${k}`);
          const used = new Set<string>();
          for (let j = 0; j < k; j++) {
            const got = await peers[j].next();
            strictEqual(got.peer_id, ids[k]);
            strictEqual(got.info_hash, hash);
            strictEqual(got.offer.sdp, `v=0 from ${k}`);
            ok(offers.some((o) => o.offer_id === got.offer_id) && !used.has(got.offer_id));
            used.add(got.offer_id);
            peers[j].send(announce(hash, ids[j], {
              answer: { type: "answer", sdp: `v=0 answer of ${j}` },
              offer_id: got.offer_id,
              to_peer_id: ids[k],
            }));
          }
          const answeredBy = new Set<string>();
          for (let j = 0; j < k; j++) {
            const a = await peers[k].next();
            strictEqual(a.answer.sdp, `v=0 answer of ${ids.indexOf(a.peer_id)}`);
            answeredBy.add(a.peer_id);
          }
          strictEqual(answeredBy.size, k);
        }
        // A scrape of eight torrents (most unknown) is answered by each owner for its own.
        const hashes = [hash, ...Array.from({ length: 7 }, randomId)];
        peers[0].send({ action: "scrape", info_hash: hashes });
        const files: Record<string, { complete: number; incomplete: number }> = {};
        while (Object.keys(files).length < hashes.length) {
          const r = await peers[0].next();
          strictEqual(r.action, "scrape");
          Object.assign(files, r.files);
        }
        strictEqual(files[hash].incomplete, 6);
        for (const h of hashes.slice(1)) strictEqual(files[h].incomplete, 0);
        // A full scrape is answered by every worker, each for its own torrents: only `hash` has
        // WebSocket peers.
        peers[1].send({ action: "scrape" });
        const all: Record<string, { complete: number; incomplete: number }> = {};
        for (let w = 0; w < workers; w++) {
          const r = await peers[1].next();
          strictEqual(r.action, "scrape");
          Object.assign(all, r.files);
        }
        deepStrictEqual(all, { [hash]: { complete: 0, incomplete: 6, downloaded: 0 } });
        // info_hash named twice: JSON.parse reads the last name, and a worker hands an announce
        // over by the first (without parsing it all), so the worker it reaches may not own the
        // last: that one refuses it. Never an answer about the first torrent.
        let refused = 0;
        for (let i = 0; i < 60; i++) {
          const first = JSON.stringify(randomId());
          const last = randomId();
          peers[0].send(
            `{"action":"announce","info_hash":${first},"peer_id":${JSON.stringify(ids[0])},` +
              `"left":1,"info_hash":${JSON.stringify(last)}}`,
          );
          const r = await peers[0].next();
          if (r["failure reason"] === undefined) strictEqual(r.info_hash, last);
          else {
            strictEqual(
              r["failure reason"],
              "invalid message: info_hash or action given more than once",
            );
            refused++;
          }
        }
        // A quarter of them at least on average (2 workers): none refused is a one in 30 million.
        ok(refused > 0);
        // A bad announce is told why by whichever worker reads it whole (the owner of its
        // torrent, when another worker handed it over as it came).
        for (let i = 0; i < 8; i++) {
          peers[0].send(announce(randomId(), "too short"));
          strictEqual((await peers[0].next())["failure reason"], "invalid peer_id");
        }
        // Closed sockets take their peers away on the owner, whichever worker held them.
        for (let k = 1; k < 6; k++) await peers[k].close();
        await scrapeUntil(peers[0], hash, (e) => e.incomplete === 1);
        ok(await metric(t.tcp[0], 'opentracker_handoff_records_total{direction="sent"}') > 0);
      } finally {
        for (const p of peers) await p.close();
      }
    });
  });
}
