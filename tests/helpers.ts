/**
 * Test helpers: start the real entry point as a subprocess with exactly the permission flags of
 * `deno task start`, wait for its "listening on" lines, and talk to it over real sockets with raw
 * HTTP and BEP 15 clients. Every start has a matching stop; output is shown only on failure.
 */

import bencode from "bencode";
import {
  ACTION,
  readAnnounceReply,
  readU32,
  writeAnnounceRequest,
  writeConnectRequest,
  writeScrapeRequest,
} from "../src/protocol/udp.ts";
import { formatIp } from "../src/util/ip.ts";

const ROOT = new URL("../", import.meta.url);

/** The permission and unstable flags of `deno task start` (the one definition). */
export function startFlags(): string[] {
  const config = JSON.parse(Deno.readTextFileSync(new URL("deno.json", ROOT)));
  const task: string = config.tasks.start;
  const words = task.split(/\s+/);
  const from = words.indexOf("run") + 1;
  const to = words.indexOf("main.ts");
  if (from <= 0 || to < from) throw new Error(`Unexpected start task: ${task}`);
  return words.slice(from, to);
}

/** A running tracker subprocess. */
export interface TrackerProcess {
  readonly child: Deno.ChildProcess;
  readonly pid: number;
  /** Bound ports by protocol, in the order printed. */
  readonly tcp: number[];
  readonly udp: number[];
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  /**
   * Resolves when the output printed after this call (or, with `fromStart`, at all) matches
   * `pattern`; rejects after `timeoutMs`.
   */
  waitFor(pattern: RegExp, timeoutMs?: number, fromStart?: boolean): Promise<void>;
  /** Sends SIGTERM and waits for the exit; returns the exit code. */
  stop(): Promise<number>;
}

/**
 * Starts `main.ts` with `args` and waits until it printed `listeners` "listening on" lines.
 * Throws (after killing the process) when it exits first. `wrapper` is a command that execs
 * the tracker (e.g. `prlimit --nofile=128:128`), so the process is still the tracker's.
 */
export async function startTrackerProcess(
  args: string[],
  listeners: number,
  extraFlags: string[] = [],
  wrapper: string[] = [],
): Promise<TrackerProcess> {
  const command = [
    ...wrapper,
    Deno.execPath(),
    ...startFlags(),
    ...extraFlags,
    new URL("main.ts", ROOT).pathname,
    ...args,
  ];
  const child = new Deno.Command(command[0], {
    args: command.slice(1),
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let text = "";
  const waiters: { from: number; pattern: RegExp; resolve: () => void }[] = [];
  const notify = () => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i].pattern.test(text.slice(waiters[i].from))) {
        waiters[i].resolve();
        waiters.splice(i, 1);
      }
    }
  };
  const tcp: number[] = [];
  const udp: number[] = [];
  const collect = async (stream: ReadableStream<Uint8Array>, onLine?: (l: string) => void) => {
    const decoder = new TextDecoder();
    let pending = "";
    for await (const chunk of stream) {
      const s = decoder.decode(chunk, { stream: true });
      text += s;
      pending += s;
      notify();
      let nl;
      while ((nl = pending.indexOf("\n")) >= 0) {
        onLine?.(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
      }
    }
  };
  let seen = 0;
  let resolveReady!: () => void;
  const ready = new Promise<void>((r) => (resolveReady = r));
  const stdoutDone = collect(child.stdout, (line) => {
    const m = line.match(/^listening on (tcp|udp) (.*):(\d+)$/);
    if (!m) return;
    (m[1] === "tcp" ? tcp : udp).push(Number(m[3]));
    if (++seen === listeners) resolveReady();
  });
  const stderrDone = collect(child.stderr);
  const exited = child.status;
  const first = await Promise.race([ready.then(() => "ready"), exited.then(() => "exited")]);
  const proc: TrackerProcess = {
    child,
    pid: child.pid,
    tcp,
    udp,
    output: () => text,
    waitFor(pattern, timeoutMs = 10_000, fromStart = false) {
      return new Promise<void>((resolve, reject) => {
        const from = fromStart ? 0 : text.length;
        if (fromStart && pattern.test(text)) return resolve();
        const timer = setTimeout(
          () => reject(new Error(`no output matching ${pattern} within ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiters.push({
          from,
          pattern,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      });
    },
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      const status = await exited;
      await Promise.all([stdoutDone, stderrDone]);
      return status.code;
    },
  };
  if (first !== "ready") {
    await proc.stop();
    throw new Error(`Tracker exited before listening:\n${text}`);
  }
  return proc;
}

/** Runs `fn` with a started tracker, always stopping it; prints its output when `fn` fails. */
export async function withTracker(
  args: string[],
  listeners: number,
  fn: (t: TrackerProcess) => Promise<void>,
  extraFlags: string[] = [],
  wrapper: string[] = [],
): Promise<void> {
  const t = await startTrackerProcess(args, listeners, extraFlags, wrapper);
  try {
    await fn(t);
  } catch (error) {
    console.error(`--- tracker output ---\n${t.output()}`);
    throw error;
  } finally {
    await t.stop();
  }
}

/**
 * Writes `conf` (text, or a function of the directory) to `opentracker.conf` in a fresh
 * directory, starts the tracker with it on 127.0.0.1 TCP and UDP port 0 (read and write granted
 * for that directory only), runs `fn`, and always stops the tracker and removes the directory.
 * `listeners` counts the sockets to wait for when `conf` binds more of its own (before ours).
 */
export async function withConfiguredTracker(
  conf: string | ((dir: string) => string),
  fn: (t: TrackerProcess, dir: string) => Promise<void>,
  options: {
    flags?: string[];
    wrapper?: string[];
    listeners?: number;
    /** More command-line arguments after `-f` (e.g. `-l`), given the directory. */
    args?: (dir: string) => string[];
  } = {},
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/opentracker.conf`;
  const text = typeof conf === "string" ? conf : conf(dir);
  await Deno.writeTextFile(path, text + "\nlisten.tcp 127.0.0.1:0\nlisten.udp 127.0.0.1:0\n");
  try {
    await withTracker(
      ["-f", path, ...(options.args?.(dir) ?? [])],
      options.listeners ?? 2,
      (t) => fn(t, dir),
      [`--allow-read=${dir}`, `--allow-write=${dir}`, ...(options.flags ?? [])],
      options.wrapper,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * The value of one /metrics series of the tracker on `host`:`port`, `series` written as the
 * exposition writes it (`name` or `name{label="value"}`); throws when it is absent.
 */
export async function metric(port: number, series: string, host = "127.0.0.1"): Promise<number> {
  const res = await httpGet(host, port, "/metrics");
  for (const line of latin1(res.body).split("\n")) {
    if (line.startsWith(series + " ")) return Number(line.slice(series.length + 1));
  }
  throw new Error(`no metric ${series}`);
}

// ------------------------------------------------------------------ raw HTTP

/** A parsed HTTP response. */
export interface RawResponse {
  status: number;
  statusLine: string;
  headers: Map<string, string>;
  body: Uint8Array;
}

/** Sends `request` bytes as-is on a new connection and reads the response until close. */
export async function rawHttp(
  host: string,
  port: number,
  request: string | Uint8Array,
  timeoutMs = 5000,
): Promise<RawResponse> {
  const conn = await Deno.connect({ hostname: host, port });
  const timer = setTimeout(() => conn.close(), timeoutMs);
  try {
    const bytes = typeof request === "string" ? latin1Bytes(request) : request;
    await conn.write(bytes).catch(() => 0);
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(65536);
    while (true) {
      let n: number | null;
      try {
        n = await conn.read(buf);
      } catch {
        break;
      }
      if (n === null) break;
      chunks.push(buf.slice(0, n));
      const all = concat(chunks);
      const parsed = parseResponse(all);
      if (parsed !== null) return parsed;
    }
    // At EOF a shorter body is accepted (a reply to HEAD has none).
    const parsed = parseResponse(concat(chunks), true);
    if (parsed === null) throw new Error(`Incomplete HTTP response: ${latin1(concat(chunks))}`);
    return parsed;
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed by the timer or the peer */ }
  }
}

/** GET `target` with `Connection: close`. */
export function httpGet(host: string, port: number, target: string): Promise<RawResponse> {
  return rawHttp(
    host,
    port,
    `GET ${target} HTTP/1.1\r\nHost: tracker\r\nConnection: close\r\n\r\n`,
  );
}

function parseResponse(all: Uint8Array, atEof = false): RawResponse | null {
  const text = latin1(all);
  const end = text.indexOf("\r\n\r\n");
  if (end < 0) return null;
  const lines = text.slice(0, end).split("\r\n");
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const length = Number(headers.get("content-length") ?? NaN);
  const body = all.slice(end + 4);
  const status = Number(lines[0].split(" ")[1]);
  if (!Number.isNaN(length) && body.length >= length) {
    return { status, statusLine: lines[0], headers, body: body.slice(0, length) };
  }
  return atEof ? { status, statusLine: lines[0], headers, body } : null;
}

export function latin1(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
}

export function latin1Bytes(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/** Percent-encodes every byte (binary-safe, as clients do for info_hash). */
export function urlencodeBytes(b: Uint8Array): string {
  return [...b].map((x) => "%" + x.toString(16).padStart(2, "0")).join("");
}

/** Decodes a bencoded body with npm `bencode`, independently of our encoder. */
// deno-lint-ignore no-explicit-any
export function bdecode(body: Uint8Array): any {
  return bencode.decode(body);
}

// ------------------------------------------------------------------ announce clients

/** One announce, protocol-neutral. */
export interface AnnounceParams {
  hash: Uint8Array;
  port: number;
  left?: number;
  event?: "completed" | "started" | "stopped";
  numwant?: number;
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
      let q = `info_hash=${urlencodeBytes(p.hash)}&peer_id=-DT0001-abcdefghijkl&port=${p.port}` +
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
    if (reply.length !== 16 || readU32(reply, 0) !== ACTION.connect) throw new Error("bad connect");
    id = reply.slice(8, 16);
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
      if (readU32(reply, 0) !== ACTION.scrape) throw new Error("bad scrape reply");
      return hashes.map((_, i) => ({
        complete: readU32(reply, 8 + 12 * i),
        downloaded: readU32(reply, 12 + 12 * i),
        incomplete: readU32(reply, 16 + 12 * i),
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

/** A port free for both TCP and UDP on 127.0.0.1 right now (for trackers that need a fixed one). */
export function freePort(): number {
  for (let attempt = 0; attempt < 50; attempt++) {
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (l.addr as Deno.NetAddr).port;
    l.close();
    try {
      Deno.listenDatagram({ hostname: "127.0.0.1", port, transport: "udp" }).close();
      return port;
    } catch { /* taken for UDP: try another */ }
  }
  throw new Error("no free port");
}

/** Resolves once a TCP connection to 127.0.0.1:`port` succeeds; throws after `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`nothing listens on ${port}`);
      await new Promise((r) => setTimeout(r, 50)); // retry pacing while a process starts
    }
  }
}
