import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { replyBytes, ReplyOut } from "./http_server.ts";
import { TcpConn } from "./conn_io.ts";
import { HttpReply, separateReply } from "./http_reply.ts";

/** A connection whose socket takes `takes` bytes at once; what it is given to wait is kept. */
function slowConn(takes: number): TcpConn & { waited: Uint8Array[] } {
  const waited: Uint8Array[] = [];
  return {
    waited,
    remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 1 },
    read: () => Promise.resolve(null),
    write(p: Uint8Array) {
      // Holds on to the buffer as a pending write would, and writes it "later".
      waited.push(p);
      return Promise.resolve(p.length);
    },
    writeNow: (p: Uint8Array) => Math.min(takes, p.length),
    closeWrite: () => Promise.resolve(),
    close() {},
  };
}

function reply(text: string): HttpReply {
  return separateReply(new TextEncoder().encode(text));
}

Deno.test("ReplyOut: a reply taken at once needs no wait; the rest of one that was not is its own copy", async () => {
  const out = new ReplyOut();
  const fast = slowConn(1 << 20);
  strictEqual(out.write(fast, reply("all of it")), null);
  deepStrictEqual(fast.waited, []);

  const slow = slowConn(10);
  const first = reply("a".repeat(300));
  const writing = out.write(slow, first);
  // The next reply reuses the shared buffer before the first one's rest was written.
  strictEqual(out.write(fast, reply("b".repeat(300))), null);
  await writing;
  const whole = replyBytes(first);
  deepStrictEqual(slow.waited, [whole.subarray(10)]);
});

Deno.test("ReplyOut: a connection without writeNow gets the reply in a buffer of its own", async () => {
  const out = new ReplyOut();
  const conn = slowConn(0);
  delete (conn as Partial<TcpConn>).writeNow;
  const r = reply("x".repeat(20_000)); // larger than the shared buffer's first size
  await out.write(conn, r);
  deepStrictEqual(conn.waited, [replyBytes(r)]);
});
