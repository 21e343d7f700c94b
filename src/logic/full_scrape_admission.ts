/**
 * Who may start a full scrape now: at most `concurrentMax` at once (each holds a sort index and a
 * chunk), and, for the modest kinds, one per client per `intervalSeconds` (opentracker's modest
 * full scrapes; 0 = no limit). With several workers the main isolate holds the one table every
 * worker asks, so that a client reaching several workers still gets one full scrape per interval.
 *
 * Pure: no I/O.
 */

/** The answer to a full scrape request. */
export type Admission = "ok" | "busy" | "modest";

/** Clients remembered for the interval; the oldest are forgotten first. */
const CLIENTS_MAX = 65536;

/** The full scrapes running, and the last full scrape of each client. */
export class FullScrapeAdmission {
  readonly #concurrentMax: number;
  readonly #intervalSeconds: number;
  readonly #last = new Map<string, number>();
  #active = 0;

  constructor(concurrentMax: number, intervalSeconds: number) {
    this.#concurrentMax = concurrentMax;
    this.#intervalSeconds = intervalSeconds;
  }

  /**
   * Admits a full scrape of `client` (`modest`: a kind the interval applies to) or says why not;
   * an admitted one must be {@link release}d when its stream ends.
   */
  admit(client: string, modest: boolean, nowSeconds: number): Admission {
    const limited = modest && this.#intervalSeconds > 0;
    if (limited) {
      const last = this.#last.get(client);
      if (last !== undefined && nowSeconds - last < this.#intervalSeconds) return "modest";
    }
    if (this.#active >= this.#concurrentMax) return "busy";
    this.#active++;
    if (limited) {
      this.#last.delete(client);
      if (this.#last.size >= CLIENTS_MAX) this.#last.delete(this.#last.keys().next().value!);
      this.#last.set(client, nowSeconds);
    }
    return "ok";
  }

  /** A full scrape admitted earlier ended. */
  release(): void {
    if (this.#active > 0) this.#active--;
  }

  /** Full scrapes admitted and not yet released. */
  get active(): number {
    return this.#active;
  }
}
