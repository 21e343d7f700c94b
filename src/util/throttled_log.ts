/** The tracker's period for such lines: a flood costs a line every 10 s. */
export const THROTTLED_LOG_PERIOD_MS = 10_000;

/**
 * A log line for something that may recur at the rate a stranger chooses (failed accepts, broken
 * connections): at most one line per period, each saying how many times it happened since the
 * line before, so a flood costs a line every few seconds instead of one per event, and the first
 * occurrence is still logged at once.
 */
export class ThrottledLog {
  readonly #periodMs: number;
  readonly #log: (line: string) => void;
  #loggedAtMs = -Infinity;
  /** Occurrences since the last line, not logged yet. */
  #pending = 0;

  /** Lines go to `log`, at most one per `periodMs` (default {@link THROTTLED_LOG_PERIOD_MS}). */
  constructor(log: (line: string) => void, periodMs = THROTTLED_LOG_PERIOD_MS) {
    this.#periodMs = periodMs;
    this.#log = log;
  }

  /**
   * One occurrence at `nowMs`. Unless a line was logged less than a period ago, logs
   * `line(n)`, `n` counting the occurrences since the last line (this one included). Returns
   * whether it logged.
   */
  report(nowMs: number, line: (n: number) => string): boolean {
    this.#pending++;
    if (nowMs - this.#loggedAtMs < this.#periodMs) return false;
    this.#loggedAtMs = nowMs;
    const n = this.#pending;
    this.#pending = 0;
    this.#log(line(n));
    return true;
  }

  /**
   * {@link report} of a failure of `what`, now: "`what` failed (n times since the last report):
   * " and the error's stack, or with `messageOnly` its message (for errors of the system, whose
   * stack says nothing).
   */
  failed(what: string, error: unknown, messageOnly = false): boolean {
    return this.report(performance.now(), (n) => {
      const why = error instanceof Error ? (messageOnly ? error.message : error.stack) : error;
      return `${what} failed${timesSince(n)}: ${why}`;
    });
  }
}

/** What a line says of the `n` occurrences it stands for (this one included): "" for one. */
export function timesSince(n: number): string {
  return n > 1 ? ` (${n} times since the last report)` : "";
}
