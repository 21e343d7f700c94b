/**
 * Streams a full scrape, a `tpbs` format or a statedump of the whole swarm in ascending hash
 * order without blocking the event loop: torrents are first sorted into 1,024 buckets by their
 * first 10 bits (in slices, yielding between them), then each bucket is sorted and written into
 * 32 KiB chunks as the client reads them. The stream pulls only when the client has taken the
 * previous chunk, so a slow reader holds one chunk, not the whole document; one that stalls past
 * the deadline is cut off. Like opentracker's, the result is not a global snapshot: torrents that
 * change while the stream runs may be seen before or after the change.
 *
 * {@link FullScrapes} bounds them: at most `concurrentMax` at once, each holding its sort index
 * (4 bytes per torrent), one chunk and, with gzip, the compressor's state, all released when the
 * stream ends, fails or is cancelled (the server cancels it when the client is cut off).
 */

import {
  ENTRY_BYTES_MAX,
  FullScrapeEntry,
  FullScrapeFormat,
  writeFullScrapeEntry,
  writeFullScrapeHead,
  writeFullScrapeTail,
} from "../protocol/full_scrape.ts";
import { Swarm } from "../swarm/swarm.ts";

const BUCKETS = 1024;
const CHUNK_BYTES = 32768;
/** Longest stretch of work before the stream lets the event loop run. */
const YIELD_AFTER_MS = 2;

/** Options for {@link fullScrapeStream}. */
export interface FullScrapeStreamOptions {
  /** Torrents sorted into buckets per slice. Default 16384. */
  sliceTorrents?: number;
  /** The stream errors when it is not finished after this long. Default 900 s (opentracker). */
  deadlineMs?: number;
  /** Called with the number of bytes of each chunk produced (for the `fscr` counters). */
  onChunk?: (bytes: number) => void;
  /** Called with the bytes of the sort index when it is allocated. */
  onIndex?: (bytes: number) => void;
  /** Called once when the stream closes, fails or is cancelled. */
  onEnd?: () => void;
}

function compareSlots(hashes: Uint8Array, a: number, b: number): number {
  const x = a * 20;
  const y = b * 20;
  for (let i = 0; i < 20; i++) {
    const d = hashes[x + i] - hashes[y + i];
    if (d !== 0) return d;
  }
  return 0;
}

const yieldToLoop = () => new Promise<void>((r) => setTimeout(r, 0));

/**
 * The torrents of one swarm sorted into {@link BUCKETS} buckets by their first 10 bits: a
 * counting sort into one Int32Array (no JS array per bucket, little GC work), built in slices
 * that yield to the event loop. Pass 1 counts torrents per bucket, pass 2 places their slots.
 * Torrents created between the passes that do not fit their bucket's count are left out; freed
 * ones leave -1 gaps, and a slot freed and reused later may hold a hash of another bucket, so
 * {@link entry} checks both.
 */
export class BucketIndex {
  readonly #swarm: Swarm;
  readonly #slice: number;
  readonly #starts = new Int32Array(BUCKETS + 1);
  readonly #fill = new Int32Array(BUCKETS);
  #slots = new Int32Array(0);

  constructor(swarm: Swarm, sliceTorrents = 16384) {
    this.#swarm = swarm;
    this.#slice = sliceTorrents;
  }

  /** Runs both passes; `onIndex` gets the bytes of the index once allocated. */
  async build(onIndex?: (bytes: number) => void): Promise<void> {
    const starts = this.#starts;
    const fill = this.#fill;
    for (let pass = 1; pass <= 2; pass++) {
      let cursor = 0;
      while (cursor >= 0) {
        const hashes = this.#swarm.table.hashes;
        const slots = this.#slots;
        cursor = this.#swarm.table.visit(cursor, this.#slice, (slot) => {
          const b = home(hashes, slot);
          if (pass === 1) starts[b + 1]++;
          else if (fill[b] < starts[b + 1] - starts[b]) slots[starts[b] + fill[b]++] = slot;
        });
        await yieldToLoop();
      }
      if (pass === 1) {
        for (let b = 0; b < BUCKETS; b++) starts[b + 1] += starts[b];
        this.#slots = new Int32Array(starts[BUCKETS]).fill(-1);
        onIndex?.(this.#slots.byteLength);
      }
    }
  }

  /** The slots of bucket `b`, sorted by hash (sort each bucket once). */
  sorted(b: number): Int32Array {
    const mine = this.#slots.subarray(this.#starts[b], this.#starts[b] + this.#fill[b]);
    const hashes = this.#swarm.table.hashes;
    return mine.sort((x, y) => compareSlots(hashes, x, y));
  }

  /** Fills `out` for `slot` when it still holds a torrent of bucket `b`. */
  entry(b: number, slot: number, out: FullScrapeEntry): boolean {
    return home(this.#swarm.table.hashes, slot) === b && this.#swarm.table.slotEntry(slot, out);
  }

  /** Releases the index. */
  free(): void {
    this.#slots = new Int32Array(0);
  }
}

const home = (hashes: Uint8Array, slot: number) =>
  (hashes[slot * 20] << 2) | (hashes[slot * 20 + 1] >> 6);

/** Bytes of one packed entry: hash, seeders, leechers, base minutes (u32), downloaded (f64). */
export const PACKED_ENTRY_BYTES = 40;

/**
 * The entries of bucket `b` of `index`, sorted, packed for another worker (several workers:
 * the one serving a full scrape merges every worker's bucket).
 */
export function packBucket(index: BucketIndex, swarm: Swarm, b: number): Uint8Array {
  const slots = index.sorted(b);
  const out = new Uint8Array(slots.length * PACKED_ENTRY_BYTES);
  const view = new DataView(out.buffer);
  const entry: FullScrapeEntry = { seeders: 0, leechers: 0, downloaded: 0, baseMinutes: 0 };
  const hashes = swarm.table.hashes;
  let n = 0;
  for (const slot of slots) {
    if (!index.entry(b, slot, entry)) continue;
    const at = n++ * PACKED_ENTRY_BYTES;
    out.set(hashes.subarray(slot * 20, slot * 20 + 20), at);
    view.setUint32(at + 20, entry.seeders);
    view.setUint32(at + 24, entry.leechers);
    view.setUint32(at + 28, entry.baseMinutes);
    view.setFloat64(at + 32, entry.downloaded);
  }
  return out.subarray(0, n * PACKED_ENTRY_BYTES);
}

/** Writes the packed entries of every part of one bucket, merged in hash order. */
function writeMergedBucket(
  format: FullScrapeFormat,
  parts: readonly Uint8Array[],
  out: Uint8Array,
  off: number,
): number {
  const refs: [Uint8Array, number][] = [];
  for (const p of parts) {
    for (let at = 0; at < p.length; at += PACKED_ENTRY_BYTES) refs.push([p, at]);
  }
  refs.sort(([a, x], [b, y]) => {
    for (let i = 0; i < 20; i++) {
      const d = a[x + i] - b[y + i];
      if (d !== 0) return d;
    }
    return 0;
  });
  const entry: FullScrapeEntry = { seeders: 0, leechers: 0, downloaded: 0, baseMinutes: 0 };
  for (const [p, at] of refs) {
    const view = new DataView(p.buffer, p.byteOffset, p.byteLength);
    entry.seeders = view.getUint32(at + 20);
    entry.leechers = view.getUint32(at + 24);
    entry.baseMinutes = view.getUint32(at + 28);
    entry.downloaded = view.getFloat64(at + 32);
    off = writeFullScrapeEntry(format, out, off, p, at, entry);
  }
  return off;
}

/** Hands `chunk` (when not empty) to the reader, and closes the stream after the last. */
function emit(
  controller: ReadableStreamDefaultController<Uint8Array>,
  chunk: Uint8Array,
  last: boolean,
  onChunk: ((bytes: number) => void) | undefined,
  end: () => void,
): void {
  if (chunk.length > 0) {
    onChunk?.(chunk.length);
    controller.enqueue(chunk);
  }
  if (last) {
    end();
    controller.close();
  }
}

/** `out`, or a larger copy of its first `off` bytes, with room for `bytes` more after `off`. */
function room(out: Uint8Array, off: number, bytes: number): Uint8Array {
  if (off + bytes <= out.length) return out;
  const grown = new Uint8Array(off + bytes);
  grown.set(out.subarray(0, off));
  return grown;
}

/**
 * A full scrape over several workers: bucket by bucket, `pull(b)` brings every worker's packed
 * entries of bucket `b` (packBucket), merged and written in `format`. A chunk holds whole
 * buckets, at least {@link CHUNK_BYTES} of them when there are that many.
 */
export function mergedFullScrapeStream(
  format: FullScrapeFormat,
  pull: (bucket: number) => Promise<Uint8Array[]>,
  options: Pick<FullScrapeStreamOptions, "deadlineMs" | "onChunk" | "onEnd"> = {},
): ReadableStream<Uint8Array> {
  const deadline = performance.now() + (options.deadlineMs ?? 900_000);
  let bucket = 0;
  let headWritten = false;
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    options.onEnd?.();
  };
  return pulledStream(async (controller) => {
    if (performance.now() > deadline) throw new Error("full scrape deadline passed");
    let out: Uint8Array = new Uint8Array(CHUNK_BYTES);
    let off = headWritten ? 0 : writeFullScrapeHead(format, out, 0);
    headWritten = true;
    while (bucket < BUCKETS && off < CHUNK_BYTES / 2) {
      const parts = await pull(bucket++);
      const entries = parts.reduce((a, p) => a + p.length, 0) / PACKED_ENTRY_BYTES;
      out = room(out, off, ENTRY_BYTES_MAX * (entries + 1));
      off = writeMergedBucket(format, parts, out, off);
    }
    if (bucket >= BUCKETS) {
      out = room(out, off, ENTRY_BYTES_MAX);
      off = writeFullScrapeTail(format, out, off);
    }
    emit(controller, out.subarray(0, off), bucket >= BUCKETS, options.onChunk, end);
  }, end);
}

/**
 * A byte stream that produces a chunk only when the reader asks (no buffering ahead); `end`
 * runs once when it closes, fails or is cancelled.
 */
function pulledStream(
  pull: (controller: ReadableStreamDefaultController<Uint8Array>) => Promise<void>,
  end: () => void,
): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        await pull(controller);
      } catch (error) {
        end();
        throw error;
      }
    },
    cancel() {
      end();
    },
  }, { highWaterMark: 0 });
}

/** A stream of the whole swarm in `format`. */
export function fullScrapeStream(
  swarm: Swarm,
  format: FullScrapeFormat,
  options: FullScrapeStreamOptions = {},
): ReadableStream<Uint8Array> {
  const deadline = performance.now() + (options.deadlineMs ?? 900_000);
  const entry: FullScrapeEntry = { seeders: 0, leechers: 0, downloaded: 0, baseMinutes: 0 };
  const index = new BucketIndex(swarm, options.sliceTorrents ?? 16384);
  let built = false;
  let bucket = 0;
  let inBucket = 0;
  let mine: Int32Array | null = null;
  let headWritten = false;
  let lastYield = performance.now();
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    index.free();
    options.onEnd?.();
  };
  return pulledStream(pullChunk, end);

  async function pullChunk(controller: ReadableStreamDefaultController<Uint8Array>) {
    if (performance.now() > deadline) {
      end();
      controller.error(new Error("full scrape deadline passed"));
      return;
    }
    if (!built) {
      await index.build(options.onIndex);
      built = true;
      lastYield = performance.now();
    }
    // While the socket takes data quickly, pulls and the gzip transform run as one chain of
    // microtasks that never lets timers or other sockets in: break it every few milliseconds.
    if (performance.now() - lastYield > YIELD_AFTER_MS) {
      await yieldToLoop();
      lastYield = performance.now();
    }
    const out = new Uint8Array(CHUNK_BYTES);
    let off = 0;
    if (!headWritten) {
      off = writeFullScrapeHead(format, out, off);
      headWritten = true;
    }
    while (bucket < BUCKETS && off + ENTRY_BYTES_MAX <= CHUNK_BYTES) {
      mine ??= index.sorted(bucket);
      const hashes = swarm.table.hashes;
      while (inBucket < mine.length && off + ENTRY_BYTES_MAX <= CHUNK_BYTES) {
        const slot = mine[inBucket++];
        if (index.entry(bucket, slot, entry)) {
          off = writeFullScrapeEntry(format, out, off, hashes, slot * 20, entry);
        }
      }
      if (inBucket >= mine.length) {
        bucket++;
        inBucket = 0;
        mine = null;
      }
    }
    if (bucket >= BUCKETS) off = writeFullScrapeTail(format, out, off);
    emit(controller, out.subarray(0, off), bucket >= BUCKETS, options.onChunk, end);
  }
}

/** Options for {@link FullScrapes}. */
export interface FullScrapesOptions {
  /** Most full scrapes streaming at once; more are refused. */
  concurrentMax: number;
  /** Called with the bytes of each chunk produced (before compression). */
  onChunk?: (bytes: number) => void;
  /** Deadline of one stream, ms. Default 900 s (opentracker). */
  deadlineMs?: number;
}

/** The full scrapes of one tracker, bounded in number, with what they hold counted. */
export class FullScrapes {
  readonly #swarm: Swarm;
  readonly #o: FullScrapesOptions;
  #active = 0;
  #indexBytes = 0;

  constructor(swarm: Swarm, options: FullScrapesOptions) {
    this.#swarm = swarm;
    this.#o = options;
  }

  /** Streams running now. */
  get active(): number {
    return this.#active;
  }

  /** Bytes of the sort indexes the running streams hold (4 per torrent each). */
  get indexBytes(): number {
    return this.#indexBytes;
  }

  /**
   * A stream of the whole swarm in `format`, gzip-compressed when `gzip`, or null when
   * `concurrentMax` streams are running.
   */
  open(
    format: FullScrapeFormat,
    gzip: boolean,
    ended: () => void = () => {},
    merged: (() => { pull(b: number): Promise<Uint8Array[]>; end(): void }) | null = null,
  ): ReadableStream<Uint8Array> | null {
    if (this.#active >= this.#o.concurrentMax) return null;
    this.#active++;
    let index = 0;
    let stream: ReadableStream<Uint8Array>;
    if (merged !== null) {
      // Several workers: every worker's buckets, merged (their indexes count in their figures).
      const source = merged();
      stream = mergedFullScrapeStream(format, source.pull, {
        deadlineMs: this.#o.deadlineMs,
        onChunk: this.#o.onChunk,
        onEnd: () => {
          this.#active--;
          source.end();
          ended();
        },
      });
    } else {
      stream = fullScrapeStream(this.#swarm, format, {
        deadlineMs: this.#o.deadlineMs,
        onChunk: this.#o.onChunk,
        onIndex: (bytes) => {
          index = bytes;
          this.#indexBytes += bytes;
        },
        onEnd: () => {
          this.#active--;
          this.#indexBytes -= index;
          ended();
        },
      });
    }
    if (!gzip) return stream;
    // Cancelling the compressed stream cancels the source, which releases its index.
    return stream.pipeThrough(
      new CompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>,
    );
  }
}
