/**
 * Gatherings across workers, kept by the main isolate (src/cluster.ts): a worker (or the main
 * isolate) asks for something every worker holds a share of (the figures behind /stats and
 * /metrics, a scan, a full scrape's bucket), every worker is asked for its share, and the asker
 * gets all the shares in worker order once the last came.
 *
 * The workers restore side by side and bind their sockets one after another, and the first
 * serves before the last has started: a request that reaches it then must not ask a worker that
 * has no tracker yet (such a worker would have nothing to answer with, and the request would
 * wait for ever). Gatherings asked for before {@link open} wait for it, which the coordinator
 * calls once every worker started.
 */

/** Sends worker `index` the request for its share `what` (with `arg`) of gathering `id`. */
export type AskWorker<W, A> = (index: number, id: number, what: W, arg: A, byMain: boolean) => void;

/** The gatherings of one tracker: `W` names what is gathered, `A` is its argument. */
export class Gatherings<W, A> {
  readonly #count: number;
  readonly #ask: AskWorker<W, A>;
  #nextId = 1;
  readonly #open = new Map<
    number,
    { done: (data: unknown[]) => void; data: unknown[]; left: number }
  >();
  /** Asked for before every worker started (null once they have). */
  #held: (() => void)[] | null = [];

  constructor(count: number, ask: AskWorker<W, A>) {
    this.#count = count;
    this.#ask = ask;
  }

  /**
   * Asks every worker for its share of `what`; `done` gets the shares in worker order. Before
   * {@link open}, the request waits.
   */
  start(what: W, arg: A, done: (data: unknown[]) => void, byMain = false): void {
    if (this.#held !== null) {
      this.#held.push(() => this.start(what, arg, done, byMain));
      return;
    }
    const id = this.#nextId++;
    this.#open.set(id, { done, data: new Array(this.#count), left: this.#count });
    for (let index = 0; index < this.#count; index++) this.#ask(index, id, what, arg, byMain);
  }

  /** Worker `index`'s share of gathering `id` came. */
  collected(index: number, id: number, data: unknown): void {
    const g = this.#open.get(id);
    if (g === undefined) return;
    g.data[index] = data;
    if (--g.left > 0) return;
    this.#open.delete(id);
    g.done(g.data);
  }

  /** Every worker started: the gatherings asked for meanwhile go out now. */
  open(): void {
    const held = this.#held;
    if (held === null) return;
    this.#held = null;
    for (const start of held) start();
  }

  /** Gatherings waiting for {@link open}, and for workers' shares. */
  get waiting(): number {
    return (this.#held?.length ?? 0) + this.#open.size;
  }
}
