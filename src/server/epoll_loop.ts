/**
 * The one epoll instance of an isolate (a worker) and the loop that waits on it, through Deno
 * FFI to the C library (Linux). Everything the tracker serves at a high rate reports here: the
 * TCP listeners and connections (fd_tcp.ts), the batched UDP sockets (udp_batch.ts) and, with
 * several workers, the eventfd that other workers write when they hand this one records
 * (shard_link.ts, through {@link EpollCompanion}). One wait covers them all, so a worker that
 * serves both protocols and its neighbours does not pay a thread wake-up for each.
 *
 * Waiting: under load something is ready after every batch, and the loop asks for it on the
 * event loop's own thread (`epoll_wait` with timeout 0, a system call and no op). When nothing is
 * ready, that thread waits a moment in the kernel ({@link SYNC_WAIT_MS}): under load the next
 * request comes within microseconds, while a wait on Deno's blocking thread costs two thread
 * wake-ups (measured: 13 % less CPU per HTTP keep-alive response with two workers). Every
 * {@link SYNC_TURNS_MAX} batches, once it has held the thread {@link HOLD_MS}, and whenever the
 * short wait ends with nothing, the loop waits on the blocking thread instead, so that timers,
 * messages from the main isolate and Deno's own sockets (TLS, live sync) get their turn.
 *
 * The event array stays referenced for the loop's life: the kernel writes it during the wait on
 * the blocking thread.
 */

import { failure, Libc, openLibc, SOCK_CLOEXEC } from "./libc.ts";

export const EPOLLIN = 0x1;
export const EPOLLOUT = 0x4;
export const EPOLLERR = 0x8;
export const EPOLLHUP = 0x10;
export const EPOLLRDHUP = 0x2000;
/** Edge-triggered: reported when the state changes, not while it lasts. */
export const EPOLLET = 0x80000000;
const EPOLL_CTL_ADD = 1;
const EPOLL_CTL_DEL = 2;
/** Ready descriptors taken per epoll_wait. */
const EVENTS_MAX = 256;
/** struct epoll_event: packed (12 bytes) on x86_64, 16 on aarch64. */
const EVENT_BYTES = Deno.build.arch === "x86_64" ? 12 : 16;
const EVENT_DATA_OFFSET = Deno.build.arch === "x86_64" ? 4 : 8;
const WAIT_TIMEOUT_MS = 250;
/** Batches taken on the event loop's thread before a wait goes through the blocking thread. */
const SYNC_TURNS_MAX = 16;
/** A wait on the event loop's own thread (it blocks everything else in the isolate) ends by then. */
const SYNC_WAIT_MS = 1;
/** The loop holds the thread about this long at most before it lets the event loop run. */
const HOLD_MS = 2;

/** A descriptor the loop reports to. */
export interface Watched {
  onEvents(mask: number): void;
}

/**
 * What the loop does for the rings between workers (shard_link.ts's link): while it handles
 * sockets the worker counts as busy and answers the other workers' records after each batch, so
 * that they need not wake it through its eventfd; before the loop waits it marks the worker
 * asleep again (or drains first, when records came meanwhile).
 */
export interface EpollCompanion {
  /** The eventfd other workers write to wake this one: in the epoll set. */
  readonly wakeFd: number;
  /** Marks the worker asleep; false (and busy again) when records wait: drain first. */
  prepareSleep(): boolean;
  markBusy(): void;
  /** After the eventfd was reported: clears it. */
  awake(): void;
  /** Writes the eventfd (ends a wait that began before the companion was set). */
  wake(): void;
  /** Publishes what was handed to other workers and handles what they handed here. */
  drain(): number;
}

/** The epoll instance of this isolate and the loop that waits on it. */
export class EpollLoop {
  readonly #c: Libc;
  readonly #epfd: number;
  readonly #events = new Uint8Array(EVENTS_MAX * EVENT_BYTES);
  readonly #view = new DataView(this.#events.buffer);
  readonly #ctl = new Uint8Array(16);
  readonly #watched = new Map<number, Watched>();
  #running = false;
  companion: EpollCompanion | null = null;

  constructor(c: Libc) {
    this.#c = c;
    this.#epfd = c.epoll_create1(SOCK_CLOEXEC);
    if (this.#epfd < 0) throw failure(c, "epoll_create1");
  }

  /**
   * Watches `fd` for `events` (with {@link EPOLLET} for edge-triggered); the loop runs while
   * anything is watched.
   */
  add(fd: number, w: Watched, events: number): void {
    const v = new DataView(this.#ctl.buffer);
    v.setUint32(0, events, true);
    v.setUint32(EVENT_DATA_OFFSET, fd, true);
    v.setUint32(EVENT_DATA_OFFSET + 4, 0, true);
    if (this.#c.epoll_ctl(this.#epfd, EPOLL_CTL_ADD, fd, this.#ctl) !== 0) {
      throw failure(this.#c, "epoll_ctl");
    }
    this.#watched.set(fd, w);
    if (!this.#running) void this.#run();
  }

  /** Forgets `fd` (closing it removes it from the epoll set). */
  remove(fd: number): void {
    this.#watched.delete(fd);
  }

  /** Takes `fd`, which stays open, out of the epoll set and forgets it. */
  unwatch(fd: number): void {
    this.#c.epoll_ctl(this.#epfd, EPOLL_CTL_DEL, fd, this.#ctl);
    this.#watched.delete(fd);
  }

  async #run(): Promise<void> {
    this.#running = true;
    let turns = 0;
    let yieldedMs = performance.now();
    try {
      while (this.#watched.size > 0) {
        const held = ++turns < SYNC_TURNS_MAX && performance.now() - yieldedMs < HOLD_MS;
        let n = held ? this.#c.epoll_wait_now(this.#epfd, this.#events, EVENTS_MAX, 0) : 0;
        const companion = this.companion;
        if (n <= 0) {
          const sleep = companion === null || companion.prepareSleep();
          if (held && sleep) {
            n = this.#c.epoll_wait_now(this.#epfd, this.#events, EVENTS_MAX, SYNC_WAIT_MS);
          }
          // Records that wait are drained at once, but still after a turn of the event loop.
          if (n <= 0 && (sleep || !held)) {
            const timeout = sleep ? WAIT_TIMEOUT_MS : 0;
            n = await this.#c.epoll_wait(this.#epfd, this.#events, EVENTS_MAX, timeout);
            turns = 0;
            yieldedMs = performance.now();
          }
        }
        companion?.markBusy();
        for (let i = 0; i < n; i++) {
          const at = i * EVENT_BYTES;
          const mask = this.#view.getUint32(at, true);
          const fd = this.#view.getUint32(at + EVENT_DATA_OFFSET, true);
          this.#watched.get(fd)?.onEvents(mask);
        }
        // The sessions whose reads and writes completed run before the next batch.
        await Promise.resolve();
        // Then what they handed to other workers goes out, and what those sent is answered.
        companion?.drain();
      }
    } finally {
      this.#running = false;
    }
  }
}

let loop: EpollLoop | null = null;

/** This isolate's epoll loop (made on first use). */
export function epoll(): EpollLoop {
  return loop ??= new EpollLoop(openLibc());
}

/** Has this isolate's epoll loop answer the rings between workers (see {@link EpollCompanion}). */
export function setEpollCompanion(companion: EpollCompanion | null): void {
  if (companion === null && loop === null) return;
  const l = epoll();
  if (l.companion !== null) l.unwatch(l.companion.wakeFd);
  l.companion = companion;
  // Readable only: an eventfd is always writable, and each read would report that again.
  if (companion !== null) {
    l.add(companion.wakeFd, { onEvents: () => companion.awake() }, EPOLLIN | EPOLLET);
    companion.wake();
  }
}
