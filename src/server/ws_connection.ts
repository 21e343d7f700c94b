/**
 * One upgraded WebSocket connection: reads frames off the socket into whole messages, and sends
 * through a bounded queue. Sends never wait: relays to a peer are queued and written in order;
 * a client that does not read and lets more than the send limit pile up is closed (never
 * buffered without bound). The connection table keeps it in its `websocket` state, whose
 * deadline every received frame restarts; the hub pings it when it has been silent.
 */

import { WsLink } from "../logic/ws_swarm.ts";
import {
  CLOSE_CODE,
  closeFrame,
  frame,
  FrameEvents,
  FrameLimits,
  FrameReader,
  OPCODE,
  textFrame,
  textFrameInto,
} from "../protocol/websocket.ts";
import { CONN_STATE, ConnectionTable, Tracked } from "./connections.ts";
import { TcpConn, writeNowOrLater } from "./conn_io.ts";

/**
 * Read buffers: an idle WebSocket holds one in its pending read, so a quiet connection reads
 * into a small one; a read that fills its buffer makes the next one four times larger, up to the
 * largest (a busy connection keeps its size).
 */
const READ_BYTES_QUIET = 256;
const EMPTY = new Uint8Array(0);
const READ_BYTES_MAX = 16_384;
/** A frame that arrives this long after the previous read marks the connection quiet: its next
 * read buffer is the small one. */
const QUIET_MS = 1000;

/**
 * Where a drain frames what it writes: shared by the connections of this worker (a drain fills
 * it and writes it out, or copies what the socket did not take, before it awaits anything). One
 * write per batch, no buffer allocated per message.
 */
const batch = new Uint8Array(65_536);

/**
 * What waits to be sent: a text message (framed when it is written), or a whole frame. Its size
 * for the send limit is its length: a text's characters (the memory a one-byte string holds; its
 * UTF-8 is at least as long) or a frame's bytes.
 */
type Outgoing = string | Uint8Array;

/** Bytes queued by all the WebSocket connections of this isolate (see {@link queuedBytesHere}). */
let queuedHere = 0;

/**
 * Bytes queued for WebSocket clients by this isolate's connections, kept as they change (no walk
 * over the connections): `/metrics`, and the memory give-back, which watches it fall after a
 * flood.
 */
export function queuedBytesHere(): number {
  return queuedHere;
}

/** Limits of one connection. */
export interface WsConnectionLimits extends FrameLimits {
  /** Bytes queued for the client before it is closed as a slow reader. */
  readonly sendBufferBytesMax: number;
  /** Messages per second, sustained; a burst may reach twice this. */
  readonly messagesPerSecond: number;
}

/** What a connection tells its hub. */
export interface WsConnectionEvents {
  /** A whole message as UTF-8 bytes (a view valid during the call), within the rate. */
  message(c: WsConnection, utf8: Uint8Array): void;
  /** A message over the rate (dropped; the hub answers with an error). */
  overRate(c: WsConnection): void;
  /** Closed for breaking the protocol (a close frame with the code was sent). */
  protocolError(c: WsConnection, code: number, reason: string): void;
  /** Closed because more than the send limit was queued. */
  slowReader(c: WsConnection): void;
  /**
   * The connection ended: its socket is closed and its table entry released. `error` is the
   * socket's failure, or null (the caller tells a disconnect from a failure worth a log line).
   */
  ended(c: WsConnection, error: unknown): void;
}

/** A WebSocket connection of this worker. */
export class WsConnection implements FrameEvents {
  readonly link: WsLink;
  readonly tracked: Tracked;
  /** Sent a ping since the last frame from the client. */
  pinged = false;
  /** The pong to the latest ping, not yet taken by a write (see {@link onPing}). */
  #pong: Uint8Array | null = null;
  /**
   * When the bytes being read arrived (`performance.now()`): the time of every message they
   * hold, read once per read rather than once per message.
   */
  readMs = performance.now();
  /** When this connection's last full scrape was admitted (`readMs`), or -1. */
  fullScrapedMs = -1;
  readonly #conn: TcpConn;
  readonly #table: ConnectionTable;
  readonly #limits: WsConnectionLimits;
  readonly #events: WsConnectionEvents;
  readonly #reader: FrameReader;
  #queue: Outgoing[] = [];
  #queued = 0;
  #writing = false;
  /** A drain is queued as a microtask. */
  #scheduled = false;
  /** After a close frame was queued: nothing else is sent, the socket closes once it is out. */
  #closing = false;
  #closed = false;
  /** After our close frame: wait for the client to close. */
  #linger = false;
  #tokens: number;
  #refilledMs: number;

  constructor(
    conn: TcpConn,
    tracked: Tracked,
    link: WsLink,
    table: ConnectionTable,
    limits: WsConnectionLimits,
    events: WsConnectionEvents,
  ) {
    this.#conn = conn;
    this.tracked = tracked;
    this.link = link;
    this.#table = table;
    this.#limits = limits;
    this.#events = events;
    this.#tokens = 2 * limits.messagesPerSecond;
    this.#refilledMs = performance.now();
    this.#reader = new FrameReader(limits, this);
  }

  // The frame reader's events: methods, so that a connection carries no closures of its own.

  onMessage(utf8: Uint8Array): void {
    const now = this.readMs;
    const rate = this.#limits.messagesPerSecond;
    this.#tokens = Math.min(2 * rate, this.#tokens + (now - this.#refilledMs) * rate / 1000);
    this.#refilledMs = now;
    if (this.#tokens < 1) {
      this.#events.overRate(this);
      return;
    }
    this.#tokens--;
    this.#events.message(this, utf8);
  }

  onPing(data: Uint8Array): void {
    if (this.#closing || this.#closed) return;
    // Only the latest ping is answered while the pong before it waits (RFC 6455 section 5.5.3
    // allows it): a client that pings without reading would otherwise grow the queue without
    // bound (measured: 274 MB in 8 s from one connection), since pongs pass the send limit.
    const pong = frame(OPCODE.pong, data);
    const grown = pong.length - (this.#pong?.length ?? 0);
    this.#pong = pong;
    this.#queued += grown;
    queuedHere += grown;
    this.#schedule();
  }

  onPong(): void {}

  onClose(code: number): void {
    // Echo the close (RFC 6455 section 5.5.1) and end once it is written.
    this.close(code === 1005 ? CLOSE_CODE.normal : code, "", false);
  }

  onFail(code: number, reason: string): void {
    this.close(code, reason, true);
    this.#events.protocolError(this, code, reason);
  }

  /** Bytes queued for the client. */
  get queuedBytes(): number {
    return this.#queued;
  }

  /**
   * Reads until the socket closes, then closes it, releases the table entry and reports
   * {@link WsConnectionEvents.ended}; never rejects. `first` holds the bytes that arrived after the
   * handshake's head (the reader keeps it).
   */
  async run(first: Uint8Array): Promise<void> {
    // One async function for the connection's whole life (no other frame waits on it).
    const table = this.#table;
    let failure: unknown = null;
    try {
      table.enter(this.tracked, CONN_STATE.websocket, performance.now());
      if (first.length > 0) this.#reader.push(first);
      first = EMPTY; // not held by this frame for the connection's life
      let buf = new Uint8Array(READ_BYTES_QUIET);
      let lastMs = performance.now();
      while (!this.#closed && !(this.#reader.done && !this.#linger)) {
        const n = await this.#conn.read(buf);
        if (n === null) break;
        // After our close frame: discard until the client closes (the table's deadline bounds
        // it).
        if (this.#reader.done) continue;
        const now = this.readMs = performance.now();
        const quiet = now - lastMs >= QUIET_MS;
        lastMs = now;
        this.pinged = false;
        table.enter(this.tracked, CONN_STATE.websocket, now);
        this.#reader.push(buf.subarray(0, n));
        // Between messages the reader holds no receiver (measured: no slower under load, and an
        // idle connection keeps 1.4 KiB less).
        this.#reader.shed();
        const next = n === buf.length
          ? Math.min(4 * buf.length, READ_BYTES_MAX)
          : quiet
          ? READ_BYTES_QUIET
          : buf.length;
        // A reader still holding a receiver is within a frame and keeps views of these bytes:
        // the next read goes to a new buffer. Else the buffer is reused (no allocation per read).
        if (next !== buf.length || this.#reader.holdsReceiver) buf = new Uint8Array(next);
      }
      // Let a queued close frame go out before the socket closes.
      while ((this.#writing || this.#scheduled) && !this.#closed) await this.#drained();
    } catch (error) {
      failure = error;
    } finally {
      this.#shut();
      table.release(this.tracked);
      this.#events.ended(this, failure);
    }
  }

  /** Sends a text message; false when the connection is closing or was closed as a slow reader. */
  sendText(text: string): boolean {
    return this.#send(text, false);
  }

  /** {@link sendText} for a message already in UTF-8 (one another worker handed over). */
  sendUtf8(text: Uint8Array): boolean {
    return this.#send(frame(OPCODE.text, text), false);
  }

  ping(): void {
    this.pinged = true;
    this.#send(frame(OPCODE.ping, new Uint8Array(0)), true);
  }

  /**
   * Queues a close frame. Without `linger` the socket closes once it is written (the answer to
   * the client's close). With it our side ends after the frame (FIN) and the connection waits,
   * reading and discarding, for the client to close, within the write deadline: closing at once
   * would reset a connection whose client is still sending, and it would never see the frame that
   * says why.
   */
  close(code: number, reason: string, linger: boolean): void {
    if (this.#closing || this.#closed) return;
    this.#send(closeFrame(code, reason), true);
    this.#closing = true;
    this.#linger = linger;
    if (linger) this.#table.enter(this.tracked, CONN_STATE.writing, performance.now());
    else if (!this.#writing && !this.#scheduled) this.#shut();
  }

  /** Closes the socket now (the pending read ends the session). */
  #shut(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue = [];
    this.#pong = null;
    queuedHere -= this.#queued;
    this.#queued = 0;
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }

  /**
   * Queues `out`; `control` frames pass the limit (our pings and our close: one per silence and
   * one per connection; pongs wait apart, one at most, see {@link onPing}).
   */
  #send(out: Outgoing, control: boolean): boolean {
    if (this.#closing || this.#closed) return false;
    if (!control && this.#queued + out.length > this.#limits.sendBufferBytesMax) {
      this.#events.slowReader(this);
      this.#shut();
      return false;
    }
    this.#queue.push(out);
    this.#queued += out.length;
    queuedHere += out.length;
    this.#schedule();
    return true;
  }

  /** Has the queue written soon, unless a write is under way (it takes what was queued). */
  #schedule(): void {
    if (!this.#writing && !this.#scheduled) {
      // The write waits for the microtasks already queued: Deno resolves the reads that
      // completed together in one batch, so every message they produce for this client leaves
      // in one write (measured: a write costs more than handling a message).
      this.#scheduled = true;
      queueMicrotask(() => {
        this.#scheduled = false;
        if (!this.#writing) void this.#drain();
      });
    }
  }

  #wakeDrained: (() => void) | null = null;

  #drained(): Promise<void> {
    return new Promise((resolve) => this.#wakeDrained = resolve);
  }

  async #drain(): Promise<void> {
    this.#writing = true;
    try {
      while ((this.#queue.length > 0 || this.#pong !== null) && !this.#closed) {
        const parts = this.#queue;
        this.#queue = [];
        if (this.#pong !== null) {
          parts.unshift(this.#pong);
          this.#pong = null;
        }
        let i = 0;
        while (i < parts.length && !this.#closed) {
          // As many messages as fit, framed into the batch buffer, in one write.
          let off = 0;
          let size = 0;
          for (; i < parts.length; i++) {
            const p = parts[i];
            const n = typeof p === "string"
              ? textFrameInto(batch, off, p)
              : copyInto(batch, off, p);
            if (n < 0) break;
            off += n;
            size += p.length;
          }
          let pending: Promise<void> | null;
          if (off > 0) pending = writeNowOrLater(this.#conn, batch.subarray(0, off), false);
          else {
            // One message larger than the batch buffer: a buffer of its own.
            const p = parts[i++];
            size = p.length;
            pending = writeNowOrLater(this.#conn, typeof p === "string" ? textFrame(p) : p, true);
          }
          if (pending !== null) await pending;
          if (!this.#closed) {
            this.#queued -= size;
            queuedHere -= size;
          }
        }
      }
    } catch {
      // The client went away: the pending read ends the session.
      this.#shut();
    } finally {
      this.#writing = false;
      if (this.#closing && !this.#linger) this.#shut();
      else if (this.#closing && !this.#closed) {
        // Our close frame is out: end our side (FIN); the client closes its side in turn, and the
        // read loop, discarding what it still sent, ends there.
        this.#conn.closeWrite().catch(() => this.#shut());
      }
      const wake = this.#wakeDrained;
      this.#wakeDrained = null;
      wake?.();
    }
  }
}

/** Copies a whole frame into `out` at `off`: its length, or -1 when it does not fit. */
function copyInto(out: Uint8Array, off: number, frame: Uint8Array): number {
  if (off + frame.length > out.length) return -1;
  out.set(frame, off);
  return frame.length;
}
