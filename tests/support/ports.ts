/**
 * Free ports and waiting for a listener: shared by the tests and the scripts (benchmarks, soak),
 * which import nothing else of the test support.
 */

/** A port free for both TCP and UDP on 127.0.0.1 right now (for trackers that need a fixed one). */
export function freePort(): number {
  for (let attempt = 0; attempt < 50; attempt++) {
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (l.addr as Deno.NetAddr).port;
    l.close();
    try {
      Deno.listenDatagram({ hostname: "127.0.0.1", port, transport: "udp" }).close();
      return port;
    } catch { /* taken for UDP: try another */ }
  }
  throw new Error("no free port");
}

/**
 * Resolves once a listener on 127.0.0.1:`port` answers an HTTP request (or ends the connection
 * cleanly); throws after `timeoutMs`.
 */
export async function waitForPort(port: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    try {
      // A connection alone is not enough: while a tracker with several workers starts, its main
      // isolate binds each port for a moment to check that no other process holds it, and a
      // connection made then is reset when it lets go. A request that gets an answer (or a
      // clean end) is served by a real listener.
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      const timer = setTimeout(() => conn.close(), 2000);
      try {
        await conn.write(new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"));
        await conn.read(new Uint8Array(1024));
      } finally {
        clearTimeout(timer);
        try {
          conn.close();
        } catch { /* closed by the timer */ }
      }
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`nothing listens on ${port}`);
      await new Promise((r) => setTimeout(r, 50)); // retry pacing while a process starts
    }
  }
}
