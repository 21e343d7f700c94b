import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Sender } from "ws";
import { clientFrame } from "../../tests/support/ws_client.ts";
import { findHeadEnd, RequestHead } from "./http1.ts";
import {
  acceptValue,
  CLOSE_CODE,
  closeFrame,
  frame,
  frameInto,
  FrameReader,
  handshakeProblem,
  handshakeRefusal,
  OPCODE,
  switchingProtocols,
  textFrame,
  textFrameInto,
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

function reader(limits = { messageBytesMax: 1024, fragmentsMax: 4 }) {
  const events: string[] = [];
  const r = new FrameReader(limits, {
    onMessage: (t) => events.push(`message ${new TextDecoder().decode(t)}`),
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
    // Nothing after it is read.
    [
      new Uint8Array([
        ...clientFrame(OPCODE.text, new Uint8Array([0x68, 0xc3])),
        ...clientFrame(OPCODE.text, "after"),
      ]),
      "failed 1007",
    ],
    // A close frame whose reason is not UTF-8.
    [clientFrame(OPCODE.close, new Uint8Array([0x03, 0xe8, 0xc3, 0x28])), "failed 1007"],
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

/** What npm `ws` writes for an unmasked final frame: the reference for our own header. */
function wsServerFrame(opcode: number, payload: Uint8Array): number[] {
  const parts = Sender.frame(Buffer.from(payload), {
    fin: true,
    opcode,
    mask: false,
    readOnly: true,
    rsv1: false,
  });
  return [...Buffer.concat(parts)];
}

Deno.test("websocket: server frames are the bytes ws writes, at every length step", () => {
  for (const n of [0, 1, 125, 126, 127, 0xffff, 0x10000, 0x10001, 200_000]) {
    const payload = new Uint8Array(n).map((_, i) => i & 0xff);
    deepStrictEqual([...frame(OPCODE.ping, payload)], wsServerFrame(OPCODE.ping, payload), `${n}`);
    const text = "a".repeat(n);
    const want = wsServerFrame(OPCODE.text, new TextEncoder().encode(text));
    deepStrictEqual([...textFrame(text)], want, `text ${n}`);
    // Into a buffer at an offset, after other bytes that stay as they were.
    const out = new Uint8Array(n + 20).fill(7);
    strictEqual(textFrameInto(out, 3, text), want.length);
    deepStrictEqual([...out.subarray(3, 3 + want.length)], want);
    deepStrictEqual([...out.subarray(0, 3)], [7, 7, 7]);
    strictEqual(frameInto(out, 3, OPCODE.text, payload), want.length);
  }
});

Deno.test("websocket: a text frame whose UTF-8 crosses a header size step", () => {
  // 100 characters, 200 bytes: the header is 4 bytes, not the 2 the length suggests.
  for (const text of ["é".repeat(100), "€".repeat(30_000)]) {
    const utf8 = new TextEncoder().encode(text);
    const out = new Uint8Array(utf8.length + 16);
    const n = textFrameInto(out, 1, text);
    deepStrictEqual([...out.subarray(1, 1 + n)], wsServerFrame(OPCODE.text, utf8));
  }
});

Deno.test("websocket: a frame that does not fit is not written", () => {
  const out = new Uint8Array(10);
  strictEqual(textFrameInto(out, 0, "x".repeat(9)), -1);
  strictEqual(textFrameInto(out, 2, "x".repeat(6)), 8);
  strictEqual(textFrameInto(out, 9, ""), -1);
  strictEqual(textFrameInto(new Uint8Array(129), 0, "é".repeat(63)), -1); // 126 bytes need 4 more
  strictEqual(frameInto(out, 5, OPCODE.pong, new Uint8Array(4)), -1);
  strictEqual(frameInto(out, 4, OPCODE.pong, new Uint8Array(4)), 6);
});
