/**
 * A single-producer single-consumer ring of variable-length records in a `SharedArrayBuffer`:
 * how one worker hands requests to another without `postMessage`, structured clone or any
 * allocation per record. One thread only ever writes records (`reserve`, then `commit`), one
 * other thread only ever reads them (`peek`, then `release`).
 *
 * Layout: the producer's head and the consumer's tail, each a byte count that only grows
 * (mod 2^32), on separate 64-byte lines so the two threads do not write the same cache line;
 * then the data area, a power of two bytes. A record is a u32 length (little-endian) and the
 * payload, padded to 4 bytes; a record that would cross the end of the area is preceded by a
 * wrap mark and starts at offset 0, so every payload is contiguous. The producer publishes a
 * batch with one `Atomics.store` of the head; the plain writes before it are visible to the
 * consumer once its `Atomics.load` sees the new head (JavaScript's memory model orders them).
 *
 * Pure: no Deno APIs, no I/O; waking a sleeping consumer is the caller's business.
 */

const HEAD = 0; // Int32 index of the producer's head
const TAIL = 16; // Int32 index of the consumer's tail (byte 64)
const HEADER_BYTES = 128;
const WRAP = 0xffffffff;

/** Bytes of the shared buffer of a ring whose data area holds `dataBytes` (a power of two). */
export function ringBufferBytes(dataBytes: number): number {
  return HEADER_BYTES + dataBytes;
}

/** One end of a ring; make a producer and a consumer over the same buffer. */
export class SpscRing {
  /** The data area; a record's payload is `data[offset, offset + length)`. */
  readonly data: Uint8Array;
  readonly #meta: Int32Array;
  readonly #lengths: DataView;
  readonly #mask: number;
  /** The producer's head not yet published, or the consumer's tail not yet released. */
  #cursor: number;
  /** Where the record being read or written starts (its length word). */
  #at = 0;
  /** Records refused because the ring was full (producer side). */
  full = 0;

  /**
   * Opens one end of the ring in `buffer` (of {@link ringBufferBytes} bytes). A new buffer is
   * zero-filled, which is an empty ring.
   */
  constructor(readonly buffer: SharedArrayBuffer) {
    const dataBytes = buffer.byteLength - HEADER_BYTES;
    if (dataBytes < 64 || (dataBytes & (dataBytes - 1)) !== 0) {
      throw new RangeError(`ring data area must be a power of two ≥ 64 bytes, not ${dataBytes}`);
    }
    this.#meta = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    this.data = new Uint8Array(buffer, HEADER_BYTES, dataBytes);
    this.#lengths = new DataView(buffer, HEADER_BYTES, dataBytes);
    this.#mask = dataBytes - 1;
    this.#cursor = 0;
  }

  /** Largest payload a record may have. */
  get payloadBytesMax(): number {
    return (this.data.length >>> 1) - 8;
  }

  // ---------------------------------------------------------------- producer

  /**
   * Reserves a record of `length` bytes and returns the offset of its payload in {@link data},
   * or -1 when the ring has no room (counted in {@link full}). Write the payload, then reserve
   * more or {@link commit}.
   */
  reserve(length: number): number {
    if (length > this.payloadBytesMax) throw new RangeError(`record of ${length} bytes`);
    const size = this.data.length;
    const need = 4 + ((length + 3) & ~3);
    let head = this.#cursor;
    const used = (head - Atomics.load(this.#meta, TAIL)) >>> 0;
    let at = head & this.#mask;
    const skip = at + need > size ? size - at : 0;
    if (used + skip + need > size) {
      this.full++;
      return -1;
    }
    if (skip > 0) {
      if (skip >= 4) this.#lengths.setUint32(at, WRAP, true);
      head = (head + skip) >>> 0;
      at = 0;
    }
    this.#lengths.setUint32(at, length, true);
    this.#cursor = (head + need) >>> 0;
    return at + 4;
  }

  /** Publishes every record reserved since the last commit. */
  commit(): void {
    Atomics.store(this.#meta, HEAD, this.#cursor | 0);
  }

  // ---------------------------------------------------------------- consumer

  /**
   * The length of the next record, with its payload at {@link offset}, or -1 when the ring is
   * empty. The record stays until {@link release}.
   */
  peek(): number {
    const head = Atomics.load(this.#meta, HEAD) >>> 0;
    let tail = this.#cursor;
    if (tail === head) return -1;
    let at = tail & this.#mask;
    const size = this.data.length;
    if (size - at < 4 || this.#lengths.getUint32(at, true) === WRAP) {
      tail = (tail + (size - at)) >>> 0;
      this.#cursor = tail;
      if (tail === head) return -1;
      at = 0;
    }
    this.#at = at;
    return this.#lengths.getUint32(at, true);
  }

  /** Payload offset of the record {@link peek} returned. */
  get offset(): number {
    return this.#at + 4;
  }

  /** Drops the record {@link peek} returned; the producer sees the room after {@link flush}. */
  release(): void {
    const length = this.#lengths.getUint32(this.#at, true);
    this.#cursor = (this.#cursor + 4 + ((length + 3) & ~3)) >>> 0;
  }

  /** Gives the released room back to the producer. */
  flush(): void {
    Atomics.store(this.#meta, TAIL, this.#cursor | 0);
  }

  /** True when no published record is waiting (either end may ask). */
  isEmpty(): boolean {
    return (Atomics.load(this.#meta, HEAD) >>> 0) === (Atomics.load(this.#meta, TAIL) >>> 0);
  }
}
