/**
 * Every open TCP connection of the tracker, with the limits that keep a stranger from holding
 * them: a global cap below the descriptor limit, a per-address cap, and a deadline for each
 * state a connection waits in. Bookkeeping only: the server owns the sockets and passes each
 * connection's `close` in; this table decides which one to close and when, so it is tested
 * with an explicit clock.
 *
 * States and their deadlines:
 *
 * | state     | waiting for                                    | deadline from               |
 * | --------- | ---------------------------------------------- | --------------------------- |
 * | `request` | a complete request head (new connection, or bytes of the next request arrived) | entering the state: `requestTimeoutMs` |
 * | `idle`    | the first byte of the next keep-alive request  | entering the state: `idleTimeoutMs` |
 * | `busy`    | the tracker (a stats scan, the next stream chunk) | none: bounded by the work |
 * | `writing` | the client to take a reply or chunk             | the start of the write: `writeTimeoutMs` |
 * | `websocket` | the next frame of an upgraded connection (its replies are queued, not awaited) | the last frame received: `websocketTimeoutMs` |
 *
 * Each state keeps its connections in a list ordered by entry time. Its timeout is one constant,
 * so the head of each list is the next to expire: a sweep costs only the expired ones, and the
 * oldest idle connection is found in O(1).
 *
 * At the cap the accept loops ask {@link whenRoom}: it closes the oldest idle connection (a
 * keep-alive client with nothing to say), else the oldest incomplete request (a slow or
 * malicious sender; a WebSocket peer is never evicted for a newcomer, it has its own cap), and
 * lets the next connection in at once. A closed connection keeps its
 * descriptor until its session has ended (its pending read is cancelled on a later turn of the
 * event loop), so it stays counted until {@link release}; up to {@link CLOSING_SLACK} of them may
 * be pending while new connections come in, well inside the descriptor reserve, so that a queue
 * of thousands drains at the speed of accept. Beyond that, or when every connection is busy or
 * writing, new connections wait in the kernel's accept queue until one has gone.
 *
 * When the descriptor limit is unknown (no FFI to ask for it), the first accept that fails with
 * "too many open files" lowers the cap below the number of connections open at that moment.
 *
 * Must not import Deno APIs.
 */

import { DEFAULTS } from "../types.ts";
import { ConnectionFigures } from "../stats/metrics.ts";

/**
 * Open connections per address key: this table's own ({@link LocalAddressCounts}), or with
 * several workers util/shared_counts.ts's `SharedCounts`, whose cap is the tracker's (one
 * address's connections reach every worker's listener).
 */
export interface AddressCounts {
  /** Adds one for `key` unless it holds `max`; "full" when a shared table has no room for it. */
  acquire(key: string, max: number): "ok" | "max" | "full";
  /** Takes one from `key`, which {@link acquire} gave "ok" for. */
  release(key: string): void;
}

/** {@link AddressCounts} of one table: a map of the addresses with open connections. */
export class LocalAddressCounts implements AddressCounts {
  readonly #held = new Map<string, number>();

  /** Addresses with at least one open connection. */
  get size(): number {
    return this.#held.size;
  }

  acquire(key: string, max: number): "ok" | "max" {
    const held = this.#held.get(key) ?? 0;
    if (held >= max) return "max";
    this.#held.set(key, held + 1);
    return "ok";
  }

  release(key: string): void {
    const held = (this.#held.get(key) ?? 1) - 1;
    if (held === 0) this.#held.delete(key);
    else this.#held.set(key, held);
  }
}

/** What a connection waits for; see the module table. */
export const CONN_STATE = { request: 0, idle: 1, busy: 2, writing: 3, websocket: 4 } as const;
export type ConnState = typeof CONN_STATE[keyof typeof CONN_STATE];
const STATE_NAMES = ["request", "idle", "busy", "writing", "websocket"];

/** Why the table closed a connection (the reasons counted in /metrics). */
export const CLOSE_REASON = {
  requestTimeout: 0,
  idleTimeout: 1,
  writeTimeout: 2,
  evicted: 3,
  shutdown: 4,
  websocketTimeout: 5,
} as const;
export const CLOSE_REASON_NAMES = [
  "request_timeout",
  "idle_timeout",
  "write_timeout",
  "evicted",
  "shutdown",
  "websocket_timeout",
];

/** Why a new connection was refused. */
export const REFUSE_REASON = { perAddress: 0, addressTableFull: 1 } as const;
export const REFUSE_REASON_NAMES = ["per_address", "address_table_full"];

/** Limits of {@link ConnectionTable}. */
export interface ConnectionLimits {
  /** Most open connections. */
  readonly connectionsMax: number;
  /** Most open connections from one address (IPv6: one /64). */
  readonly perAddressMax: number;
  readonly requestTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly writeTimeoutMs: number;
  /** Silence after which a WebSocket connection closes (pings are sent before: see the server). */
  readonly websocketTimeoutMs: number;
  /**
   * Closed connections that may still hold descriptors while new ones come in (default
   * {@link CLOSING_SLACK}; with several workers each has its share, since the descriptors are
   * the process's).
   */
  readonly closingSlack?: number;
}

/** Counters of the table, read by /metrics. */
export class ConnectionCounters {
  accepted = 0;
  /** Refused at accept, by {@link REFUSE_REASON}. */
  readonly refused: Float64Array = new Float64Array(2);
  /** Times the accept loops waited at the cap for a connection to go. */
  capWaits = 0;
  /** Closed by the table, by {@link CLOSE_REASON}. */
  readonly closed: Float64Array = new Float64Array(CLOSE_REASON_NAMES.length);
  /** Accepts that failed (EMFILE, ENFILE, ENOBUFS, ...). */
  acceptErrors = 0;
  /**
   * TLS connections (HTTPS, wss) ended by the client's TLS: not TLS at all, a corrupt or
   * over-long handshake, or the client's alert (a certificate it does not trust, a protocol
   * version it lacks). Counted, not logged: strangers decide how often.
   */
  tlsErrors = 0;
  /** Connections ended by an error that is neither the client's going away nor its TLS. */
  failures = 0;
  /** Largest number open at once. */
  peak = 0;
}

/** One tracked connection: a node of its state's list. */
export class Tracked {
  readonly key: string;
  state: ConnState = CONN_STATE.request;
  /** When the connection entered its state (ms, the table's clock). */
  since = 0;
  prev: Tracked | null = null;
  next: Tracked | null = null;
  /** Closed by the table (deadline or eviction); counted until its session ends. */
  closing = false;
  /** Set once its session ended ({@link ConnectionTable.release}). */
  released = false;
  readonly #close: () => void;

  constructor(key: string, close: () => void) {
    this.key = key;
    this.#close = close;
  }

  /** Closes the socket (the server's function); never throws. */
  close(): void {
    try {
      this.#close();
    } catch { /* already closed */ }
  }
}

class List {
  head: Tracked | null = null;
  tail: Tracked | null = null;
  length = 0;

  push(t: Tracked): void {
    t.prev = this.tail;
    t.next = null;
    if (this.tail !== null) this.tail.next = t;
    else this.head = t;
    this.tail = t;
    this.length++;
  }

  remove(t: Tracked): void {
    if (t.prev !== null) t.prev.next = t.next;
    else this.head = t.next;
    if (t.next !== null) t.next.prev = t.prev;
    else this.tail = t.prev;
    t.prev = t.next = null;
    this.length--;
  }
}

/**
 * Closed connections whose descriptors may still be pending release while new ones are
 * accepted: half the smallest descriptor reserve, so the reserve always stays.
 */
export const CLOSING_SLACK = 32;

/** Descriptors kept free for everything that is not a client connection. */
export function descriptorReserve(limit: number, workers = 1): number {
  // Sockets, the state file and its temporary copy, FIFOs, live sync, Deno's own event
  // machinery: 64 is ample; each further worker holds about 16 of its own (measured: 26, 42
  // and 60 descriptors open with 1, 2 and 4 idle workers); a tenth more absorbs bursts of
  // accepts between two checks.
  return 64 + 16 * (workers - 1) + Math.ceil(limit / 10);
}

/**
 * The connection cap for `listen.tcp.connections_max` (`configured`, 0 = auto) under the
 * descriptor limit `fdLimit` (null when unknown) of a process with `workers` workers. `lowered`
 * says a configured cap was cut.
 */
export function connectionCap(
  configured: number,
  fdLimit: number | null,
  workers = 1,
): { connectionsMax: number; lowered: boolean } {
  const fdCap = fdLimit === null
    ? Infinity
    : Math.max(16, fdLimit - descriptorReserve(fdLimit, workers));
  if (configured === 0) {
    return { connectionsMax: Math.min(DEFAULTS.tcpConnectionsMax, fdCap), lowered: false };
  }
  return { connectionsMax: Math.min(configured, fdCap), lowered: configured > fdCap };
}

/** The open TCP connections of one tracker (all listeners share it: the caps are global). */
export class ConnectionTable {
  readonly counters: ConnectionCounters = new ConnectionCounters();
  readonly #limits: ConnectionLimits;
  readonly #lists: List[] = STATE_NAMES.map(() => new List());
  #ceiling: number;
  #open = 0;
  #closing = 0;
  #roomWaiters: (() => void)[] = [];
  readonly #perAddress: AddressCounts;

  /** `perAddress`: with several workers, the counts all of them share. */
  constructor(
    limits: ConnectionLimits,
    perAddress: AddressCounts = new LocalAddressCounts(),
  ) {
    this.#limits = limits;
    this.#ceiling = limits.connectionsMax;
    this.#perAddress = perAddress;
  }

  /** Connections open now, closing ones included (the descriptors they hold). */
  get open(): number {
    return this.#open;
  }

  /** Connections closed by the table whose sessions have not ended yet. */
  get closing(): number {
    return this.#closing;
  }

  /** The cap in force: the configured one, lowered when descriptors ran out. */
  get ceiling(): number {
    return this.#ceiling;
  }

  /** Connections in `state` now. */
  count(state: ConnState): number {
    return this.#lists[state].length;
  }

  /**
   * Admits a new connection from `key` (see {@link addressKey}) in state `request`. Returns null
   * when its address is at its cap. Call only when {@link whenRoom} said there is room.
   */
  admit(key: string, close: () => void, nowMs: number): Tracked | null {
    const got = this.#perAddress.acquire(key, this.#limits.perAddressMax);
    if (got !== "ok") {
      this.counters.refused[
        got === "max" ? REFUSE_REASON.perAddress : REFUSE_REASON.addressTableFull
      ]++;
      return null;
    }
    const t = new Tracked(key, close);
    this.#open++;
    if (this.#open > this.counters.peak) this.counters.peak = this.#open;
    this.counters.accepted++;
    t.since = nowMs;
    this.#lists[CONN_STATE.request].push(t);
    return t;
  }

  /**
   * Null when a connection may be accepted now: below the cap, or at it after closing the
   * oldest idle (else the oldest incomplete) connection while fewer than {@link CLOSING_SLACK}
   * closed ones still hold descriptors. Otherwise a promise that resolves once one has gone.
   */
  whenRoom(): Promise<void> | null {
    const live = this.#open - this.#closing;
    const slack = this.#limits.closingSlack ?? CLOSING_SLACK;
    if (live < this.#ceiling && this.#open < this.#ceiling + slack) return null;
    if (live >= this.#ceiling && this.#closing < slack && this.#evictOne()) return null;
    this.counters.capWaits++;
    return new Promise((resolve) => this.#roomWaiters.push(resolve));
  }

  /** Moves `t` into `state` (its deadline restarts). */
  enter(t: Tracked, state: ConnState, nowMs: number): void {
    if (t.closing || t.released) return;
    this.#lists[t.state].remove(t);
    t.state = state;
    t.since = nowMs;
    this.#lists[state].push(t);
  }

  /** Forgets `t` once its session ended and its socket is closed; idempotent. */
  release(t: Tracked): void {
    if (t.released) return;
    t.released = true;
    if (t.closing) this.#closing--;
    else this.#lists[t.state].remove(t);
    this.#open--;
    this.#perAddress.release(t.key);
    // A connection went: waiting accept loops look again (they re-check, so waking is safe).
    if (this.#roomWaiters.length > 0) {
      const waiters = this.#roomWaiters;
      this.#roomWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Closes every connection past its deadline. Returns how many were closed. */
  sweep(nowMs: number): number {
    const l = this.#limits;
    return this.#expire(
      CONN_STATE.request,
      nowMs - l.requestTimeoutMs,
      CLOSE_REASON.requestTimeout,
    ) +
      this.#expire(CONN_STATE.idle, nowMs - l.idleTimeoutMs, CLOSE_REASON.idleTimeout) +
      this.#expire(CONN_STATE.writing, nowMs - l.writeTimeoutMs, CLOSE_REASON.writeTimeout) +
      this.#expire(
        CONN_STATE.websocket,
        nowMs - l.websocketTimeoutMs,
        CLOSE_REASON.websocketTimeout,
      );
  }

  /**
   * Visits the WebSocket connections silent since `silentSince` or longer, oldest first (the
   * server pings them). Stops at the first that is not, so a call costs only the silent ones.
   */
  eachSilentWebSocket(silentSince: number, visit: (t: Tracked) => void): void {
    for (let t = this.#lists[CONN_STATE.websocket].head; t !== null; t = t.next) {
      if (t.since > silentSince) return;
      visit(t);
    }
  }

  #expire(state: ConnState, enteredBefore: number, reason: number): number {
    const list = this.#lists[state];
    let n = 0;
    while (list.head !== null && list.head.since <= enteredBefore) {
      this.#kill(list.head, reason);
      n++;
    }
    return n;
  }

  /** Closes `t`; it stays counted (and holds its descriptor) until its session releases it. */
  #kill(t: Tracked, reason: number): void {
    this.counters.closed[reason]++;
    this.#lists[t.state].remove(t);
    t.closing = true;
    this.#closing++;
    t.close();
  }

  #evictOne(): boolean {
    const victim = this.#lists[CONN_STATE.idle].head ?? this.#lists[CONN_STATE.request].head;
    if (victim === null) return false;
    this.#kill(victim, CLOSE_REASON.evicted);
    return true;
  }

  /**
   * The process ran out of descriptors with {@link open} connections: lowers the cap so that
   * a reserve stays free, and closes idle and incomplete connections down to it. Returns the
   * new cap.
   */
  descriptorsExhausted(): number {
    // Every descriptor is in use: the connections plus everything else. Closing a reserve's
    // worth of connections makes that many descriptors free for the rest of the process.
    const live = this.#open - this.#closing;
    const lowered = Math.max(16, live - descriptorReserve(this.#open));
    if (lowered < this.#ceiling) this.#ceiling = lowered;
    while (this.#open - this.#closing > this.#ceiling && this.#evictOne());
    return this.#ceiling;
  }

  /** The figures /metrics shows. */
  figures(): ConnectionFigures {
    const c = this.counters;
    return {
      open: this.#open,
      ceiling: this.#ceiling,
      peak: c.peak,
      accepted: c.accepted,
      acceptErrors: c.acceptErrors,
      tlsErrors: c.tlsErrors,
      failures: c.failures,
      capWaits: c.capWaits,
      byState: [
        ...STATE_NAMES.map((name, i) => [name, this.#lists[i].length] as const),
        ["closing", this.#closing],
      ],
      refused: REFUSE_REASON_NAMES.map((name, i) => [name, c.refused[i]]),
      closed: CLOSE_REASON_NAMES.map((name, i) => [name, c.closed[i]]),
    };
  }

  /** Closes every connection (tracker stop); their sessions release them as they end. */
  closeAll(): void {
    for (const list of this.#lists) {
      while (list.head !== null) this.#kill(list.head, CLOSE_REASON.shutdown);
    }
    const waiters = this.#roomWaiters;
    this.#roomWaiters = [];
    for (const w of waiters) w();
  }
}

/**
 * The per-address key of a 16-byte address: the IPv4 address, or the /64 of an IPv6 address
 * (one subscriber's network: an attacker holding a /64 is one address here).
 */
export function addressKey(ip: Uint8Array): string {
  let v4 = true;
  for (let i = 0; i < 10; i++) if (ip[i] !== 0) v4 = false;
  if (v4 && ip[10] === 0xff && ip[11] === 0xff) {
    return `${ip[12]}.${ip[13]}.${ip[14]}.${ip[15]}`;
  }
  let s = "";
  for (let i = 0; i < 8; i += 2) s += ((ip[i] << 8) | ip[i + 1]).toString(16) + ":";
  return s + ":/64";
}
