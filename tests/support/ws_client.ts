/**
 * A WebTorrent-style tracker client for tests on Deno's own `WebSocket`: sends the JSON messages
 * browsers send and awaits the tracker's, in order.
 */

import { Buffer } from "node:buffer";
import { Receiver, Sender } from "ws";

/** A 20-character binary string of random bytes (as WebTorrent writes info_hash and peer_id). */
export function randomId(): string {
  return String.fromCharCode(...crypto.getRandomValues(new Uint8Array(20)));
}

// deno-lint-ignore no-explicit-any
export type Message = any;

/** A frame as a client sends it (masked), written by npm `ws`. */
export function clientFrame(opcode: number, payload: Uint8Array | string, fin = true): Uint8Array {
  const data = typeof payload === "string" ? Buffer.from(payload) : Buffer.from(payload);
  const parts = Sender.frame(data, {
    fin,
    opcode,
    mask: true,
    readOnly: false,
    rsv1: false,
  });
  return new Uint8Array(Buffer.concat(parts));
}

/** One WebSocket connection to the tracker. */
export class WsClient {
  readonly socket: WebSocket;
  readonly #inbox: Message[] = [];
  #waiter: (() => void) | null = null;
  #closed: { code: number; reason: string } | null = null;

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.onmessage = (e) => {
      this.#inbox.push(JSON.parse(e.data as string));
      this.#wake();
    };
    socket.onclose = (e) => {
      this.#closed = { code: e.code, reason: e.reason };
      this.#wake();
    };
  }

  /** Connects to `url` (ws:// or wss://); rejects when the handshake fails. */
  static connect(url: string): Promise<WsClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      socket.onopen = () => resolve(new WsClient(socket));
      socket.onerror = (e) => reject(new Error(`WebSocket ${url}: ${(e as ErrorEvent).message}`));
    });
  }

  #wake(): void {
    const w = this.#waiter;
    this.#waiter = null;
    w?.();
  }

  send(message: Message): void {
    this.socket.send(typeof message === "string" ? message : JSON.stringify(message));
  }

  /** Resolves once `done()` holds (checked at each message and at the close); rejects after `timeoutMs`. */
  async #until(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${what} in time`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#waiter = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
  }

  /** The next message from the tracker; rejects when the socket closes first or after 10 s. */
  async next(timeoutMs = 10_000): Promise<Message> {
    await this.#until(
      () => {
        if (this.#inbox.length > 0) return true;
        const c = this.#closed;
        if (c !== null) throw new Error(`closed (${c.code} ${c.reason}) awaiting a message`);
        return false;
      },
      timeoutMs,
      "no message from the tracker",
    );
    return this.#inbox.shift();
  }

  /** Messages received and not yet taken. */
  get pending(): number {
    return this.#inbox.length;
  }

  /** Resolves with the close code and reason once the socket closed (10 s at most). */
  async closed(timeoutMs = 10_000): Promise<{ code: number; reason: string }> {
    await this.#until(() => this.#closed !== null, timeoutMs, "the socket did not close");
    return this.#closed!;
  }

  /** Closes and waits for the close to complete. */
  async close(): Promise<void> {
    if (this.#closed !== null) return;
    this.socket.close();
    await this.closed();
  }
}

/** An offer as WebTorrent sends one. */
export function offer(
  sdp = "v=0 offer",
): { offer_id: string; offer: { type: "offer"; sdp: string } } {
  return { offer_id: randomId(), offer: { type: "offer", sdp } };
}

/**
 * One WebSocket request and its reply over an already open connection (a TLS one with the test's
 * own CA, which Deno's WebSocket cannot be given): the handshake, then one message each way,
 * framed and read by npm `ws` as a client frames and reads them.
 */
export async function exchangeOverConn(
  conn: Deno.Conn,
  path: string,
  message: Message,
): Promise<Message> {
  const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
  await conn.write(new TextEncoder().encode(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  ));
  const frame = clientFrame(1, JSON.stringify(message));
  const reply = new Promise<Message>((resolve, reject) => {
    const receiver = new Receiver({ isServer: false });
    receiver.on(
      "message",
      (data: Uint8Array) => resolve(JSON.parse(new TextDecoder().decode(data))),
    );
    receiver.on("error", reject);
    (async () => {
      // The 101 head first, then the frames after it go to the receiver.
      let head: Uint8Array | null = new Uint8Array(0);
      const buf = new Uint8Array(16_384);
      while (true) {
        const n = await conn.read(buf);
        if (n === null) return reject(new Error("closed by the tracker"));
        let bytes = buf.slice(0, n);
        if (head !== null) {
          bytes = Buffer.concat([head, bytes]);
          const end = Buffer.from(bytes).indexOf("\r\n\r\n");
          if (end < 0) {
            head = bytes;
            continue;
          }
          const text = new TextDecoder().decode(bytes.subarray(0, end));
          if (!text.startsWith("HTTP/1.1 101 ")) return reject(new Error(`no upgrade: ${text}`));
          bytes = bytes.subarray(end + 4);
          head = null;
        }
        if (bytes.length > 0) receiver.write(Buffer.from(bytes));
      }
    })().catch(reject);
  });
  await conn.write(frame);
  return await reply;
}
