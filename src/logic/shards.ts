/**
 * Which worker owns a torrent when the tracker runs several (`tracker.workers`): a keyed mix of
 * the info_hash's first four bytes, so the split is even for any set of torrents and nobody
 * without the seed can choose info_hashes that pile onto one worker. Four bytes suffice: real
 * info_hashes are SHA-1 (or truncated SHA-256) digests, uniform in every byte.
 *
 * The mix uses only 32-bit xor, multiply, shift and modulo, so that the kernel can compute it
 * too: {@link reuseportProgram} is the same function as a classic BPF program for the UDP
 * sockets' SO_REUSEPORT group, which then delivers each announce straight to the socket of the
 * worker that owns its torrent, and no datagram has to be handed over.
 *
 * Its seed must differ from the torrent table's: the table places keys by the low bits of a
 * hash of its own, and a shard whose keys all shared those bits would use a fraction of its
 * slots.
 *
 * Pure. Every worker builds the same map from the same seed.
 */

/** Owner of each info_hash among `count` shards. */
export class ShardMap {
  readonly #xor: number;
  readonly #mul1: number;
  readonly #mul2: number;

  constructor(seed: Uint32Array, readonly count: number) {
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`shard count ${count}`);
    this.#xor = seed[0] >>> 0;
    // Odd multipliers: a multiplication by an odd number is a bijection of the 32-bit words.
    this.#mul1 = (seed[1] | 1) >>> 0;
    this.#mul2 = (seed[2] | 1) >>> 0;
  }

  /** The shard (0 .. count-1) owning the info_hash `h[o..o+20)`. */
  of(h: Uint8Array, o = 0): number {
    if (this.count === 1) return 0;
    const w = ((h[o] << 24) | (h[o + 1] << 16) | (h[o + 2] << 8) | h[o + 3]) >>> 0;
    return mix(w, this.#xor, this.#mul1, this.#mul2) % this.count;
  }

  /** The words {@link reuseportProgram} needs. */
  get keys(): readonly [number, number, number] {
    return [this.#xor, this.#mul1, this.#mul2];
  }
}

function mix(w: number, xor: number, mul1: number, mul2: number): number {
  let v = Math.imul((w ^ xor) >>> 0, mul1) >>> 0;
  v = (v ^ (v >>> 16)) >>> 0;
  v = Math.imul(v, mul2) >>> 0;
  return (v ^ (v >>> 15)) >>> 0;
}

/** Bytes of one classic BPF instruction (struct sock_filter). */
const INSN_BYTES = 8;

// Classic BPF opcodes (linux/filter.h).
const LD_W_ABS = 0x20;
const LD_W_LEN = 0x80;
const JGE_K = 0x35;
const JEQ_K = 0x15;
const XOR_K = 0xa4;
const XOR_X = 0xac;
const MUL_K = 0x24;
const RSH_K = 0x74;
const MOD_K = 0x94;
const TAX = 0x07;
const RET_A = 0x16;
const ACTION_ANNOUNCE = 1;
const ACTION_SCRAPE = 2;

/**
 * The classic BPF program (struct sock_filter[], host byte order: little-endian machines) that
 * picks the socket of a UDP SO_REUSEPORT group whose members are the workers' sockets in worker
 * order: for an announce or a scrape (action 1 or 2, at least 36 bytes) the owner of the
 * (first) info_hash at byte 16, as {@link ShardMap.of}; for anything else (connect requests) a
 * spread by the transaction id. The kernel runs it on the UDP payload.
 */
export function reuseportProgram(map: ShardMap): Uint8Array {
  const [xor, mul1, mul2] = map.keys;
  const n = map.count;
  const insns: [number, number, number, number][] = [
    /* 0 */ [LD_W_LEN, 0, 0, 0],
    /* 1 */ [JGE_K, 0, 3, 36], // shorter than an info_hash's end: to 5
    /* 2 */ [LD_W_ABS, 0, 0, 8], // action
    /* 3 */ [JEQ_K, 4, 0, ACTION_ANNOUNCE], // to 8
    /* 4 */ [JEQ_K, 3, 0, ACTION_SCRAPE], // to 8
    /* 5 */ [LD_W_ABS, 0, 0, 12], // transaction id (a connect is 16 bytes)
    /* 6 */ [MOD_K, 0, 0, n],
    /* 7 */ [RET_A, 0, 0, 0],
    /* 8 */ [LD_W_ABS, 0, 0, 16], // the info_hash's first four bytes, big-endian
    [XOR_K, 0, 0, xor],
    [MUL_K, 0, 0, mul1],
    [TAX, 0, 0, 0],
    [RSH_K, 0, 0, 16],
    [XOR_X, 0, 0, 0],
    [MUL_K, 0, 0, mul2],
    [TAX, 0, 0, 0],
    [RSH_K, 0, 0, 15],
    [XOR_X, 0, 0, 0],
    [MOD_K, 0, 0, n],
    [RET_A, 0, 0, 0],
  ];
  const out = new Uint8Array(insns.length * INSN_BYTES);
  const v = new DataView(out.buffer);
  insns.forEach(([code, jt, jf, k], i) => {
    v.setUint16(i * INSN_BYTES, code, true);
    out[i * INSN_BYTES + 2] = jt;
    out[i * INSN_BYTES + 3] = jf;
    v.setUint32(i * INSN_BYTES + 4, k >>> 0, true);
  });
  return out;
}

/**
 * Runs {@link reuseportProgram}'s instructions on `payload` as the kernel would (a reference for
 * the tests: classic BPF semantics, 32-bit unsigned arithmetic, big-endian loads).
 */
export function runReuseportProgram(program: Uint8Array, payload: Uint8Array): number {
  const v = new DataView(program.buffer, program.byteOffset, program.byteLength);
  let a = 0;
  let x = 0;
  for (let pc = 0; pc * INSN_BYTES < program.length; pc++) {
    const at = pc * INSN_BYTES;
    const code = v.getUint16(at, true);
    const jt = program[at + 2];
    const jf = program[at + 3];
    const k = v.getUint32(at + 4, true);
    switch (code) {
      case LD_W_LEN:
        a = payload.length;
        break;
      case LD_W_ABS:
        if (k + 4 > payload.length) return 0; // an out-of-bounds load ends the program with 0
        a = new DataView(payload.buffer, payload.byteOffset).getUint32(k);
        break;
      case JGE_K:
        pc += a >= k ? jt : jf;
        break;
      case JEQ_K:
        pc += a === k ? jt : jf;
        break;
      case XOR_K:
        a = (a ^ k) >>> 0;
        break;
      case XOR_X:
        a = (a ^ x) >>> 0;
        break;
      case MUL_K:
        a = Math.imul(a, k) >>> 0;
        break;
      case RSH_K:
        a = a >>> k;
        break;
      case MOD_K:
        a = a % k;
        break;
      case TAX:
        x = a;
        break;
      case RET_A:
        return a;
      default:
        throw new Error(`unknown BPF opcode ${code}`);
    }
  }
  throw new Error("the program ended without a return");
}
