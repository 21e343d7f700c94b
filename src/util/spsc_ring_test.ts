import { ok, strictEqual, throws } from "node:assert/strict";
import { ringBufferBytes, SpscRing } from "./spsc_ring.ts";

function pair(dataBytes: number) {
  const buffer = new SharedArrayBuffer(ringBufferBytes(dataBytes));
  return { producer: new SpscRing(buffer), consumer: new SpscRing(buffer) };
}

function write(ring: SpscRing, bytes: number[]): boolean {
  const at = ring.reserve(bytes.length);
  if (at < 0) return false;
  ring.data.set(bytes, at);
  return true;
}

function read(ring: SpscRing): number[] | null {
  const n = ring.peek();
  if (n < 0) return null;
  const out = [...ring.data.subarray(ring.offset, ring.offset + n)];
  ring.release();
  return out;
}

Deno.test("SpscRing passes records in order, visible only after commit", () => {
  const { producer, consumer } = pair(256);
  ok(write(producer, [1, 2, 3]));
  ok(write(producer, []));
  strictEqual(consumer.peek(), -1, "not committed yet");
  producer.commit();
  strictEqual(consumer.isEmpty(), false);
  strictEqual(read(consumer)!.join(), "1,2,3");
  strictEqual(read(consumer)!.join(), "");
  strictEqual(read(consumer), null);
  consumer.flush();
  ok(producer.isEmpty());
});

Deno.test("SpscRing refuses records when full until the consumer flushes, and wraps", () => {
  const { producer, consumer } = pair(64);
  strictEqual(producer.payloadBytesMax, 24);
  throws(() => producer.reserve(25), RangeError);
  // 20-byte payloads take 24 bytes: two fit, the third does not.
  ok(write(producer, new Array(20).fill(1)));
  ok(write(producer, new Array(20).fill(2)));
  ok(!write(producer, new Array(20).fill(3)));
  strictEqual(producer.full, 1);
  producer.commit();
  strictEqual(read(consumer)![0], 1);
  // Released but not flushed: the producer still sees the ring full.
  ok(!write(producer, new Array(20).fill(3)));
  consumer.flush();
  // 48 bytes used of 64 by the head: the next record wraps to offset 0.
  ok(write(producer, new Array(20).fill(3)));
  producer.commit();
  strictEqual(read(consumer)![0], 2);
  strictEqual(read(consumer)![0], 3);
  strictEqual(read(consumer), null);
  consumer.flush();
  // Many rounds of wrapping keep every record intact.
  for (let i = 0; i < 1000; i++) {
    const bytes = new Array(i % 21).fill(i & 255);
    ok(write(producer, bytes));
    producer.commit();
    strictEqual(read(consumer)!.join(), bytes.join());
    consumer.flush();
  }
});

Deno.test("SpscRing rejects a data area that is not a power of two", () => {
  throws(() => new SpscRing(new SharedArrayBuffer(ringBufferBytes(100))), RangeError);
  throws(() => new SpscRing(new SharedArrayBuffer(ringBufferBytes(32))), RangeError);
});

Deno.test("SpscRing between two threads: 200,000 records arrive whole and in order", async () => {
  const buffer = new SharedArrayBuffer(ringBufferBytes(4096));
  const consumer = new SpscRing(buffer);
  const count = 200_000;
  const worker = new Worker(new URL("./_test_ring_producer.ts", import.meta.url), {
    type: "module",
  });
  const done = new Promise<{ full: number }>((resolve) => {
    worker.onmessage = (e) => resolve(e.data);
  });
  worker.postMessage({ buffer, count });
  const view = new DataView(buffer, 128);
  let next = 0;
  let bad = 0;
  let idle = 0;
  try {
    while (next < count) {
      const n = consumer.peek();
      if (n < 0) {
        consumer.flush();
        // The producer is another thread: spin a little, then let this event loop breathe.
        if (++idle % 100_000 === 0) await new Promise((r) => setTimeout(r, 0));
        continue;
      }
      if (next % 64 === 0) consumer.flush();
      const at = consumer.offset;
      if (n !== 4 + (next * 7919) % 300 || view.getUint32(at, true) !== next) bad++;
      for (let b = 4; b < n; b++) if (consumer.data[at + b] !== ((next + b) & 255)) bad++;
      consumer.release();
      next++;
    }
    consumer.flush();
    const { full } = await done;
    strictEqual(bad, 0);
    ok(full > 0, "the producer met a full ring at least once");
    ok(consumer.isEmpty());
  } finally {
    worker.terminate();
  }
});
