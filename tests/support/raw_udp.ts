/**
 * IPv4 UDP datagrams with a source port of the test's choosing (0 included, which no socket can
 * send from), through a raw socket (Deno FFI to the C library; needs root). Loopback only.
 */

const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  sendto: {
    parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"],
    result: "isize",
  },
  close: { parameters: ["i32"], result: "i32" },
} as const;

let libc: Deno.DynamicLibrary<typeof SYMBOLS>["symbols"] | null = null;

const AF_INET = 2;
const SOCK_RAW = 3;
/** The caller writes the IP header; the kernel fills in its checksum and total length. */
const IPPROTO_RAW = 255;

/** A raw IPv4 socket that sends UDP datagrams to 127.0.0.1 from 127.0.0.1. */
export class RawUdp {
  readonly #fd: number;
  readonly #packet = new Uint8Array(20 + 8 + 1500);
  readonly #to = new Uint8Array(16);
  #id = 1;

  constructor() {
    libc ??= Deno.dlopen("libc.so.6", SYMBOLS).symbols;
    this.#fd = libc.socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
    if (this.#fd < 0) throw new Error("raw socket refused (needs root)");
    this.#to.set([AF_INET, 0, 0, 0, 127, 0, 0, 1]);
  }

  /** Sends `payload` from 127.0.0.1:`sourcePort` to 127.0.0.1:`port`, at once. */
  send(sourcePort: number, port: number, payload: Uint8Array): void {
    const p = this.#packet;
    const v = new DataView(p.buffer);
    const length = 28 + payload.length;
    p.fill(0, 0, 28);
    p[0] = 0x45; // IPv4, 20-byte header
    v.setUint16(2, length);
    v.setUint16(4, this.#id++ & 0xffff);
    p[8] = 64; // TTL
    p[9] = 17; // UDP
    p.set([127, 0, 0, 1, 127, 0, 0, 1], 12);
    v.setUint16(20, sourcePort);
    v.setUint16(22, port);
    v.setUint16(24, 8 + payload.length);
    // UDP checksum 0: none (allowed over IPv4).
    p.set(payload, 28);
    const n = libc!.sendto(this.#fd, p, BigInt(length), 0, this.#to, 16);
    if (Number(n) !== length) throw new Error(`raw send failed (${n})`);
  }

  close(): void {
    libc!.close(this.#fd);
  }
}
