/**
 * The live inputs of closed mode: SIGHUP reloads of the list and the two FIFOs of changesets
 * whose lines add hashes to or delete them from the list until the next reload. A FIFO is opened read-write, so it never blocks the event loop and never sees
 * end-of-file when writers come and go; its lines are read as they arrive.
 */

import { readHashLine, toHex } from "../util/hex.ts";

/** Longest FIFO line kept; longer lines cannot be a hash line and are skipped whole. */
const FIFO_LINE_BYTES_MAX = 4096;

/**
 * Makes sure `path` is a FIFO: creates it with `mkfifo` when missing (needs --allow-run=mkfifo),
 * refuses any other kind of file. Returns an error message or null.
 */
export async function ensureFifo(path: string): Promise<string | null> {
  try {
    const info = await Deno.stat(path);
    if (info.isFifo) return null;
    return `Found Non-FIFO file at ${path}. Please remove it and restart opentracker.`;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) {
      return `Cannot inspect ${path}: ${error instanceof Error ? error.message : String(error)}`;
    }
  }
  if (Deno.permissions.querySync({ name: "run", command: "mkfifo" }).state !== "granted") {
    return `FIFO ${path} does not exist: create it with "mkfifo ${path}" (or grant --allow-run=mkfifo)`;
  }
  const out = await new Deno.Command("mkfifo", { args: ["-m", "0600", path], stderr: "piped" })
    .output();
  return out.success
    ? null
    : `mkfifo ${path} failed: ${new TextDecoder().decode(out.stderr).trim()}`;
}

/** A running FIFO reader. */
export interface FifoReader {
  /** Stops reading and closes the FIFO. */
  close(): void;
  /** Settles when the read loop ended. */
  readonly done: Promise<void>;
}

/**
 * Reads hash lines from the FIFO at `path` until closed, calling `onHash` with each hash
 * (a reused 20-byte buffer). Other lines are ignored.
 */
export async function readFifo(
  path: string,
  onHash: (hash: Uint8Array) => void,
  log: (line: string) => void,
): Promise<FifoReader> {
  const file = await Deno.open(path, { read: true, write: true });
  let closed = false;
  const done = (async () => {
    const buf = new Uint8Array(65536);
    const line = new Uint8Array(FIFO_LINE_BYTES_MAX);
    const hash = new Uint8Array(20);
    let len = 0;
    let overlong = false;
    while (!closed) {
      let n: number | null;
      try {
        n = await file.read(buf);
      } catch (error) {
        if (!closed) {
          log(`Reading ${path} failed: ${error instanceof Error ? error.message : error}`);
        }
        return;
      }
      if (n === null) return;
      for (let i = 0; i < n; i++) {
        const c = buf[i];
        if (c === 10) {
          if (!overlong && readHashLine(line, 0, len, hash)) onHash(hash);
          len = 0;
          overlong = false;
        } else if (len < FIFO_LINE_BYTES_MAX) {
          line[len++] = c;
        } else {
          overlong = true;
        }
      }
    }
  })();
  return {
    close() {
      if (closed) return;
      closed = true;
      try {
        file.close();
      } catch { /* already closed */ }
    },
    done,
  };
}

/** A change a FIFO line asks for. */
export type AccessChange = "add" | "delete";

/**
 * Reads the changeset FIFOs `fifoAdd` and `fifoDelete` (either may be null) while the tracker
 * runs, calling `apply` for each hash and logging one line per changeset line as opentracker
 * prints them. Returns the readers (null where a FIFO could not be opened, which is logged), to
 * be closed at stop.
 */
export function feedFifos(
  fifos: { fifoAdd: string | null; fifoDelete: string | null },
  apply: (change: AccessChange, hash: Uint8Array) => void,
  log: (line: string) => void,
): Promise<FifoReader | null>[] {
  const readers: Promise<FifoReader | null>[] = [];
  const feed = (path: string | null, change: AccessChange, key: string) => {
    if (path === null) return;
    readers.push(
      readFifo(path, (h) => {
        apply(change, h);
        log(`${key}: ${toHex(h, 0, 20, true)}`);
      }, log).catch((error) => {
        log(`${key}: cannot read ${path}: ${error instanceof Error ? error.message : error}`);
        return null;
      }),
    );
  };
  feed(fifos.fifoAdd, "add", "access.fifo_add");
  feed(fifos.fifoDelete, "delete", "access.fifo_delete");
  return readers;
}

/** Closes the readers {@link feedFifos} returned and waits until their loops ended. */
export async function closeFifos(readers: Promise<FifoReader | null>[]): Promise<void> {
  await Promise.all(readers.map(async (r) => {
    const reader = await r;
    reader?.close();
    await reader?.done;
  }));
}
