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

/** Resolves once a TCP connection to 127.0.0.1:`port` succeeds; throws after `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`nothing listens on ${port}`);
      await new Promise((r) => setTimeout(r, 50)); // retry pacing while a process starts
    }
  }
}
