/**
 * Event-loop lag: how late a 100 ms timer fires, the largest delay over the last second. A
 * tracker whose loop lags answers late, whatever its throughput; /metrics shows the figure.
 */

const TICK_MS = 100;
const WINDOW_MS = 1000;

/** Measures the event loop's lag until closed. */
export class LagMeter {
  #max = 0;
  #reported = 0;
  #windowStart = performance.now();
  #expected = performance.now() + TICK_MS;
  readonly #timer: ReturnType<typeof setInterval>;

  constructor() {
    this.#timer = setInterval(() => {
      const now = performance.now();
      this.#max = Math.max(this.#max, now - this.#expected);
      this.#expected = now + TICK_MS;
      if (now - this.#windowStart >= WINDOW_MS) {
        this.#reported = this.#max;
        this.#max = 0;
        this.#windowStart = now;
      }
    }, TICK_MS);
  }

  /** The largest lag of the last full second, in seconds. */
  get lagSeconds(): number {
    return Math.max(0, this.#reported) / 1000;
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
