import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Sender } from "ws";
import { findHeadEnd, RequestHead } from "./http1.ts";
import {
  acceptValue,
  CLOSE_CODE,
  closeFrame,
  FrameReader,
  handshakeProblem,
  handshakeRefusal,
  OPCODE,
  switchingProtocols,
  textFrame,
} from "./websocket.ts";

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";

function head(text: string): RequestHead {
  const buf = new TextEncoder().encode(text);
  const h = new RequestHead();
  h.parse(buf, 0, findHeadEnd(buf, 0, buf.length));
  return h;
}

function upgrade(extra: string): string {
  return `GET /announce HTTP/1.1\r\nHost: t\r\n${extra}\r\n`;
}

const GOOD = "Upgrade: websocket\r\nConnection: Upgrade\r\n" +
  `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n`;

Deno.test("websocket: the handshake is RFC 6455's, checked", () => {
  // RFC 6455 section 1.3's example.
  strictEqual(acceptValue(KEY), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  const h = head(upgrade(GOOD));
  strictEqual(h.upgradeWebSocket, true);
  strictEqual(handshakeProblem(h), null);
  strictEqual(
    new TextDecoder().decode(switchingProtocols(h)),
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
  );
  // Firefox sends "keep-alive, Upgrade"; names and tokens in any case.
  strictEqual(
    head(upgrade(GOOD.replace("Connection: Upgrade", "connection: keep-alive, upgrade")))
      .upgradeWebSocket,
    true,
  );
  strictEqual(
    head(upgrade(GOOD.replace("Upgrade: websocket", "UPGRADE: WebSocket")))
      .upgradeWebSocket,
    true,
  );
  // Not an upgrade: a plain request, or Upgrade without the Connection token.
  strictEqual(head(upgrade("")).upgradeWebSocket, false);
  strictEqual(
    head(upgrade(GOOD.replace("Connection: Upgrade", "Connection: keep-alive"))).upgradeWebSocket,
    false,
  );
  strictEqual(head(upgrade(GOOD.replace("websocket", "h2c"))).upgradeWebSocket, false);
  const cases: [string, string][] = [
    [GOOD.replace("Sec-WebSocket-Version: 13\r\n", ""), "Sec-WebSocket-Version is missing"],
    [GOOD.replace("Version: 13", "Version: 8"), "only Sec-WebSocket-Version 13 is supported"],
    [
      GOOD.replace(`Sec-WebSocket-Key: ${KEY}\r\n`, ""),
      "Sec-WebSocket-Key must be 16 bytes in base64",
    ],
    [GOOD.replace(KEY, "short=="), "Sec-WebSocket-Key must be 16 bytes in base64"],
    [GOOD.replace(KEY, "dGhlIHNhbXBsZSBub25j!Q=="), "Sec-WebSocket-Key must be 16 bytes in base64"],
  ];
  for (const [extra, why] of cases) strictEqual(handshakeProblem(head(upgrade(extra))), why);
  const refusal = new TextDecoder().decode(handshakeRefusal("only Sec-WebSocket-Version 13"));
  strictEqual(refusal.startsWith("HTTP/1.1 400 Bad Request\r\n"), true);
  strictEqual(refusal.endsWith("\r\n\r\nonly Sec-WebSocket-Version 13\n"), true);
});

/** A frame as a client sends it: masked. */
function clientFrame(opcode: number, payload: Uint8Array | string, fin = true): Uint8Array {
  const data = typeof payload === "string" ? Buffer.from(payload) : Buffer.from(payload);
  const parts = Sender.frame(data, { fin, opcode, mask: true, readOnly: false, rsv1: false });
  return new Uint8Array(Buffer.concat(parts));
}

function reader(limits = { messageBytesMax: 1024, fragmentsMax: 4 }) {
  const events: string[] = [];
  const r = new FrameReader(limits, {
    onMessage: (t) => events.push(`message ${t}`),
    onPing: (d) => events.push(`ping ${new TextDecoder().decode(d)}`),
    onPong: () => events.push("pong"),
    onClose: (code, reason) => events.push(`closed ${code} ${reason}`),
    onFail: (code, reason) => events.push(`failed ${code} ${reason}`),
  });
  return { r, events };
}

Deno.test("websocket: frames are read whole, split anywhere, fragmented", () => {
  const { r, events } = reader();
  const bytes = [
    ...clientFrame(OPCODE.text, '{"action":"announce"}'),
    ...clientFrame(OPCODE.ping, "hi"),
    ...clientFrame(OPCODE.text, "é", false),
    ...clientFrame(0x0, "x", true),
    ...clientFrame(OPCODE.pong, ""),
  ];
  // One byte at a time: each push is a fresh buffer, as the server passes copies.
  for (const b of bytes) r.push(Uint8Array.of(b));
  deepStrictEqual(events, ['message {"action":"announce"}', "ping hi", "message éx", "pong"]);
  r.push(clientFrame(OPCODE.close, new Uint8Array([0x03, 0xe8, 0x62, 0x79, 0x65])));
  strictEqual(r.done, true);
  r.push(clientFrame(OPCODE.text, "after the close"));
  deepStrictEqual(events.slice(4), ["closed 1000 bye"]);
});

Deno.test("websocket: broken or oversized frames fail with the close code to send", () => {
  const cases: [Uint8Array, string][] = [
    // Over the message limit: refused on the header, before the payload arrives.
    [clientFrame(OPCODE.text, "x".repeat(2000)).subarray(0, 8), "failed 1009"],
    // An unmasked frame from a client.
    [textFrame("not masked"), "failed 1002"],
    // A text message that is not UTF-8.
    [clientFrame(OPCODE.text, new Uint8Array([0xff, 0xfe])), "failed 1007"],
    // Five fragments, one more than allowed.
    [
      new Uint8Array([
        ...clientFrame(OPCODE.text, "a", false),
        ...[1, 2, 3].flatMap(() => [...clientFrame(0, "b", false)]),
        ...clientFrame(0, "c", true),
      ]),
      "failed 1008",
    ],
  ];
  for (const [bytes, want] of cases) {
    const { r, events } = reader();
    r.push(bytes);
    strictEqual(events.length, 1, want);
    strictEqual(events[0].startsWith(want + " "), true, `${events[0]} (want ${want})`);
    strictEqual(r.done, true);
  }
});

Deno.test("websocket: server frames", () => {
  deepStrictEqual([...textFrame("hi")], [0x81, 2, 104, 105]);
  const long = textFrame("x".repeat(300));
  deepStrictEqual([...long.subarray(0, 4)], [0x81, 126, 1, 44]);
  strictEqual(long.length, 304);
  deepStrictEqual([...closeFrame(CLOSE_CODE.tooBig, "big")], [0x88, 5, 0x03, 0xf1, 98, 105, 103]);
  strictEqual(closeFrame(1000, "é".repeat(100)).length, 2 + 2 + 123);
});
