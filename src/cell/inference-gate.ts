// Bounds the inference a cell runs at once: `concurrency` requests run, up to `queue` more wait
// in arrival order, and one more is refused at once with 429 and Retry-After, so a heavy user
// cannot make everyone wait without bound. Health probes and metadata never pass through here,
// so a busy cell still answers them and is not mistaken for a dead one.
import { CELL_REFUSED_HEADER, HttpError } from '../common/index.ts';

export class InferenceGate {
  readonly #concurrency: number;
  readonly #queue: number;
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(concurrency: number, queue: number) {
    this.#concurrency = concurrency;
    this.#queue = queue;
  }

  get running(): number {
    return this.#running;
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  /** Whether acquire would refuse now: every slot taken and the queue full. */
  get full(): boolean {
    return this.#running >= this.#concurrency && this.#waiting.length >= this.#queue;
  }

  /**
   * Throws the 429 that acquire would throw now, without taking a slot: a caller with work to do
   * before it acquires (the cell's durable record) refuses first what it would refuse anyway.
   */
  refuseIfFull(region: string): void {
    if (this.full) throw this.busy(region);
  }

  /** The 429 of a full gate (the gateway reads CELL_REFUSED_HEADER and tries the next region). */
  busy(region: string): HttpError {
    return new HttpError(
      429,
      'overloaded_error',
      `region ${region} is running ${this.#running} inference requests with ${this.#waiting.length} waiting, the most it takes (cell.maxConcurrentInference, cell.maxQueuedInference); retry after the time in Retry-After`,
      { code: 'cell_busy' },
      // The header tells the gateway the region is busy, not failing: it tries the next permitted region.
      { 'retry-after': '1', [CELL_REFUSED_HEADER]: 'busy' },
    );
  }

  /** Resolves with the release function once a slot is free; throws 429 when the queue is full. */
  async acquire(region: string): Promise<() => void> {
    this.refuseIfFull(region);
    if (this.#running >= this.#concurrency) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#running++;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      if (next) next(); // the slot passes straight to the next in line
      else this.#running--;
    };
  }
}
