/**
 * The HTTP server's connection limits over real sockets: a flood of idle connections at a low
 * descriptor limit, the request, idle and keep-alive deadlines, the per-address cap, keep-alive
 * and pipelining.
 */

import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";
import { httpClient, randomHash, udpClient } from "./support/clients.ts";
import { latin1, latin1Bytes, urlencodeBytes } from "./support/http.ts";
import { metric, withConfiguredTracker, withTracker } from "./support/process.ts";

/** Reads until the peer closes; the bytes read. Throws when it has not closed in `timeoutMs`. */
async function readUntilClosed(conn: Deno.Conn, timeoutMs = 10_000): Promise<string> {
  const timer = setTimeout(() => conn.close(), timeoutMs);
  let text = "";
  const buf = new Uint8Array(65536);
  try {
    while (true) {
      const n = await conn.read(buf);
      if (n === null) return text;
      text += latin1(buf.subarray(0, n));
    }
  } catch (error) {
    throw new Error(`connection not closed by the tracker within ${timeoutMs} ms (${error})`);
  } finally {
    clearTimeout(timer);
  }
}

const announceTarget = (hash: Uint8Array, port: number) =>
  `/announce?info_hash=${urlencodeBytes(hash)}&port=${port}&left=1`;

Deno.test("an idle-connection flood at a low descriptor limit leaves HTTP and UDP serving; SIGTERM saves the state", async () => {
  await withConfiguredTracker(
    (dir) => `tracker.statefile ${dir}/state\n`,
    async (t) => {
      const hash = randomHash();
      // More idle connections than the process has descriptors (128).
      const flood: Deno.Conn[] = [];
      try {
        for (let i = 0; i < 400; i++) {
          flood.push(await Deno.connect({ hostname: "127.0.0.1", port: t.tcp[0] }));
        }
        const http = await httpClient("127.0.0.1", t.tcp[0]).announce({ hash, port: 5001 });
        deepStrictEqual(http.peers, ["127.0.0.1:5001"]);
        const udp = udpClient("127.0.0.1", t.udp[0]);
        try {
          const r = await udp.announce({ hash, port: 5002 });
          strictEqual(r.incomplete, 2);
        } finally {
          udp.close();
        }
        // The cap came down below the limit and the oldest idle connections made room.
        ok(await metric(t.tcp[0], "opentracker_http_accept_errors_total") >= 1);
        ok(await metric(t.tcp[0], "opentracker_http_connections_max") < 100);
        ok(
          await metric(t.tcp[0], 'opentracker_http_connections_closed_total{reason="evicted"}') >
            0,
        );
        match(t.output(), /HTTP accept failed: Too many open files.*connection cap lowered to \d+/);
      } finally {
        for (const c of flood) {
          try {
            c.close();
          } catch { /* closed by the tracker */ }
        }
      }
      const code = await t.stop();
      strictEqual(code, 0, t.output());
      match(t.output(), /Saved 1 torrents and 2 peers to .*state/);
    },
    // Without FFI the limit is unknown until accept fails: the cap comes down at the first EMFILE.
    { wrapper: ["prlimit", "--nofile=128:128"], flags: ["--deny-ffi"] },
  );
});

Deno.test("with FFI the connection cap is set below the descriptor limit from the start", async () => {
  await withConfiguredTracker(
    "",
    async (t) => {
      const cap = await metric(t.tcp[0], "opentracker_http_connections_max");
      ok(cap >= 16 && cap < 128 - 64, `cap ${cap}`);
      const flood: Deno.Conn[] = [];
      try {
        for (let i = 0; i < 200; i++) {
          flood.push(await Deno.connect({ hostname: "127.0.0.1", port: t.tcp[0] }));
        }
        const r = await httpClient("127.0.0.1", t.tcp[0]).announce({ hash: randomHash(), port: 1 });
        strictEqual(r.peers.length, 1);
        // The cap held: the process never ran out of descriptors.
        strictEqual(await metric(t.tcp[0], "opentracker_http_accept_errors_total"), 0);
      } finally {
        for (const c of flood) {
          try {
            c.close();
          } catch { /* closed by the tracker */ }
        }
      }
    },
    { wrapper: ["prlimit", "--nofile=128:128"] },
  );
});

Deno.test("silent, incomplete, trickling and idle keep-alive connections are closed at their deadlines", async () => {
  await withConfiguredTracker(
    "listen.tcp.request_timeout 1\nlisten.tcp.idle_timeout 1\n",
    async (t) => {
      const port = t.tcp[0];
      const connect = () => Deno.connect({ hostname: "127.0.0.1", port });
      // Silent: nothing is ever sent.
      const silent = await connect();
      strictEqual(await readUntilClosed(silent), "");
      // Incomplete: a head without its empty line.
      const partial = await connect();
      await partial.write(latin1Bytes("GET /announce?info_hash="));
      strictEqual(await readUntilClosed(partial), "");
      // Trickling: one byte every 200 ms never completes within the request deadline.
      const trickle = await connect();
      let trickling = true;
      const feeding = (async () => {
        for (const b of latin1Bytes("GET /announce?info_hash=aaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\n")) {
          if (!trickling) break;
          try {
            await trickle.write(Uint8Array.of(b));
          } catch {
            break;
          }
          await new Promise((r) => setTimeout(r, 200)); // the trickle's pace, not synchronisation
        }
      })();
      strictEqual(await readUntilClosed(trickle), "");
      trickling = false;
      await feeding;
      strictEqual(
        await metric(port, 'opentracker_http_connections_closed_total{reason="request_timeout"}'),
        3,
      );
      // Keep-alive: one reply, then closed after the idle deadline.
      const kept = await connect();
      await kept.write(latin1Bytes(`GET ${announceTarget(randomHash(), 7)} HTTP/1.1\r\n\r\n`));
      match(await readUntilClosed(kept), /^HTTP\/1\.1 200 OK\r\n/);
      strictEqual(
        await metric(port, 'opentracker_http_connections_closed_total{reason="idle_timeout"}'),
        1,
      );
    },
  );
});

/** Reads one reply with a Content-Length from `conn`; its text. */
async function readReply(conn: Deno.Conn): Promise<string> {
  const buf = new Uint8Array(65536);
  let text = "";
  while (true) {
    const headEnd = text.indexOf("\r\n\r\n");
    const length = /Content-Length: (\d+)/.exec(text);
    if (headEnd >= 0 && length !== null && text.length >= headEnd + 4 + Number(length[1])) {
      return text;
    }
    const n = await conn.read(buf);
    if (n === null) throw new Error(`closed after ${JSON.stringify(text)}`);
    text += latin1(buf.subarray(0, n));
  }
}

Deno.test("the next request on a keep-alive connection that stops halfway is held to the request deadline", async () => {
  await withConfiguredTracker(
    "listen.tcp.request_timeout 1\nlisten.tcp.idle_timeout 60\n",
    async (t) => {
      const port = t.tcp[0];
      const kept = await Deno.connect({ hostname: "127.0.0.1", port });
      const request = `GET ${announceTarget(randomHash(), 7)} HTTP/1.1\r\n\r\n`;
      await kept.write(latin1Bytes(request));
      match(await readReply(kept), /^HTTP\/1\.1 200 OK\r\n/);
      // Idle now (60 s deadline); half a head makes it a request again (1 s).
      await kept.write(latin1Bytes(request.slice(0, 30)));
      strictEqual(await readUntilClosed(kept), "");
      strictEqual(
        await metric(port, 'opentracker_http_connections_closed_total{reason="request_timeout"}'),
        1,
      );
    },
  );
});

Deno.test("an address at its connection cap gets its next connection closed; other addresses are served", async () => {
  await withConfiguredTracker(
    "listen.tcp.address_connections_max 3\nlisten.tcp [::1]:0\n",
    async (t) => {
      const [v6, v4] = t.tcp;
      const held: Deno.Conn[] = [];
      try {
        for (let i = 0; i < 3; i++) {
          const c = await Deno.connect({ hostname: "127.0.0.1", port: v4 });
          held.push(c);
          // Answered, so admitted (the kernel's accept queue is not the tracker's accept; with
          // several workers another could take the fourth first). Keep-alive: it stays open.
          await c.write(latin1Bytes("GET /stats?mode=version HTTP/1.1\r\nHost: t\r\n\r\n"));
          const buf = new Uint8Array(4096);
          const n = await c.read(buf);
          ok(n !== null && latin1(buf.subarray(0, n)).startsWith("HTTP/1.1 200"));
        }
        // The fourth from 127.0.0.1 is closed without a reply.
        const fourth = await Deno.connect({ hostname: "127.0.0.1", port: v4 });
        await fourth.write(latin1Bytes(`GET ${announceTarget(randomHash(), 1)} HTTP/1.0\r\n\r\n`))
          .catch(() => 0);
        strictEqual(await readUntilClosed(fourth), "");
        // ::1 is another address.
        const r = await httpClient("::1", v6).announce({ hash: randomHash(), port: 2 });
        deepStrictEqual(r.peers, ["::1:2"]);
        // (127.0.0.1 is at its cap: the metrics come over ::1.)
        strictEqual(
          await metric(
            v6,
            'opentracker_http_connections_refused_total{reason="per_address"}',
            "::1",
          ),
          1,
        );
      } finally {
        for (const c of held) c.close();
      }
    },
    { listeners: 3 },
  );
});

Deno.test("keep-alive connections serve several and pipelined requests; HTTP/1.0 and errors close", async () => {
  await withTracker(["-i", "127.0.0.1", "-p", "0", "-P", "0"], 2, async (t) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: t.tcp[0] });
    const hash = randomHash();
    // Two requests in one write, then a third after reading: all on one connection.
    const two = `GET ${announceTarget(hash, 1)} HTTP/1.1\r\nHost: x\r\n\r\n` +
      `GET ${announceTarget(hash, 2)} HTTP/1.1\r\nHost: x\r\n\r\n`;
    await conn.write(latin1Bytes(two));
    await conn.write(latin1Bytes(`GET /nothing HTTP/1.1\r\n\r\n`));
    const text = await readUntilClosed(conn);
    const heads = text.match(/HTTP\/1\.[01] \d+ [A-Za-z ]+\r\n/g);
    deepStrictEqual(heads, [
      "HTTP/1.1 200 OK\r\n",
      "HTTP/1.1 200 OK\r\n",
      "HTTP/1.0 404 Not Found\r\n",
    ]);
    match(text, /10:incompletei2e/);
    // HTTP/1.0 without keep-alive: one reply, then the tracker closes.
    const old = await Deno.connect({ hostname: "127.0.0.1", port: t.tcp[0] });
    await old.write(latin1Bytes(`GET ${announceTarget(hash, 3)} HTTP/1.0\r\n\r\n`));
    match(await readUntilClosed(old), /^HTTP\/1\.1 200 OK\r\nContent-Type: text\/plain\r\n/);
    strictEqual(await metric(t.tcp[0], "opentracker_http_connections_accepted_total"), 3);
  });
});

Deno.test("requests that arrive in pieces, among connections that come and go, each get their own reply", async () => {
  // The server hands the read buffer of an ended connection to the next one: a buffer given
  // back while its connection still waits for the rest of a request would mix two requests.
  await withTracker(["-i", "127.0.0.1", "-p", "0", "-P", "0"], 2, async (t) => {
    const http = httpClient("127.0.0.1", t.tcp[0]);
    const known = async () => {
      // A scrape names only torrents the tracker has: each gets a peer first.
      const hash = randomHash();
      await http.announce({ hash, port: 6881 });
      return hash;
    };
    const scrape = (hash: Uint8Array) =>
      latin1Bytes(`GET /scrape?info_hash=${urlencodeBytes(hash)} HTTP/1.0\r\n\r\n`);
    const waiting: { conn: Deno.Conn; hash: Uint8Array; request: Uint8Array }[] = [];
    for (let i = 0; i < 20; i++) {
      const hash = await known();
      const request = scrape(hash);
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: t.tcp[0] });
      await conn.write(request.subarray(0, 10 + i));
      waiting.push({ conn, hash, request });
    }
    for (const [i, w] of waiting.entries()) {
      // A connection that comes, is answered and goes between two pieces of the others.
      const other = await known();
      const passing = await Deno.connect({ hostname: "127.0.0.1", port: t.tcp[0] });
      await passing.write(scrape(other));
      match(
        await readUntilClosed(passing),
        new RegExp(`^HTTP/1\\.1 200 OK\\r\\n[^]*d5:filesd20:${escapeRegExp(latin1(other))}`),
      );
      await w.conn.write(w.request.subarray(10 + i));
    }
    for (const w of waiting) {
      const text = await readUntilClosed(w.conn);
      match(
        text,
        new RegExp(`^HTTP/1\\.1 200 OK\\r\\n[^]*d5:filesd20:${escapeRegExp(latin1(w.hash))}`),
      );
    }
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/]/g, (c) => "\\" + c).replace(
    /[\n\r\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
