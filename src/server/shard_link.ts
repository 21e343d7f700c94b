/**
 * One worker's links to the others when the tracker runs several (`tracker.workers`): a ring
 * to and from every other worker (util/spsc_ring.ts), the eventfds that wake a sleeping worker,
 * and the requests this worker waits on (scrapes spread over several shards, HTTP announces of
 * torrents another worker owns). Records are protocol/shard_message.ts; nothing here is on
 * `postMessage`, and a record costs no allocation.
 *
 * Waking: a worker about to sleep in `epoll_wait` sets its flag, then looks at its inbound rings
 * once more; a producer publishes its records, then reads the flag and writes the eventfd only
 * when it is set. Both steps are sequentially consistent atomics, so either the producer sees
 * the flag or the consumer sees the records: no record waits for the wait's timeout.
 */

import {
  fromOf,
  getU32,
  HTTP_REPLY_HEAD_BYTES,
  putScrapeAnswerEntry,
  putScrapeQueryEntry,
  readScrapeAnswerEntry,
  requestIdOf,
  SCRAPE_ANSWER_ENTRY_BYTES,
  SCRAPE_HEAD_BYTES,
  SCRAPE_QUERY_ENTRY_BYTES,
  SHARD_MESSAGE,
  SYNC_RECORD_BYTES,
  writeHttpReplyHead,
  writeScrapeHead,
  writeSyncRecord,
  writeWsHead,
  WS_HEAD_BYTES,
} from "../protocol/shard_message.ts";
import { ShardMap } from "../logic/shards.ts";
import { ringBufferBytes, SpscRing } from "../util/spsc_ring.ts";
import { createSharedCounts } from "../util/shared_counts.ts";
import { failure, Libc, openLibc } from "./libc.ts";

/** What the main isolate hands every worker: the same buffers and descriptors for all. */
export interface ShardWiring {
  readonly index: number;
  readonly count: number;
  /** Seed of the {@link ShardMap} (the same in every worker). */
  readonly shardSeed: Uint32Array;
  /** `rings[from][to]`, null where from === to. */
  readonly rings: readonly (readonly (SharedArrayBuffer | null)[])[];
  /** One Int32 per worker: 1 while it sleeps in epoll_wait. */
  readonly sleeping: SharedArrayBuffer;
  /** One Int32: the worker whose turn it is to bind its sockets ({@link ShardLink.bindInTurn}). */
  readonly bindTurn: SharedArrayBuffer;
  /** One eventfd per worker, created by the main isolate (descriptors are process-wide). */
  readonly wakeFds: readonly number[];
  /** Open HTTP connections per address, of all workers (util/shared_counts.ts). */
  readonly addressCounts: SharedArrayBuffer;
}

/** Scrape counts, as the logic fills them. */
export interface Counts {
  seeders: number;
  leechers: number;
  downloaded: number;
}

/** A scrape this worker waits on: entry `k` of the request is at `known[k]` and `counts`. */
export interface ScrapeGather {
  /** Entries of the request. */
  readonly n: number;
  /** 1 when entry k's torrent is known. */
  readonly known: Uint8Array;
  /** seeders, leechers, downloaded of entry k at 3k. */
  readonly counts: Float64Array;
}

function putCounts(g: ScrapeGather, k: number, c: Counts): void {
  g.known[k] = 1;
  g.counts[3 * k] = c.seeders;
  g.counts[3 * k + 1] = c.leechers;
  g.counts[3 * k + 2] = c.downloaded;
}

/** Reads entry `k` of a gathered scrape into `out`; false when its torrent is unknown. */
export function gatheredCounts(g: ScrapeGather, k: number, out: Counts): boolean {
  if (g.known[k] !== 1) return false;
  out.seeders = g.counts[3 * k];
  out.leechers = g.counts[3 * k + 1];
  out.downloaded = g.counts[3 * k + 2];
  return true;
}

/** Handles the records other workers send this one. */
export interface ShardInbox {
  /** A datagram another worker received for a torrent this one owns. */
  forwardedUdp(data: Uint8Array, at: number, len: number): void;
  /** Counts for `count` hashes; write the answer with {@link ShardLink.answerScrape}. */
  scrapeQuery(data: Uint8Array, at: number, len: number): void;
  /** An HTTP announce for a torrent this one owns; answer with {@link ShardLink.replyHttp}. */
  httpAnnounce(data: Uint8Array, at: number, len: number): void;
  /** An HTTP announce that brought its connection (descriptor): reply on it, then close it. */
  httpAnnounceConn(data: Uint8Array, at: number): void;
  /** A live sync record received by worker 0 for a torrent this one owns. */
  syncRecord(data: Uint8Array, at: number): void;
  /** A record to send to the cluster (this is the worker with the live sync socket). */
  syncOut(data: Uint8Array, at: number): void;
  /** A WebSocket message for a torrent this one owns, from connection `id` of worker `from`. */
  wsMessage(from: number, id: number, text: Uint8Array): void;
  /** A WebSocket message for connection `id` of this worker. */
  wsDeliver(id: number, text: Uint8Array): void;
  /** Connection `id` of worker `from` closed. */
  wsClosed(from: number, id: number): void;
  /** Called once per drain, after the records: flush what they produced (UDP replies). */
  drained(): void;
}

/** A worker waiting for its turn to bind looks again this often (see ShardLink.bindInTurn). */
const BIND_TURN_WAIT_SLICE_MS = 100;
/** Records taken from one ring before the next ring gets its turn. */
const RECORDS_PER_RING_TURN = 256;
/** Requests waiting for other workers at once; beyond it a request is dropped (and counted). */
const PENDING_MAX = 4096;
/**
 * A request whose answer has not come by then is given up: the answer was dropped because a
 * ring was full (counted there). UDP clients retry; HTTP clients get a 503.
 */
export const ANSWER_TIMEOUT_MS = 5000;

/** The rings and pending requests of one worker. */
export class ShardLink {
  readonly index: number;
  readonly count: number;
  readonly map: ShardMap;
  readonly #out: (SpscRing | null)[];
  readonly #in: (SpscRing | null)[];
  readonly #touched: Uint8Array;
  readonly #sleeping: Int32Array;
  readonly #bindTurn: Int32Array;
  readonly #wakeFds: readonly number[];
  readonly #libc: Libc;
  readonly #eight = new Uint8Array(8);
  #nextId = 1;
  readonly #scrapes = new Map<number, {
    gather: ScrapeGather;
    remaining: number;
    done: (g: ScrapeGather | null) => void;
    sinceMs: number;
  }>();
  readonly #http = new Map<
    number,
    { resolve: (body: Uint8Array | null) => void; sinceMs: number }
  >();
  /** Requests that got no answer within {@link ANSWER_TIMEOUT_MS} (an answer was dropped). */
  expired = 0;
  /** Records dropped because a ring was full or too many requests were pending. */
  dropped = 0;
  /** Records sent and received, and eventfd wake-ups written (for /metrics). */
  sent = 0;
  received = 0;
  wakeups = 0;
  /** HTTP connections other workers handed over with their last request. */
  connectionsReceived = 0;
  #inbox: ShardInbox | null = null;
  /** Set by {@link stop}: no request waits for another worker any more. */
  #stopped = false;

  constructor(w: ShardWiring) {
    this.index = w.index;
    this.count = w.count;
    this.map = new ShardMap(w.shardSeed, w.count);
    this.#out = w.rings[w.index].map((b) => b === null ? null : new SpscRing(b));
    this.#in = w.rings.map((row) => row[w.index] === null ? null : new SpscRing(row[w.index]!));
    this.#touched = new Uint8Array(w.count);
    this.#sleeping = new Int32Array(w.sleeping);
    this.#bindTurn = new Int32Array(w.bindTurn);
    this.#wakeFds = w.wakeFds;
    this.#libc = openLibc();
  }

  /**
   * Runs `bind` (which binds this worker's sockets) once every worker before this one has bound
   * its own, then lets the next one bind. The workers restore their state at the same time, but
   * each address's UDP sockets must join their `SO_REUSEPORT` group in worker order: the kernel's
   * socket-choosing program (udp_batch.ts) picks socket k for worker k's torrents. Blocks the
   * worker's thread while it waits (in slices, so that a worker the main isolate terminates
   * because another failed does not wait for ever). A bind that throws passes no turn: the start
   * has failed and the main isolate ends every worker.
   */
  bindInTurn<T>(bind: () => T): T {
    const turn = this.#bindTurn;
    for (let now = Atomics.load(turn, 0); now !== this.index; now = Atomics.load(turn, 0)) {
      Atomics.wait(turn, 0, now, BIND_TURN_WAIT_SLICE_MS);
    }
    const bound = bind();
    Atomics.store(turn, 0, this.index + 1);
    Atomics.notify(turn, 0);
    return bound;
  }

  /** The eventfd that wakes this worker (in its epoll set). */
  get wakeFd(): number {
    return this.#wakeFds[this.index];
  }

  /** Sets who handles the inbound records. */
  attach(inbox: ShardInbox): void {
    this.#inbox = inbox;
  }

  // ---------------------------------------------------------------- sending

  /**
   * Reserves a record of `length` bytes to worker `to`; returns the offset of its bytes in
   * {@link buffer}(to), or -1 when the ring is full (the record is dropped and counted).
   */
  reserve(to: number, length: number): number {
    const ring = this.#out[to]!;
    const at = ring.reserve(length);
    if (at < 0) {
      this.dropped++;
      return -1;
    }
    this.#touched[to] = 1;
    this.sent++;
    return at;
  }

  /** The bytes of the ring to worker `to`. */
  buffer(to: number): Uint8Array {
    return this.#out[to]!.data;
  }

  /** Publishes what was reserved and wakes the workers that sleep. */
  flush(): void {
    for (let to = 0; to < this.count; to++) {
      if (this.#touched[to] === 0) continue;
      this.#touched[to] = 0;
      this.#out[to]!.commit();
      if (Atomics.load(this.#sleeping, to) === 1) this.#wake(to);
    }
  }

  /** Wakes this worker's own loop (to make it see that it must stop). */
  wake(): void {
    this.#wake(this.index);
  }

  #wake(to: number): void {
    this.wakeups++;
    const one = this.#eight;
    one.fill(0);
    one[0] = 1;
    this.#libc.write(this.#wakeFds[to], one, 8n);
  }

  // ---------------------------------------------------------------- scrapes over shards

  /**
   * A scrape of the hashes `hashAt(k)` (k < n) that several workers own: `local` fills the counts
   * of the ones this worker owns now, the owners of the others are asked; `done` runs when every
   * owner answered (null when an answer was lost: {@link ANSWER_TIMEOUT_MS}). Returns false
   * when too many requests wait (the request is dropped, and counted).
   */
  gatherScrape(
    n: number,
    hashes: Uint8Array,
    hashAt: (k: number) => number,
    local: (h: Uint8Array, o: number, counts: Counts) => boolean,
    done: (g: ScrapeGather | null) => void,
  ): boolean {
    if (this.#scrapes.size >= PENDING_MAX || this.#stopped) {
      this.dropped++;
      return false;
    }
    const gather: ScrapeGather = {
      n,
      known: new Uint8Array(n),
      counts: new Float64Array(3 * n),
    };
    const id = this.#nextId++ >>> 0;
    let remaining = 0;
    for (let to = 0; to < this.count; to++) {
      if (to === this.index) continue;
      let m = 0;
      for (let k = 0; k < n; k++) if (this.map.of(hashes, hashAt(k)) === to) m++;
      if (m === 0) continue;
      const at = this.reserve(to, SCRAPE_HEAD_BYTES + m * SCRAPE_QUERY_ENTRY_BYTES);
      if (at < 0) continue; // that owner's entries stay unknown
      const b = this.buffer(to);
      writeScrapeHead(b, at, SHARD_MESSAGE.scrapeQuery, m, this.index, id);
      let e = 0;
      for (let k = 0; k < n; k++) {
        const o = hashAt(k);
        if (this.map.of(hashes, o) === to) putScrapeQueryEntry(b, at, e++, k, hashes, o);
      }
      remaining++;
    }
    const counts = this.#counts;
    for (let k = 0; k < n; k++) {
      const o = hashAt(k);
      if (this.map.of(hashes, o) === this.index && local(hashes, o, counts)) {
        putCounts(gather, k, counts);
      }
    }
    if (remaining === 0) {
      queueMicrotask(() => done(gather));
    } else this.#scrapes.set(id, { gather, remaining, done, sinceMs: performance.now() });
    return true;
  }

  /** Answers a scrape query: `lookup(hash, off, counts)` fills the counts of one hash. */
  answerScrape(
    data: Uint8Array,
    at: number,
    lookup: (h: Uint8Array, o: number, counts: Counts) => boolean,
  ): void {
    const n = data[at + 1];
    const from = data[at + 2] | (data[at + 3] << 8);
    const out = this.reserve(from, SCRAPE_HEAD_BYTES + n * SCRAPE_ANSWER_ENTRY_BYTES);
    if (out < 0) return;
    const b = this.buffer(from);
    writeScrapeHead(b, out, SHARD_MESSAGE.scrapeAnswer, n, this.index, requestIdOf(data, at));
    const counts = this.#counts;
    for (let k = 0; k < n; k++) {
      const e = at + SCRAPE_HEAD_BYTES + k * SCRAPE_QUERY_ENTRY_BYTES;
      const known = lookup(data, e + 1, counts);
      putScrapeAnswerEntry(b, out, k, data[e], known ? counts : null);
    }
  }

  readonly #counts: Counts = { seeders: 0, leechers: 0, downloaded: 0 };

  #scrapeAnswer(data: Uint8Array, at: number): void {
    const id = requestIdOf(data, at);
    const p = this.#scrapes.get(id);
    if (p === undefined) return;
    const n = data[at + 1];
    const counts = this.#counts;
    for (let k = 0; k < n; k++) {
      const pos = readScrapeAnswerEntry(data, at, k, counts);
      if (pos >= 0) putCounts(p.gather, pos, counts);
    }
    if (--p.remaining === 0) {
      this.#scrapes.delete(id);
      p.done(p.gather);
    }
  }

  // ---------------------------------------------------------------- HTTP announces

  /**
   * Registers an HTTP request that another worker will answer; returns its id, or -1 when too
   * many wait. The caller writes the record with that id.
   */
  expectHttp(resolve: (body: Uint8Array | null) => void): number {
    if (this.#http.size >= PENDING_MAX || this.#stopped) {
      this.dropped++;
      return -1;
    }
    const id = this.#nextId++ >>> 0;
    this.#http.set(id, { resolve, sinceMs: performance.now() });
    return id;
  }

  /** Gives up the requests that waited longer than {@link ANSWER_TIMEOUT_MS}. */
  expire(nowMs: number): void {
    // Maps iterate in insertion order: the oldest first.
    for (const [id, p] of this.#scrapes) {
      if (nowMs - p.sinceMs < ANSWER_TIMEOUT_MS) break;
      this.#scrapes.delete(id);
      this.expired++;
      p.done(null);
    }
    for (const [id, p] of this.#http) {
      if (nowMs - p.sinceMs < ANSWER_TIMEOUT_MS) break;
      this.#http.delete(id);
      this.expired++;
      p.resolve(null);
    }
  }

  /**
   * The tracker stops: no answer will come any more (the other workers stop too). The requests
   * that wait are given up now and new ones are refused, so that their sessions end and the stop
   * is not held up.
   */
  stop(): void {
    this.#stopped = true;
    this.expire(Infinity);
  }

  /** Requests waiting for other workers now. */
  get pending(): number {
    return this.#scrapes.size + this.#http.size;
  }

  /** Hands a live sync record of `kind` (syncRecord or syncOut) to worker `to` ({@link flush} publishes it). */
  sendSync(
    to: number,
    kind: number,
    h: Uint8Array,
    ip: Uint8Array,
    port: number,
    flags: number,
  ): void {
    const at = this.reserve(to, SYNC_RECORD_BYTES);
    if (at < 0) return; // dropped and counted: live sync is best effort, as over the network
    writeSyncRecord(this.buffer(to), at, kind, h, ip, port, flags);
  }

  /** Sends the body `body[0, length)` of HTTP request `id` back to worker `to`. */
  replyHttp(to: number, id: number, body: Uint8Array, length: number): void {
    const at = this.reserve(to, HTTP_REPLY_HEAD_BYTES + length);
    if (at < 0) return; // the requester gives up after ANSWER_TIMEOUT_MS (503)
    const b = this.buffer(to);
    writeHttpReplyHead(b, at, id);
    b.set(body.subarray(0, length), at + HTTP_REPLY_HEAD_BYTES);
  }

  /** Bytes of the longest WebSocket text a record can carry. */
  get wsTextBytesMax(): number {
    let max = Infinity;
    for (const ring of this.#out) if (ring !== null) max = Math.min(max, ring.payloadBytesMax);
    return max - WS_HEAD_BYTES;
  }

  /**
   * Hands a WebSocket record of `kind` (wsMessage, wsDeliver, wsClosed) about connection `id` to
   * worker `to`, with `text` (UTF-8, at most {@link wsTextBytesMax}); false when the ring was full
   * (dropped and counted). {@link flush} publishes it.
   */
  sendWs(to: number, kind: number, id: number, text: Uint8Array | null): boolean {
    const n = text === null ? 0 : text.length;
    const at = this.reserve(to, WS_HEAD_BYTES + n);
    if (at < 0) return false;
    const b = this.buffer(to);
    writeWsHead(b, at, kind, this.index, id);
    if (text !== null) b.set(text, at + WS_HEAD_BYTES);
    return true;
  }

  /** Forgets an expected HTTP reply whose record could not be sent. */
  forgetHttp(id: number): void {
    this.#http.delete(id);
  }

  // ---------------------------------------------------------------- receiving

  /**
   * Before this worker's epoll loop waits: marks the worker asleep, so that producers wake
   * it, unless a record already waits. True when it may sleep; false (and marked busy) when the
   * caller should drain first.
   */
  prepareSleep(): boolean {
    Atomics.store(this.#sleeping, this.index, 1);
    for (const ring of this.#in) {
      if (ring !== null && !ring.isEmpty()) {
        Atomics.store(this.#sleeping, this.index, 0);
        return false;
      }
    }
    return true;
  }

  /** The worker's loop runs (and drains the rings when done): no wake-up needed. */
  markBusy(): void {
    Atomics.store(this.#sleeping, this.index, 0);
  }

  /** After the eventfd was reported: clears the flag and the eventfd. */
  awake(): void {
    Atomics.store(this.#sleeping, this.index, 0);
    // Non-blocking: nothing to read (EAGAIN) when another worker's write was already read.
    this.#libc.read(this.wakeFd, this.#eight, 8n);
  }

  /**
   * Handles the records waiting in the inbound rings (up to a bound per ring, so one busy
   * neighbour cannot starve the sockets). Returns the records handled.
   */
  drain(): number {
    const inbox = this.#inbox;
    if (inbox === null) return 0;
    let handled = 0;
    for (const ring of this.#in) {
      if (ring === null) continue;
      for (let k = 0; k < RECORDS_PER_RING_TURN; k++) {
        const len = ring.peek();
        if (len < 0) break;
        const at = ring.offset;
        const data = ring.data;
        switch (data[at]) {
          case SHARD_MESSAGE.forwardUdp:
            inbox.forwardedUdp(data, at, len);
            break;
          case SHARD_MESSAGE.scrapeQuery:
            inbox.scrapeQuery(data, at, len);
            break;
          case SHARD_MESSAGE.scrapeAnswer:
            this.#scrapeAnswer(data, at);
            break;
          case SHARD_MESSAGE.httpAnnounce:
            inbox.httpAnnounce(data, at, len);
            break;
          case SHARD_MESSAGE.httpAnnounceConn:
            this.connectionsReceived++;
            inbox.httpAnnounceConn(data, at);
            break;
          case SHARD_MESSAGE.syncRecord:
            inbox.syncRecord(data, at);
            break;
          case SHARD_MESSAGE.syncOut:
            inbox.syncOut(data, at);
            break;
          case SHARD_MESSAGE.wsMessage:
            inbox.wsMessage(
              fromOf(data, at),
              getU32(data, at + 4),
              data.subarray(at + 8, at + len),
            );
            break;
          case SHARD_MESSAGE.wsDeliver:
            inbox.wsDeliver(getU32(data, at + 4), data.subarray(at + 8, at + len));
            break;
          case SHARD_MESSAGE.wsClosed:
            inbox.wsClosed(fromOf(data, at), getU32(data, at + 4));
            break;
          case SHARD_MESSAGE.httpReply: {
            const id = getU32(data, at + 4);
            const p = this.#http.get(id);
            if (p !== undefined) {
              this.#http.delete(id);
              p.resolve(data.slice(at + 8, at + len));
            }
            break;
          }
        }
        ring.release();
        handled++;
      }
      ring.flush();
    }
    this.received += handled;
    if (handled > 0) inbox.drained();
    // Answers written while handling go out now.
    this.flush();
    return handled;
  }
}

/** How often requests that wait for other workers are checked against their deadline. */
const EXPIRE_INTERVAL_MS = 250;

/**
 * Keeps the deadlines of the requests this worker waits on. The records themselves are answered
 * by the isolate's epoll loop, which waits on the link's eventfd with the sockets and drains the
 * rings after every batch (epoll_loop.ts's `setEpollCompanion`).
 */
export function serveShardLink(link: ShardLink): { close(): void; done: Promise<void> } {
  const stopped = Promise.withResolvers<void>();
  const timer = setInterval(() => link.expire(performance.now()), EXPIRE_INTERVAL_MS);
  return {
    close() {
      clearInterval(timer);
      stopped.resolve();
    },
    done: stopped.promise.then(() => link.stop()),
  };
}

/**
 * Creates the eventfds and shared buffers for `count` workers (in the main isolate);
 * `connectionsMax` sizes the per-address connection counts.
 */
export function wireShards(
  count: number,
  ringDataBytes: number,
  connectionsMax: number,
): Omit<ShardWiring, "index"> {
  const c = openLibc();
  const EFD_NONBLOCK = 0o4000;
  const EFD_CLOEXEC = 0o2000000;
  const wakeFds: number[] = [];
  for (let i = 0; i < count; i++) {
    const fd = c.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) throw failure(c, "eventfd");
    wakeFds.push(fd);
  }
  const rings = Array.from(
    { length: count },
    (_, from) =>
      Array.from(
        { length: count },
        (_, to) => from === to ? null : new SharedArrayBuffer(ringBufferBytes(ringDataBytes)),
      ),
  );
  return {
    count,
    shardSeed: crypto.getRandomValues(new Uint32Array(4)),
    rings,
    sleeping: new SharedArrayBuffer(4 * count),
    bindTurn: new SharedArrayBuffer(4),
    wakeFds,
    addressCounts: createSharedCounts(connectionsMax, crypto.getRandomValues(new Uint8Array(16))),
  };
}
