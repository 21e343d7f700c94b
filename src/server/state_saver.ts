/**
 * Writes the state file: beside its final path, fsynced and renamed over it, so a crash
 * mid-write leaves the previous file intact. One write at a time; a save asked for during a
 * write runs once after it. Periodic saves run every `intervalMinutes`; SIGUSR2 and shutdown
 * ask for one. A damaged file found at start is moved aside so that the next save cannot
 * overwrite the only copy of what could not be read.
 */

/** Options for {@link StateSaver}. */
export interface StateSaverOptions {
  path: string;
  /** The file's content, chunk by chunk; each chunk is written before the next is asked for. */
  chunks: () => AsyncIterable<Uint8Array>;
  /** Describes what the last {@link chunks} wrote (e.g. "3 torrents and 5 peers"). */
  describe: () => string;
  /** Minutes between periodic saves. */
  intervalMinutes: number;
  log: (line: string) => void;
}

/** Writes `chunks` to `path` atomically; returns the bytes written. */
export async function writeFileAtomically(
  path: string,
  chunks: AsyncIterable<Uint8Array>,
): Promise<number> {
  const tmp = `${path}.tmp`;
  const file = await Deno.open(tmp, { write: true, create: true, truncate: true, mode: 0o600 });
  let bytes = 0;
  try {
    for await (const chunk of chunks) {
      let off = 0;
      while (off < chunk.length) off += await file.write(chunk.subarray(off));
      bytes += chunk.length;
    }
    await file.sync();
  } finally {
    file.close();
  }
  await Deno.rename(tmp, path);
  return bytes;
}

/** Moves the damaged file at `path` aside; returns the log line saying so. */
export function setAside(path: string, damage: string, nowSeconds: number): string {
  const aside = `${path}.damaged-${Math.floor(nowSeconds)}`;
  try {
    Deno.renameSync(path, aside);
    return `State file ${path} is damaged: ${damage}; kept what was read before it, moved the file to ${aside}`;
  } catch (error) {
    return `State file ${path} is damaged: ${damage}; could not move it aside: ${
      (error as Error).message
    }`;
  }
}

/** Periodic and requested saves of one state file. */
export class StateSaver {
  readonly #o: StateSaverOptions;
  readonly #timer: ReturnType<typeof setInterval>;
  #saving: Promise<void> | null = null;
  #again = false;

  constructor(options: StateSaverOptions) {
    this.#o = options;
    this.#timer = setInterval(() => void this.save(), options.intervalMinutes * 60_000);
  }

  /** Writes the file now, or once more after the write in progress. */
  save(): Promise<void> {
    if (this.#saving !== null) {
      this.#again = true;
      return this.#saving;
    }
    this.#saving = (async () => {
      do {
        this.#again = false;
        await this.#saveOnce();
      } while (this.#again);
    })().finally(() => {
      this.#saving = null;
    });
    return this.#saving;
  }

  /** Stops the periodic saves without writing (a start that failed). */
  cancel(): void {
    clearInterval(this.#timer);
  }

  /** Stops the periodic saves, waits for a write in progress, then writes the final state. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    if (this.#saving !== null) await this.#saving;
    await this.#saveOnce();
  }

  async #saveOnce(): Promise<void> {
    const o = this.#o;
    const started = performance.now();
    try {
      const bytes = await writeFileAtomically(o.path, o.chunks());
      o.log(
        `Saved ${o.describe()} to ${o.path} (${bytes} bytes) in ` +
          `${(performance.now() - started).toFixed(0)} ms`,
      );
    } catch (error) {
      o.log(`Saving ${o.path} failed: ${error instanceof Error ? error.message : error}`);
    }
  }
}
