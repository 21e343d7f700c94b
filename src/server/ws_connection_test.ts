import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { ConnectionTable } from "./connections.ts";
import { clientFrame } from "../../tests/support/ws_client.ts";
import { queuedBytesHere, WsConnection } from "./ws_connection.ts";

const LIMITS = {
  messageBytesMax: 65_536,
  fragmentsMax: 4,
  sendBufferBytesMax: 262_144,
  messagesPerSecond: 20,
};

/**
 * A WebSocket connection over a real loopback socket pair: the server side is a WsConnection,
 * the client side a raw socket that reads (or not) as the test says.
 */
async function pair(): Promise<{
  server: WsConnection;
  client: Deno.Conn;
  slow: () => number;
  messages: string[];
  done: Promise<void>;
}> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const connecting = Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const conn = await listener.accept();
  listener.close();
  const client = await connecting;
  const table = new ConnectionTable({
    connectionsMax: 16,
    perAddressMax: 16,
    requestTimeoutMs: 10_000,
    idleTimeoutMs: 10_000,
    writeTimeoutMs: 10_000,
    websocketTimeoutMs: 60_000,
  });
  const t = table.admit("127.0.0.1", () => conn.close(), performance.now())!;
  let slowReaders = 0;
  const messages: string[] = [];
  const ended: unknown[] = [];
  const server = new WsConnection(conn, t, { worker: 0, id: 1 }, table, LIMITS, {
    message: (_, utf8) => messages.push(new TextDecoder().decode(utf8)),
    overRate: () => {},
    protocolError: () => {},
    slowReader: () => slowReaders++,
    ended: (c, error) => {
      ended.push(error);
      strictEqual(c, server);
    },
  });
  // The connection releases its entry and reports its end itself; its run never rejects.
  const done = server.run(new Uint8Array(0)).then(() => {
    strictEqual(ended.length, 1);
    strictEqual(table.open, 0);
  });
  return { server, client, slow: () => slowReaders, messages, done };
}

/**
 * Sends 100 KiB messages, one per turn of the event loop, until refused or `n` were sent. With
 * `paced`, each waits until the queue has room for it (a client that reads is never closed).
 */
async function flood(server: WsConnection, n: number, paced = false): Promise<number> {
  const big = "x".repeat(100 * 1024);
  for (let i = 0; i < n; i++) {
    while (paced && server.queuedBytes + big.length + 16 > LIMITS.sendBufferBytesMax) {
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    if (!server.sendText(big)) return i;
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return n;
}

Deno.test("WsConnection: a client that reads takes every message", async () => {
  const { server, client, slow, done } = await pair();
  let received = 0;
  const reading = (async () => {
    const buf = new Uint8Array(65_536);
    while (true) {
      const n = await client.read(buf).catch(() => null);
      if (n === null) return;
      received += n;
    }
  })();
  const flooding = flood(server, 200, true);
  // While it floods, the isolate's total is this connection's queue.
  await new Promise((resolve) => setTimeout(resolve, 0));
  strictEqual(queuedBytesHere(), server.queuedBytes);
  strictEqual(await flooding, 200);
  server.close(1000, "", false);
  await done;
  await reading;
  client.close();
  strictEqual(slow(), 0);
  // 200 frames of 100 KiB with a 4-byte header... plus the close frame (4 bytes).
  strictEqual(received, 200 * (100 * 1024 + 10) + 4);
  strictEqual(queuedBytesHere(), 0);
});

Deno.test("WsConnection: a client that does not read is closed at the send limit", async () => {
  const { server, client, slow, done } = await pair();
  // The kernel takes a few MB first (the socket buffers), then the queue fills to its limit.
  const sent = await flood(server, 2000);
  ok(sent < 2000, "the connection was closed");
  strictEqual(slow(), 1);
  strictEqual(server.queuedBytes, 0);
  // The isolate's running total came back with it.
  strictEqual(queuedBytesHere(), 0);
  await done;
  client.close();
});

Deno.test("WsConnection: a frame split over two reads arrives whole", async () => {
  const { server, client, messages, done } = await pair();
  // A ping and the head of a text frame in one write: the server reads them together (the pong
  // says it has), so the frame's head waits in the reader while the next read comes in. Were the
  // read buffer reused under it, the message would come out corrupted.
  const text = "é" + "0123456789".repeat(20);
  const frame = clientFrame(0x1, text);
  await client.write(new Uint8Array([...clientFrame(0x9, ""), ...frame.subarray(0, 30)]));
  const pong = new Uint8Array(16);
  strictEqual(await client.read(pong), 2);
  deepStrictEqual([...pong.subarray(0, 2)], [0x8a, 0]);
  await client.write(new Uint8Array([...frame.subarray(30), ...clientFrame(0x1, "after")]));
  // The server echoes a close, after the two messages.
  await client.write(clientFrame(0x8, ""));
  while ((await client.read(pong)) !== null) { /* the close frame, then the end */ }
  await done;
  client.close();
  deepStrictEqual(messages, [text, "after"]);
  strictEqual(server.queuedBytes, 0);
});
