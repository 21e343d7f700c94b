/**
 * Memory governance over real sockets: a flood of random info_hashes far beyond the peer budget
 * is refused without growing the swarm, while a real swarm keeps working, and the budget's state
 * shows in /stats (mode=budget) and /metrics.
 */

import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";
import { writeAnnounceRequest, writeConnectRequest } from "../src/protocol/udp.ts";
import { httpClient, randomHash, receiveWithTimeout, udpClient } from "./support/clients.ts";
import { httpGet, latin1 } from "./support/http.ts";
import { metric, startTrackerProcess, withConfiguredTracker } from "./support/process.ts";

Deno.test("a flood of random info_hashes beyond the budget leaves real swarms working", async () => {
  const dir = await Deno.makeTempDir();
  // A torrent budget far above the flood, so that the peer budget is what stops it.
  await Deno.writeTextFile(
    `${dir}/c.conf`,
    "tracker.peer_budget 5000\ntracker.torrent_budget 100000\n",
  );
  const t = await startTrackerProcess(
    ["-f", `${dir}/c.conf`, "-i", "127.0.0.1", "-p", "0", "-P", "0"],
    2,
    [
      `--allow-read=${dir}`,
    ],
  );
  const sock = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  try {
    const http = httpClient("127.0.0.1", t.tcp[0]);
    const real = randomHash();
    for (let p = 1; p <= 10; p++) await http.announce({ hash: real, port: p, numwant: 0 });

    const target: Deno.NetAddr = { transport: "udp", hostname: "127.0.0.1", port: t.udp[0] };
    const buf = new Uint8Array(2048);
    const req = new Uint8Array(98);
    writeConnectRequest(req, 1);
    await sock.send(req.subarray(0, 16), target);
    const id = (await receiveWithTimeout(sock, buf, 5000)).slice(8, 16);
    // 30,000 announces for random torrents, in windows of 200 so that the socket buffers hold them.
    let answered = 0;
    for (let batch = 0; batch < 150; batch++) {
      for (let i = 0; i < 200; i++) {
        writeAnnounceRequest(req, {
          connectionId: id,
          transactionId: batch * 200 + i,
          infoHash: randomHash(),
          port: 1 + i,
          numwant: 0,
        });
        await sock.send(req, target);
      }
      try {
        for (let i = 0; i < 200; i++) {
          await receiveWithTimeout(sock, buf, 1000);
          answered++;
        }
      } catch { /* a lost datagram in this window */ }
    }
    ok(answered > 25_000, `${answered} of 30,000 answered`);

    const budget = latin1((await httpGet("127.0.0.1", t.tcp[0], "/stats?mode=budget")).body).split(
      "\n",
    );
    strictEqual(Number(budget[0]), 5000, "the budget is full, not exceeded");
    ok(Number(budget[1]) >= answered - 5000, `refused: ${budget[1]}`);
    match(budget[3], /^opentracker peer budget 5000, 100% used$/);
    const torr = latin1((await httpGet("127.0.0.1", t.tcp[0], "/stats?mode=torr")).body);
    ok(Number(torr.split("\n")[0]) <= 5000, `torrents: ${torr}`);

    // The real swarm: renewals and completions work, its peers are returned, stops free room.
    const r = await http.announce({
      hash: real,
      port: 3,
      left: 0,
      event: "completed",
      numwant: 50,
    });
    deepStrictEqual([r.complete, r.incomplete, r.peers.length], [1, 9, 10]);
    const [s] = await http.scrape([real]);
    strictEqual(s?.downloaded, 1);
    await http.announce({ hash: real, port: 4, event: "stopped" });
    const again = await http.announce({ hash: real, port: 11, numwant: 50 });
    strictEqual(again.peers.length, 10, "the stop made room for one new peer");

    const metrics = latin1((await httpGet("127.0.0.1", t.tcp[0], "/metrics")).body);
    match(metrics, /\nopentracker_peer_budget 5000\n/);
    match(metrics, /\nopentracker_peers_refused_total \d{5}\n/);
  } finally {
    sock.close();
    await t.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("completed and stopped churn on random info_hashes stays within the torrent budget", async () => {
  await withConfiguredTracker("tracker.torrent_budget 500\n", async (t) => {
    const http = httpClient("127.0.0.1", t.tcp[0]);
    const real = randomHash();
    await http.announce({ hash: real, port: 1 });
    // 2,000 strangers' torrents, each made, "completed" and stopped by one address (UDP); half
    // of them announce "started" first, so that their completion is a counted download.
    const udp = udpClient("127.0.0.1", t.udp[0]);
    try {
      for (let i = 0; i < 2000; i++) {
        const hash = randomHash();
        if (i % 2 === 1) await udp.announce({ hash, port: 7, event: "started" });
        await udp.announce({ hash, port: 7, left: 0, event: "completed" });
        await udp.announce({ hash, port: 7, event: "stopped" });
      }
    } finally {
      udp.close();
    }
    ok(await metric(t.tcp[0], "opentracker_torrents") <= 500);
    // A first "completed" is not a download; a held peer's is. Either way the emptied torrents
    // were evicted to make room, oldest first, and no new torrent was refused.
    strictEqual(await metric(t.tcp[0], "opentracker_completed_total"), 1000);
    ok(await metric(t.tcp[0], "opentracker_torrents_evicted_total") >= 1500);
    strictEqual(await metric(t.tcp[0], "opentracker_torrents_refused_total"), 0);
    strictEqual(await metric(t.tcp[0], "opentracker_torrent_budget"), 500);
    // The real swarm is untouched and new torrents still get in.
    const [s] = await http.scrape([real]);
    strictEqual(s?.incomplete, 1);
    strictEqual((await http.announce({ hash: randomHash(), port: 2 })).peers.length, 1);
  });
});
