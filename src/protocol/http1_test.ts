import { deepStrictEqual, strictEqual } from "node:assert/strict";
import {
  ascii,
  chunkBytes,
  findHeadEnd,
  LAST_CHUNK,
  mayBeGet,
  RequestHead,
  writeChunk,
  writeChunkedHead,
  writeErrorHead,
  writeOkHead,
  writeRedirectHead,
} from "./http1.ts";

const bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

function parse(text: string): RequestHead {
  const b = bytes(text);
  const end = findHeadEnd(b, 0, b.length);
  const head = new RequestHead();
  head.parse(b, 0, end < 0 ? b.length : end);
  return head;
}

Deno.test("findHeadEnd() recognises the empty lines opentracker recognises", () => {
  const cases: [string, number][] = [
    ["GET / HTTP/1.1\r\n\r\n", 18],
    ["GET / HTTP/1.1\n\n", 16],
    ["GET / HTTP/1.1\r\n\n", 17],
    ["GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /", 27],
    ["GET / HTTP/1.1\r\nHost: x\r\n", -1],
    ["GET / HTTP/1.1\n\r", -1], // opentracker does not take a lone \n\r\n either: still waiting
    ["GET / HTTP/1.1\r\n\r", -1],
  ];
  for (const [text, end] of cases) strictEqual(findHeadEnd(bytes(text), 0, text.length), end, text);
});

Deno.test("findHeadEnd() finds a terminator split across reads when resumed 2 bytes back", () => {
  const text = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
  for (let cut = 1; cut < text.length; cut++) {
    const b = bytes(text);
    const first = findHeadEnd(b, 0, cut);
    const found = first >= 0 ? first : findHeadEnd(b, Math.max(0, cut - 2), text.length);
    strictEqual(found, text.length, `cut at ${cut}`);
  }
});

Deno.test("a head is read only up to its end: bytes of an earlier request after it are not", () => {
  // The buffer is reused between requests: behind the bytes read so far lie an older request's.
  const b = bytes("GET /long HTTP/1.1\r\nConnection: close\r\n\r\n");
  const part = bytes("GET /s HTTP/1.1\r\nConnection: cl");
  b.set(part);
  strictEqual(findHeadEnd(b, 0, part.length), -1);
  const head = new RequestHead();
  head.parse(b, 0, part.length);
  strictEqual(ascii(b, head.targetStart, head.targetEnd), "/s");
  // "cl", not the old "close" behind it.
  strictEqual(head.keepAlive, true);
});

Deno.test("RequestHead.parse() reads the target, version and keep-alive rules", () => {
  const cases: [string, boolean, string, boolean, boolean][] = [
    // request, isGet, target, http11, keepAlive
    ["GET /announce?x=1 HTTP/1.1\r\n\r\n", true, "/announce?x=1", true, true],
    ["GET /a HTTP/1.1\r\nConnection: close\r\n\r\n", true, "/a", true, false],
    ["GET /a HTTP/1.1\r\nconnection: Upgrade, CLOSE\r\n\r\n", true, "/a", true, false],
    ["GET /a HTTP/1.0\r\n\r\n", true, "/a", false, false],
    ["GET /a HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true, "/a", false, true],
    ["GET /a\r\n\r\n", true, "/a", false, false],
    ["GET /a HTTP/2\r\n\r\n", true, "/a", true, true],
    ["GET /a HTTP/1.1\r\nContent-Length: 5\r\n\r\n", true, "/a", true, false],
    ["GET /a HTTP/1.1\r\nContent-Length: 0\r\n\r\n", true, "/a", true, true],
    ["GET /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", true, "/a", true, false],
    ["POST /a HTTP/1.1\r\n\r\n", false, "", false, false],
    ["get /a HTTP/1.1\r\n\r\n", false, "", false, false],
    ["GET http://x/a HTTP/1.1\r\n\r\n", false, "", false, false],
  ];
  for (const [text, isGet, target, http11, keepAlive] of cases) {
    const h = parse(text);
    strictEqual(h.isGet, isGet, text);
    if (isGet) strictEqual(ascii(h.buf, h.targetStart, h.targetEnd), target, text);
    strictEqual(h.http11, http11, text);
    strictEqual(h.keepAlive, keepAlive, text);
  }
});

Deno.test("RequestHead.parse() joins X-Forwarded-For lines and reads Accept-Encoding", () => {
  const h = parse(
    "GET /a HTTP/1.1\r\nX-Forwarded-For: 1.1.1.1 \r\naccept-encoding:  gzip, br\r\n" +
      "x-forwarded-for:2.2.2.2, 3.3.3.3\r\n\r\n",
  );
  strictEqual(h.forwardedFor(), "1.1.1.1,2.2.2.2, 3.3.3.3");
  strictEqual(h.acceptEncoding(), "gzip, br");
  const none = parse("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
  strictEqual(none.forwardedFor(), null);
  strictEqual(none.acceptEncoding(), null);
  // Only the last eight X-Forwarded-For lines are kept (a bounded table).
  const many = parse(
    "GET /a HTTP/1.1\r\n" +
      Array.from({ length: 10 }, (_, i) => `X-Forwarded-For: 10.0.0.${i}\r\n`).join("") + "\r\n",
  );
  strictEqual(
    many.forwardedFor(),
    Array.from({ length: 8 }, (_, i) => `10.0.0.${i + 2}`).join(","),
  );
});

Deno.test("RequestHead.parse() notes an Accept header naming text/html, in any case or line", () => {
  strictEqual(parse("GET / HTTP/1.1\r\nAccept: Text/HTML,*/*;q=0.8\r\n\r\n").acceptsHtml, true);
  strictEqual(
    parse("GET / HTTP/1.1\r\nAccept: */*\r\naccept: text/html\r\n\r\n").acceptsHtml,
    true,
  );
  strictEqual(parse("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n").acceptsHtml, false);
  strictEqual(parse("GET / HTTP/1.1\r\nAccept-Encoding: text/html\r\n\r\n").acceptsHtml, false);
  strictEqual(parse("GET / HTTP/1.1\r\nAccept: text/htm\r\n\r\n").acceptsHtml, false);
});

Deno.test("mayBeGet() rejects a request as soon as its first bytes cannot be GET /", () => {
  const cases: [string, boolean][] = [
    ["", true],
    ["G", true],
    ["GET", true],
    ["GET /", true],
    ["GET /announce", true],
    ["P", false],
    ["GET http", false],
    ["\x16\x03\x01", false], // a TLS ClientHello on the plain port
  ];
  for (const [text, may] of cases) strictEqual(mayBeGet(bytes(text), 0, text.length), may, text);
});

Deno.test("response heads are opentracker's bytes", () => {
  const cases: [(out: Uint8Array) => number, string][] = [
    [
      (out) => writeOkHead(out, 0, "text/plain", 42),
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 42\r\n\r\n",
    ],
    [
      (out) => writeErrorHead(out, 0, 404, "Not Found", 25),
      "HTTP/1.0 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: 25\r\n\r\n",
    ],
    [
      (out) => writeRedirectHead(out, 0, "https://example.org/"),
      "HTTP/1.0 302 Found\r\nContent-Length: 0\r\nLocation: https://example.org/\r\n\r\n",
    ],
    [
      (out) => writeChunkedHead(out, 0, "application/octet-stream", "gzip"),
      "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Encoding: gzip\r\n" +
      "Transfer-Encoding: chunked\r\n\r\n",
    ],
    [
      (out) => writeChunkedHead(out, 0, "application/octet-stream", null),
      "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n" +
      "Transfer-Encoding: chunked\r\n\r\n",
    ],
  ];
  for (const [write, expected] of cases) {
    const out = new Uint8Array(256);
    strictEqual(ascii(out, 0, write(out)), expected);
  }
});

Deno.test("writeChunk() frames data as <hex>\\r\\n<data>\\r\\n and chunkBytes() sizes it", () => {
  const data = bytes("x".repeat(300));
  const out = new Uint8Array(chunkBytes(data.length));
  strictEqual(writeChunk(out, 0, data), out.length);
  strictEqual(ascii(out, 0, 5), "12c\r\n");
  strictEqual(ascii(out, out.length - 2, out.length), "\r\n");
  deepStrictEqual([...LAST_CHUNK], [...bytes("0\r\n\r\n")]);
});
