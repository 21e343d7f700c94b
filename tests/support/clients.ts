/**
 * Protocol-neutral announce and scrape clients for the tests: one over HTTP, one over BEP 15 UDP
 * (with the codec of src/protocol/udp.ts and retransmission as real clients do).
 */

import {
  readAnnounceReply,
  readConnectReply,
  readScrapeReply,
  readU32,
  writeAnnounceRequest,
  writeConnectRequest,
  writeScrapeRequest,
} from "../../src/protocol/udp.ts";
import { formatIp } from "../../src/util/ip.ts";
import { bdecode, httpGet, latin1, urlencodeBytes } from "./http.ts";

/** One announce, protocol-neutral. */
export interface AnnounceParams {
  hash: Uint8Array;
  port: number;
  left?: number;
  event?: "completed" | "started" | "stopped";
  numwant?: number;
  /** 20 ASCII characters; default `-DT0001-abcdefghijkl`. */
  peerId?: string;
}

/** A protocol-neutral announce reply; peers as `ip:port` text. */
export interface AnnounceOutcome {
  complete: number;
  incomplete: number;
  downloaded?: number;
  interval: number;
  peers: string[];
}

/** Counts of a scraped torrent, or null when the tracker omitted it. */
export interface ScrapeOutcome {
  complete: number;
  incomplete: number;
  downloaded: number;
}

/** A client that speaks one protocol to one tracker address. */
export interface TrackerClient {
  readonly name: string;
  announce(p: AnnounceParams): Promise<AnnounceOutcome>;
  scrape(hashes: Uint8Array[]): Promise<(ScrapeOutcome | null)[]>;
  close(): void;
}

function peersFrom(bytes: Uint8Array | undefined, size: number): string[] {
  const out: string[] = [];
  if (!bytes) return out;
  for (let i = 0; i + size <= bytes.length; i += size) {
    const ip = new Uint8Array(16);
    if (size === 6) {
      ip[10] = ip[11] = 0xff;
      ip.set(bytes.subarray(i, i + 4), 12);
    } else {
      ip.set(bytes.subarray(i, i + 16), 0);
    }
    const port = (bytes[i + size - 2] << 8) | bytes[i + size - 1];
    out.push(`${formatIp(ip)}:${port}`);
  }
  return out;
}

/** HTTP client for `host:port`. */
export function httpClient(host: string, port: number): TrackerClient {
  const hostname = host.includes(":") ? `[${host}]` : host;
  return {
    name: `http ${hostname}`,
    async announce(p) {
      const peerId = p.peerId ?? "-DT0001-abcdefghijkl";
      let q =
        `info_hash=${urlencodeBytes(p.hash)}&peer_id=${
          urlencodeBytes(new TextEncoder().encode(peerId))
        }&port=${p.port}` +
        `&uploaded=0&downloaded=0&left=${p.left ?? 1}&compact=1`;
      if (p.event) q += `&event=${p.event}`;
      if (p.numwant !== undefined) q += `&numwant=${p.numwant}`;
      const res = await httpGet(host, port, `/announce?${q}`);
      if (res.status !== 200) throw new Error(`announce: HTTP ${res.status} ${latin1(res.body)}`);
      const d = bdecode(res.body);
      if (d["failure reason"]) throw new Error(`announce failed: ${latin1(d["failure reason"])}`);
      return {
        complete: d.complete,
        incomplete: d.incomplete,
        downloaded: d.downloaded,
        interval: d.interval,
        peers: [...peersFrom(d.peers, 6), ...peersFrom(d.peers6, 18)],
      };
    },
    async scrape(hashes) {
      const q = hashes.map((h) => `info_hash=${urlencodeBytes(h)}`).join("&");
      const res = await httpGet(host, port, `/scrape?${q}`);
      if (res.status !== 200) throw new Error(`scrape: HTTP ${res.status}`);
      const files = bdecode(res.body).files;
      return hashes.map((h) => lookupBinaryKey(files, h) ?? null);
    },
    close() {},
  };
}

/**
 * npm bencode turns dictionary keys into UTF-8 text, or into hex when they are not valid UTF-8:
 * find the entry of a raw 20-byte hash either way.
 */
// deno-lint-ignore no-explicit-any
export function lookupBinaryKey(dict: any, h: Uint8Array): ScrapeOutcome | undefined {
  const hex = [...h].map((b) => b.toString(16).padStart(2, "0")).join("");
  for (const [k, v] of Object.entries(dict)) {
    if (k === hex) return v as ScrapeOutcome;
    const bytes = new TextEncoder().encode(k);
    if (bytes.length === 20 && bytes.every((b, i) => b === h[i])) return v as ScrapeOutcome;
  }
  return undefined;
}

/** UDP (BEP 15) client for `host:port`; connects lazily. */
export function udpClient(host: string, port: number): TrackerClient {
  const local = host.includes(":") ? "::1" : "127.0.0.1";
  const sock = Deno.listenDatagram({ hostname: local, port: 0, transport: "udp" });
  const target: Deno.NetAddr = { transport: "udp", hostname: host, port };
  let id: Uint8Array | null = null;
  let tx = 1;
  const buf = new Uint8Array(8192);
  // UDP may drop datagrams (a full socket buffer after a burst): retransmit as BEP 15 clients
  // do, and skip replies to earlier attempts by their transaction id. A tracker that stopped
  // answering still fails every attempt.
  const exchange = async (req: Uint8Array): Promise<Uint8Array> => {
    const txid = readU32(req, 12);
    for (let attempt = 1;; attempt++) {
      await sock.send(req, target);
      const deadline = Date.now() + 2000;
      try {
        while (true) {
          const reply = await receiveWithTimeout(sock, buf, Math.max(1, deadline - Date.now()));
          if (reply.length >= 8 && readU32(reply, 4) === txid) return reply;
        }
      } catch (error) {
        if (attempt === 3) throw error;
      }
    }
  };
  const connect = async () => {
    const req = new Uint8Array(16);
    writeConnectRequest(req, tx++);
    const reply = await exchange(req);
    id = readConnectReply(reply, reply.length).connectionId;
    return id;
  };
  return {
    name: `udp ${host}`,
    async announce(p) {
      const cid = id ?? await connect();
      const req = new Uint8Array(98);
      const events = { completed: 1, started: 2, stopped: 3 } as const;
      writeAnnounceRequest(req, {
        connectionId: cid,
        transactionId: tx++,
        infoHash: p.hash,
        port: p.port,
        left: p.left ?? 1,
        event: p.event ? events[p.event] : 0,
        numwant: p.numwant ?? 50,
        peerId: new TextEncoder().encode(p.peerId ?? "-DT0001-abcdefghijkl"),
      });
      const reply = await exchange(req);
      const r = readAnnounceReply(reply, reply.length);
      return {
        complete: r.seeders,
        incomplete: r.leechers,
        interval: r.interval,
        peers: peersFrom(r.peers, host.includes(":") ? 18 : 6),
      };
    },
    async scrape(hashes) {
      const cid = id ?? await connect();
      const all = new Uint8Array(20 * hashes.length);
      hashes.forEach((h, i) => all.set(h, 20 * i));
      const req = new Uint8Array(16 + all.length);
      writeScrapeRequest(req, cid, tx++, all);
      const reply = await exchange(req);
      return readScrapeReply(reply, reply.length).entries.map((e) => ({
        complete: e.seeders,
        downloaded: e.completed,
        incomplete: e.leechers,
      }));
    },
    close() {
      sock.close();
    },
  };
}

/** Receives one datagram or throws after `timeoutMs`. */
export async function receiveWithTimeout(
  sock: Deno.DatagramConn,
  buf: Uint8Array,
  timeoutMs: number,
): Promise<Uint8Array> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no UDP reply within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const [data] = await Promise.race([sock.receive(buf), timeout]);
    return data.slice();
  } finally {
    clearTimeout(timer);
  }
}

/** A random 20-byte hash. */
export function randomHash(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(20));
}
