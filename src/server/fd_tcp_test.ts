import { deepStrictEqual, ok, rejects, strictEqual, throws } from "node:assert/strict";
import { FdListener, replyAndClose } from "./fd_tcp.ts";
import { TcpConn, writeAll } from "./conn_io.ts";

/** A listener on epoll and a client connected to it through Deno's own TCP. */
async function pair(host = "127.0.0.1"): Promise<{
  listener: FdListener;
  server: TcpConn;
  client: Deno.Conn;
}> {
  const listener = new FdListener(host, 0, false);
  const connecting = Deno.connect({ hostname: host, port: listener.addr.port });
  const server = await listener.accept();
  const client = await connecting;
  return { listener, server, client };
}

/** Runs `test` on a new {@link pair}, then closes what the test left open. */
async function withPair(
  test: (p: Awaited<ReturnType<typeof pair>>) => Promise<void>,
  host = "127.0.0.1",
): Promise<void> {
  const p = await pair(host);
  try {
    await test(p);
  } finally {
    for (const conn of [p.server, p.client]) {
      try {
        conn.close();
      } catch { /* the test closed it */ }
    }
    p.listener.close();
  }
}

async function readAll(conn: Deno.Conn): Promise<number> {
  const buf = new Uint8Array(65_536);
  let total = 0;
  while (true) {
    const n = await conn.read(buf);
    if (n === null) return total;
    total += n;
  }
}

Deno.test("fd_tcp: bytes both ways, the end of input, the peer's address", async () => {
  for (const host of ["127.0.0.1", "::1"]) {
    await withPair(async ({ server, client }) => {
      strictEqual((server.remoteAddr as Deno.NetAddr).hostname, host);
      // The same address as bytes (IPv4 v4-mapped), as the HTTP server's per-address table
      // takes it.
      deepStrictEqual(
        server.remoteIp,
        host === "::1"
          ? Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1)
          : Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1),
      );
      strictEqual(
        (server.remoteAddr as Deno.NetAddr).port,
        (client.localAddr as Deno.NetAddr).port,
      );
      await client.write(new TextEncoder().encode("ping"));
      const buf = new Uint8Array(16);
      const n = await server.read(buf);
      strictEqual(new TextDecoder().decode(buf.subarray(0, n!)), "ping");
      await writeAll(server, new TextEncoder().encode("pong"));
      const m = await client.read(buf);
      strictEqual(new TextDecoder().decode(buf.subarray(0, m!)), "pong");
      // A read that waits is completed by the next bytes (the edge after it blocked).
      const waiting = server.read(buf);
      await client.write(Uint8Array.of(1, 2, 3));
      strictEqual(await waiting, 3);
      client.closeWrite();
      strictEqual(await server.read(buf), null);
    }, host);
  }
});

Deno.test("fd_tcp: bytes and the end together: the read after the bytes sees the end", async () => {
  // A read shorter than its buffer waits for epoll's next edge before reading again; when the
  // client's FIN came with the bytes, that edge has passed, so the next read must not wait.
  for (let i = 0; i < 20; i++) {
    await withPair(async ({ server, client }) => {
      const buf = new Uint8Array(16);
      const waiting = i % 2 === 0 ? server.read(buf) : null;
      await client.write(Uint8Array.of(1, 2, 3));
      await client.closeWrite();
      strictEqual(await (waiting ?? server.read(buf)), 3);
      strictEqual(await server.read(buf), null);
    });
  }
});

Deno.test("fd_tcp: readNow takes what has arrived, says 0 when nothing has, null at the end", async () => {
  await withPair(async ({ server, client }) => {
    const buf = new Uint8Array(16);
    // Deno's write resolves once the loopback delivered the bytes to the server's socket.
    await client.write(Uint8Array.of(1, 2, 3));
    strictEqual(server.readNow!(buf), 3);
    deepStrictEqual(buf.subarray(0, 3), Uint8Array.of(1, 2, 3));
    strictEqual(server.readNow!(buf), 0);
    // Nothing waiting: the read waits, and the next bytes complete it.
    const waiting = server.read(buf);
    await client.write(Uint8Array.of(4));
    strictEqual(await waiting, 1);
    await client.closeWrite();
    strictEqual(await server.read(buf), null);
  });
  await withPair(async ({ server, client }) => {
    await client.closeWrite();
    // A new connection is read at once; a client that already went says null.
    strictEqual(server.readNow!(new Uint8Array(16)), null);
  });
});

Deno.test("fd_tcp: an IPv4 client of a dual-stack listener is named as Deno names it", async () => {
  const listener = new FdListener("::", 0, false);
  const deno = Deno.listen({ hostname: "::", port: 0 });
  try {
    for (const l of [listener, deno]) {
      const connecting = Deno.connect({
        hostname: "127.0.0.1",
        port: (l.addr as Deno.NetAddr).port,
      });
      const server = await l.accept();
      const client = await connecting;
      strictEqual((server.remoteAddr as Deno.NetAddr).hostname, "::ffff:127.0.0.1");
      if (l === listener) {
        const ip = (server as TcpConn).remoteIp;
        deepStrictEqual(ip?.subarray(10), Uint8Array.of(0xff, 0xff, 127, 0, 0, 1));
      }
      server.close();
      client.close();
    }
  } finally {
    listener.close();
    deno.close();
  }
});

Deno.test("fd_tcp: a write larger than the socket buffers completes as the client reads", async () => {
  await withPair(async ({ server, client }) => {
    const big = new Uint8Array(16 << 20).fill(7);
    const writing = writeAll(server, big).then(() => server.closeWrite());
    strictEqual(await readAll(client), big.length);
    await writing;
  });
});

Deno.test("fd_tcp: close rejects what waits; a closed connection or listener refuses", async () => {
  const { listener, server, client } = await pair();
  const waiting = server.read(new Uint8Array(16));
  server.close();
  await rejects(waiting, Deno.errors.BadResource);
  await rejects(server.read(new Uint8Array(1)), Deno.errors.BadResource);
  await rejects(server.write(new Uint8Array(1)), Deno.errors.BadResource);
  throws(() => server.close(), Deno.errors.BadResource);
  strictEqual(await client.read(new Uint8Array(1)), null);
  client.close();
  const accepting = listener.accept();
  listener.close();
  await rejects(accepting, Deno.errors.BadResource);
});

Deno.test("fd_tcp: closing with unread input ends with a FIN, not a reset", async () => {
  await withPair(async ({ server, client }) => {
    await client.write(new Uint8Array(1000));
    // The bytes arrived (the server reads one to be sure), the rest is never read.
    strictEqual(await server.read(new Uint8Array(1)), 1);
    server.close();
    strictEqual(await client.read(new Uint8Array(16)), null);
  });
});

Deno.test("fd_tcp: bytes that come after a short read are read away before the close", async () => {
  // A request read whole (the read was shorter than its buffer), a reply, then the client sends
  // more (a pipelined request) just before the server closes: the reply must still arrive, with
  // a FIN after it, not a reset that would destroy it.
  for (let i = 0; i < 10; i++) {
    await withPair(async ({ server, client }) => {
      await client.write(new TextEncoder().encode("request"));
      strictEqual(await server.read(new Uint8Array(64)), 7);
      await writeAll(server, new TextEncoder().encode("reply"));
      await client.write(new TextEncoder().encode("more"));
      server.close();
      const buf = new Uint8Array(64);
      let got = "";
      while (true) {
        const n = await client.read(buf);
        if (n === null) break;
        got += new TextDecoder().decode(buf.subarray(0, n));
      }
      strictEqual(got, "reply");
    });
  }
});

Deno.test("fd_tcp: after endOfInput the close reads nothing more: input sent anyway resets", async () => {
  // The read the close saves is what keeps the reply in the test above: without it the extra
  // bytes turn the close into a reset. A client that said it sends nothing more and does gets it.
  await withPair(async ({ server, client }) => {
    await client.write(new TextEncoder().encode("request"));
    strictEqual(await server.read(new Uint8Array(64)), 7);
    server.endOfInput!();
    await client.write(new TextEncoder().encode("more"));
    server.close();
    await rejects(async () => {
      while ((await client.read(new Uint8Array(64))) !== null);
    }, Deno.errors.ConnectionReset);
  });
});

Deno.test("fd_tcp: a bound port is refused as Deno.listen refuses it", () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    throws(
      () => new FdListener("127.0.0.1", (taken.addr as Deno.NetAddr).port, false),
      Deno.errors.AddrInUse,
    );
  } finally {
    taken.close();
  }
  // Two listeners share a port with SO_REUSEPORT (the workers).
  const a = new FdListener("127.0.0.1", 0, true);
  const b = new FdListener("127.0.0.1", a.addr.port, true);
  deepStrictEqual(b.addr.port, a.addr.port);
  ok(a.addr.port > 0);
  a.close();
  b.close();
});

Deno.test("fd_tcp: a detached connection's descriptor takes a reply larger than the socket's buffers through replyAndClose, then its end", async () => {
  await withPair(async ({ server, client }) => {
    const fd = server.detach!();
    // Detached: the connection object is closed, the descriptor is not, and the session's
    // usual close afterwards does nothing to it.
    throws(() => server.readNow!(new Uint8Array(8)));
    server.close();
    const reply = new Uint8Array(8 << 20).map((_, i) => i & 255);
    replyAndClose(fd, reply);
    const buf = new Uint8Array(65_536);
    let total = 0;
    let sameBytes = true;
    while (true) {
      const n = await client.read(buf);
      if (n === null) break;
      for (let i = 0; i < n; i++) sameBytes &&= buf[i] === ((total + i) & 255);
      total += n;
    }
    strictEqual(total, reply.length);
    ok(sameBytes);
  });
});
