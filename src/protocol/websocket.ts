/**
 * The WebSocket wire (RFC 6455) on our own HTTP connections: the opening handshake's check and
 * reply, and the frames after it. Our HTTP server is not `Deno.serve`, so `Deno.upgradeWebSocket`
 * does not apply; framing comes from npm `ws` (the reference implementation of Node's ecosystem):
 * its `Receiver` reads client frames (unmasking, fragments, control frames, UTF-8 validation, a
 * payload limit checked on the frame header before any payload is buffered). Server frames
 * (unmasked, never fragmented) are written here, straight into a batch buffer; the tests check
 * them against `ws`'s `Sender.frame`. Nothing here does I/O: bytes in, events and bytes out.
 *
 * Compression (permessage-deflate) is never negotiated: tracker messages are small, and inflating
 * is the classic way to make a server allocate without bound.
 */

import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { Receiver } from "ws";
import { ascii, RequestHead } from "./http1.ts";

/** The GUID RFC 6455 appends to the client's key. */
const HANDSHAKE_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** Opcodes of the frames we write. */
export const OPCODE = { text: 0x1, close: 0x8, ping: 0x9, pong: 0xa } as const;

/** Close codes we send. */
export const CLOSE_CODE = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  policyViolation: 1008,
  tooBig: 1009,
} as const;

/**
 * Why a handshake is refused (the text of a 400 reply), or null when `head` is a valid RFC 6455
 * opening handshake: version 13 and a key that is 16 bytes in base64.
 */
export function handshakeProblem(head: RequestHead): string | null {
  if (!head.upgradeWebSocket) return "not a WebSocket upgrade";
  if (head.wsVersionStart < 0) return "Sec-WebSocket-Version is missing";
  if (ascii(head.buf, head.wsVersionStart, head.wsVersionEnd) !== "13") {
    return "only Sec-WebSocket-Version 13 is supported";
  }
  const key = handshakeKey(head);
  if (key === null) return "Sec-WebSocket-Key must be 16 bytes in base64";
  return null;
}

function handshakeKey(head: RequestHead): string | null {
  if (head.wsKeyStart < 0 || head.wsKeyEnd - head.wsKeyStart !== 24) return null;
  const key = ascii(head.buf, head.wsKeyStart, head.wsKeyEnd);
  if (!/^[A-Za-z0-9+/]{22}==$/.test(key)) return null;
  return key;
}

/** The `Sec-WebSocket-Accept` value for a client's key. */
export function acceptValue(key: string): string {
  return createHash("sha1").update(key + HANDSHAKE_GUID).digest("base64");
}

const encoder = new TextEncoder();

/** The 101 reply to a handshake {@link handshakeProblem} accepted. */
export function switchingProtocols(head: RequestHead): Uint8Array {
  const key = handshakeKey(head);
  if (key === null) throw new Error("switchingProtocols on a refused handshake");
  return encoder.encode(
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      `Sec-WebSocket-Accept: ${acceptValue(key)}\r\n\r\n`,
  );
}

/** The refusal of a handshake: `400 Bad Request` naming the problem, then close. */
export function handshakeRefusal(problem: string): Uint8Array {
  const body = `${problem}\n`;
  return encoder.encode(
    "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nSec-WebSocket-Version: 13\r\n" +
      `Content-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
  );
}

/** Bytes of the header of an unmasked frame with a payload of `n` bytes. */
function headerBytes(n: number): number {
  return n <= 125 ? 2 : n <= 0xffff ? 4 : 10;
}

/**
 * Writes the header of a final, unmasked frame for a payload of `n` bytes at `out[off]` and
 * returns its length. Written here rather than by `ws`'s `Sender.frame` (the tests hold them
 * equal) so that a batch of frames is built in one buffer: `Sender.frame` allocates each header.
 */
function writeHeader(out: Uint8Array, off: number, opcode: number, n: number): number {
  out[off] = 0x80 | opcode;
  if (n <= 125) {
    out[off + 1] = n;
    return 2;
  }
  if (n <= 0xffff) {
    out[off + 1] = 126;
    out[off + 2] = n >>> 8;
    out[off + 3] = n & 0xff;
    return 4;
  }
  out[off + 1] = 127;
  out.fill(0, off + 2, off + 6); // a payload under 4 GiB: the high half of the length is 0
  out[off + 6] = n >>> 24;
  out[off + 7] = (n >>> 16) & 0xff;
  out[off + 8] = (n >>> 8) & 0xff;
  out[off + 9] = n & 0xff;
  return 10;
}

/**
 * Writes a frame of `payload` at `out[off]`: the number of bytes written, or -1 when it does not
 * fit (nothing is written then).
 */
export function frameInto(
  out: Uint8Array,
  off: number,
  opcode: number,
  payload: Uint8Array,
): number {
  const h = headerBytes(payload.length);
  if (off + h + payload.length > out.length) return -1;
  writeHeader(out, off, opcode, payload.length);
  out.set(payload, off + h);
  return h + payload.length;
}

/**
 * Writes a text frame of `text` at `out[off]` (UTF-8 straight into the buffer): the number of
 * bytes written, or -1 when it does not fit (the bytes after `off` are then undefined).
 */
export function textFrameInto(out: Uint8Array, off: number, text: string): number {
  // The header's size depends on the UTF-8 length, known only after encoding: encode after the
  // header that the text's length implies (UTF-8 is never shorter), move it in the rare case
  // the encoding came out past a size step.
  const guess = headerBytes(text.length);
  if (off + guess > out.length) return -1;
  const { read, written } = encoder.encodeInto(text, out.subarray(off + guess));
  if (read < text.length) return -1;
  const h = headerBytes(written);
  if (h !== guess) {
    if (off + h + written > out.length) return -1;
    out.copyWithin(off + h, off + guess, off + guess + written);
  }
  writeHeader(out, off, OPCODE.text, written);
  return h + written;
}

/** One frame from the server: unmasked, final, `payload` after the header, in one buffer. */
export function frame(opcode: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(headerBytes(payload.length) + payload.length);
  frameInto(out, 0, opcode, payload);
  return out;
}

/** A text frame. */
export function textFrame(text: string): Uint8Array {
  return frame(OPCODE.text, encoder.encode(text));
}

/** A close frame with a status code and a reason (cut to the 123 bytes a control frame allows). */
export function closeFrame(code: number, reason = ""): Uint8Array {
  const r = encoder.encode(reason).subarray(0, 123);
  const payload = new Uint8Array(2 + r.length);
  payload[0] = code >> 8;
  payload[1] = code & 0xff;
  payload.set(r, 2);
  return frame(OPCODE.close, payload);
}

/** What a {@link FrameReader} reports. */
export interface FrameEvents {
  /**
   * A complete data message as UTF-8 bytes (checked for a text frame; a binary one is read as
   * UTF-8 text too). A view valid during the call.
   */
  onMessage(utf8: Uint8Array): void;
  onPing(data: Uint8Array): void;
  onPong(): void;
  /** The client sent a close frame (code 1005 when it gave none). */
  onClose(code: number, reason: string): void;
  /** The client broke the protocol or a limit: close with `code`; nothing more is read. */
  onFail(code: number, reason: string): void;
}

/** Limits of a {@link FrameReader}. */
export interface FrameLimits {
  /** Bytes of one message (its fragments together). */
  readonly messageBytesMax: number;
  /** Fragments of one message. */
  readonly fragmentsMax: number;
}

/** Decodes what the receiver checked is UTF-8. */
const decoder = new TextDecoder();

/** The fields of npm `ws`'s Receiver (8.23) that tell whether it stands between two frames. */
interface ReceiverState {
  _state: number;
  _bufferedBytes: number;
  _numFragments: number;
}

/**
 * Reads the client's frames of one connection; feed it bytes as they arrive. Between two frames
 * it can {@link shed} its `ws` Receiver (about 1.4 KiB with its stream state): a WebTorrent client
 * sends a message a minute, so an idle connection need not keep one, and a new one per message
 * measured no slower.
 */
export class FrameReader {
  readonly #limits: FrameLimits;
  readonly #events: FrameEvents;
  #receiver: Receiver | null = null;
  #done = false;

  constructor(limits: FrameLimits, events: FrameEvents) {
    this.#limits = limits;
    this.#events = events;
  }

  #newReceiver(): Receiver {
    const events = this.#events;
    const r = new Receiver({
      isServer: true,
      maxPayload: this.#limits.messageBytesMax,
      maxFragments: this.#limits.fragmentsMax,
      allowSynchronousEvents: true,
      // Checked here (Node's isUtf8, a fast scan); a fatal TextDecoder, checking while decoding,
      // measured slower: Deno's decode takes a slower path when told to fail.
      skipUTF8Validation: false,
    });
    r.on("message", (data: Uint8Array) => {
      if (!this.#done) events.onMessage(data);
    });
    r.on("ping", (data: Uint8Array) => {
      if (!this.#done) events.onPing(data);
    });
    r.on("pong", () => {
      if (!this.#done) events.onPong();
    });
    r.on("conclude", (code: number, reason: Uint8Array) => {
      if (this.#done) return;
      this.#done = true;
      events.onClose(code, decoder.decode(reason));
    });
    return r;
  }

  /** After a close frame or a failure nothing more is read. */
  get done(): boolean {
    return this.#done;
  }

  /** Whether a Receiver is held now (for tests and the memory figures). */
  get holdsReceiver(): boolean {
    return this.#receiver !== null;
  }

  /**
   * Drops the Receiver when it stands between two frames (nothing buffered, no fragmented
   * message under way); the next bytes make a new one.
   */
  shed(): void {
    const r = this.#receiver as unknown as ReceiverState | null;
    if (r !== null && r._state === 0 && r._bufferedBytes === 0 && r._numFragments === 0) {
      this.#receiver = null;
    }
  }

  /**
   * Reads `bytes`. The reader keeps views of what it has not consumed (a frame under way): after
   * {@link shed}, while it still {@link holdsReceiver}, the caller must not reuse that buffer; once
   * it holds none, nothing of the bytes is kept.
   */
  push(bytes: Uint8Array): void {
    if (this.#done) return;
    this.#receiver ??= this.#newReceiver();
    // The receiver's own step, called directly rather than through its Writable `write`: that
    // would report an error a tick later (and queue chunks meanwhile); this reports it before
    // returning, so nothing after a broken frame is read.
    this.#receiver._write(
      Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length),
      "buffer",
      (error: Error | null | undefined) => {
        if (error === null || error === undefined || this.#done) return;
        this.#done = true;
        this.#events.onFail(statusCodeOf(error), error.message);
      },
    );
  }
}

/** The close code `ws` attaches to its errors (a symbol-keyed property), or 1002. */
function statusCodeOf(error: Error): number {
  const o = error as unknown as Record<symbol, unknown>;
  for (const s of Object.getOwnPropertySymbols(error)) {
    if (s.description === "status-code" && typeof o[s] === "number") return o[s] as number;
  }
  return CLOSE_CODE.protocolError;
}
