import { ok, strictEqual } from "node:assert/strict";
import { ConnectionTable } from "./connections.ts";
import { WsConnection } from "./ws_connection.ts";

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
  const server = new WsConnection(conn, t, { worker: 0, id: 1 }, table, LIMITS, {
    message: () => {},
    overRate: () => {},
    protocolError: () => {},
    slowReader: () => slowReaders++,
  });
  const done = server.run(new Uint8Array(0)).catch(() => {}).finally(() => {
    table.release(t);
    try {
      conn.close();
    } catch { /* closed */ }
  });
  return { server, client, slow: () => slowReaders, done };
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
  strictEqual(await flood(server, 200, true), 200);
  server.close(1000, "", false);
  await done;
  await reading;
  client.close();
  strictEqual(slow(), 0);
  // 200 frames of 100 KiB with a 4-byte header... plus the close frame (4 bytes).
  strictEqual(received, 200 * (100 * 1024 + 10) + 4);
});

Deno.test("WsConnection: a client that does not read is closed at the send limit", async () => {
  const { server, client, slow, done } = await pair();
  // The kernel takes a few MB first (the socket buffers), then the queue fills to its limit.
  const sent = await flood(server, 2000);
  ok(sent < 2000, "the connection was closed");
  strictEqual(slow(), 1);
  strictEqual(server.queuedBytes, 0);
  await done;
  client.close();
});
