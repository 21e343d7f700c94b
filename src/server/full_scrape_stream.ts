/**
 * Streams a full scrape, a `tpbs` format or a statedump of the whole swarm in ascending hash
 * order without blocking the event loop: torrents are first sorted into 1,024 buckets by their
 * first 10 bits (in slices, yielding between them), then each bucket is sorted and written into
 * 64 KiB chunks as the client reads them. The stream pulls only when the client has taken the
 * previous chunk, so a slow reader holds one chunk, not the whole document; one that stalls past
 * the deadline is cut off. Like opentracker's, the result is not a global snapshot: torrents that
 * change while the stream runs may be seen before or after the change.
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
const CHUNK_BYTES = 65536;

/** Options for {@link fullScrapeStream}. */
export interface FullScrapeStreamOptions {
  /** Torrents sorted into buckets per slice. Default 16384. */
  sliceTorrents?: number;
  /** The stream errors when it is not finished after this long. Default 900 s (opentracker). */
  deadlineMs?: number;
  /** Called with the number of bytes of each chunk produced (for the `fscr` counters). */
  onChunk?: (bytes: number) => void;
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
  const buckets: number[][] = Array.from({ length: BUCKETS }, () => []);
  const entry: FullScrapeEntry = { seeders: 0, leechers: 0, downloaded: 0, baseMinutes: 0 };
  let collectFrom = 0; // next slot to bucket; -1 when done
  let bucket = 0;
  let inBucket = 0;
  let sorted = false;
  let headWritten = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (performance.now() > deadline) {
        controller.error(new Error("full scrape deadline passed"));
        return;
      }
      // Sort every torrent into its bucket, a slice at a time, yielding between slices.
      while (collectFrom >= 0) {
        const hashes = swarm.hashes;
        collectFrom = swarm.visit(collectFrom, slice, (slot) => {
          buckets[(hashes[slot * 20] << 2) | (hashes[slot * 20 + 1] >> 6)].push(slot);
        });
        await yieldToLoop();
      }
      const out = new Uint8Array(CHUNK_BYTES);
      let off = 0;
      if (!headWritten) {
        off = writeFullScrapeHead(format, out, off);
        headWritten = true;
      }
      while (bucket < BUCKETS && off + ENTRY_BYTES_MAX <= CHUNK_BYTES) {
        const slots = buckets[bucket];
        const hashes = swarm.hashes;
        if (!sorted) {
          slots.sort((a, b) => compareSlots(hashes, a, b));
          sorted = true;
        }
        while (inBucket < slots.length && off + ENTRY_BYTES_MAX <= CHUNK_BYTES) {
          const slot = slots[inBucket++];
          // A slot freed and reused since it was bucketed may now hold a hash of another bucket.
          const home = (hashes[slot * 20] << 2) | (hashes[slot * 20 + 1] >> 6);
          if (home === bucket && swarm.slotEntry(slot, entry)) {
            off = writeFullScrapeEntry(format, out, off, hashes, slot * 20, entry);
          }
        }
        if (inBucket >= slots.length) {
          buckets[bucket] = [];
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
      if (bucket >= BUCKETS) controller.close();
    },
  }, { highWaterMark: 0 });
}
