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

/** A stream of the whole swarm in `format`. */
export function fullScrapeStream(
  swarm: Swarm,
  format: FullScrapeFormat,
  options: FullScrapeStreamOptions = {},
): ReadableStream<Uint8Array> {
  const slice = options.sliceTorrents ?? 16384;
  const deadline = performance.now() + (options.deadlineMs ?? 900_000);
  const entry: FullScrapeEntry = { seeders: 0, leechers: 0, downloaded: 0, baseMinutes: 0 };
  // Counting sort by bucket into one Int32Array (no JS array per bucket, little GC work):
  // pass 1 counts torrents per bucket, pass 2 places their slots. Torrents created between the
  // passes that do not fit their bucket's count are left out; freed ones leave -1 gaps.
  const starts = new Int32Array(BUCKETS + 1);
  const fill = new Int32Array(BUCKETS);
  let slots = new Int32Array(0);
  let pass = 1;
  let cursor = 0;
  let bucket = 0;
  let inBucket = 0;
  let sorted = false;
  let headWritten = false;
  let lastYield = performance.now();
  const home = (hashes: Uint8Array, slot: number) =>
    (hashes[slot * 20] << 2) | (hashes[slot * 20 + 1] >> 6);
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    slots = new Int32Array(0);
    options.onEnd?.();
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        await pullChunk(controller);
      } catch (error) {
        end();
        throw error;
      }
    },
    cancel() {
      end();
    },
  }, { highWaterMark: 0 });

  async function pullChunk(controller: ReadableStreamDefaultController<Uint8Array>) {
    if (performance.now() > deadline) {
      end();
      controller.error(new Error("full scrape deadline passed"));
      return;
    }
    while (pass <= 2) {
      const hashes = swarm.table.hashes;
      cursor = swarm.table.visit(cursor, slice, (slot) => {
        const b = home(hashes, slot);
        if (pass === 1) starts[b + 1]++;
        else if (fill[b] < starts[b + 1] - starts[b]) slots[starts[b] + fill[b]++] = slot;
      });
      if (cursor < 0) {
        if (pass === 1) {
          for (let b = 0; b < BUCKETS; b++) starts[b + 1] += starts[b];
          slots = new Int32Array(starts[BUCKETS]).fill(-1);
          options.onIndex?.(slots.byteLength);
        }
        pass++;
        cursor = 0;
      }
      await yieldToLoop();
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
      const hashes = swarm.table.hashes;
      const mine = slots.subarray(starts[bucket], starts[bucket] + fill[bucket]);
      if (!sorted) {
        mine.sort((a, b) => compareSlots(hashes, a, b));
        sorted = true;
      }
      while (inBucket < mine.length && off + ENTRY_BYTES_MAX <= CHUNK_BYTES) {
        const slot = mine[inBucket++];
        // A slot freed and reused since it was bucketed may now hold a hash of another bucket.
        if (home(hashes, slot) === bucket && swarm.table.slotEntry(slot, entry)) {
          off = writeFullScrapeEntry(format, out, off, hashes, slot * 20, entry);
        }
      }
      if (inBucket >= mine.length) {
        bucket++;
        inBucket = 0;
        sorted = false;
      }
    }
    if (bucket >= BUCKETS) off = writeFullScrapeTail(format, out, off);
    if (off > 0) {
      options.onChunk?.(off);
      controller.enqueue(out.subarray(0, off));
    }
    if (bucket >= BUCKETS) {
      end();
      controller.close();
    }
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
  open(format: FullScrapeFormat, gzip: boolean): ReadableStream<Uint8Array> | null {
    if (this.#active >= this.#o.concurrentMax) return null;
    this.#active++;
    let index = 0;
    const stream = fullScrapeStream(this.#swarm, format, {
      deadlineMs: this.#o.deadlineMs,
      onChunk: this.#o.onChunk,
      onIndex: (bytes) => {
        index = bytes;
        this.#indexBytes += bytes;
      },
      onEnd: () => {
        this.#active--;
        this.#indexBytes -= index;
      },
    });
    if (!gzip) return stream;
    // Cancelling the compressed stream cancels the source, which releases its index.
    return stream.pipeThrough(
      new CompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>,
    );
  }
}
