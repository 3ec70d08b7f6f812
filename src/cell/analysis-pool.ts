// A fixed pool of analysis workers. The cell's inference gate admits at most `size` requests at
// once, so a job normally finds an idle worker; otherwise it waits here in order. A worker that
// read a large input is replaced once it is done, so its grown heap is returned to the system.
import { Worker } from 'node:worker_threads';
import type { StoredModel } from './model-store.ts';
import type { Analysis } from './analysis.ts';

/** Input (UTF-16 code units) after which a worker is replaced rather than reused. */
const RECYCLE_AFTER_CHARS = 1 << 20;

interface Job {
  texts: string[];
  resolve: (r: Analysis[]) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  job: Job | null;
  chars: number;
}

export class AnalysisPool {
  readonly #model: StoredModel;
  readonly #slots: Slot[] = [];
  readonly #waiting: Job[] = [];
  #nextId = 0;
  #closed = false;

  constructor(model: StoredModel, size: number) {
    this.#model = model;
    for (let i = 0; i < size; i++) this.#slots.push(this.#spawn());
  }

  #spawn(): Slot {
    // Old space bounded: a runaway input fails its request instead of the cell.
    const worker = new Worker(new URL('./analysis-worker.ts', import.meta.url), { workerData: this.#model, resourceLimits: { maxOldGenerationSizeMb: 512 } });
    worker.unref();
    const slot: Slot = { worker, job: null, chars: 0 };
    worker.on('message', (msg: { results?: Analysis[]; error?: string }) => {
      const job = slot.job;
      slot.job = null;
      if (msg.error !== undefined) job?.reject(new Error(msg.error));
      else job?.resolve(msg.results ?? []);
      if (slot.chars > RECYCLE_AFTER_CHARS) this.#replace(slot);
      this.#dispatch();
    });
    worker.on('error', (err: Error) => {
      slot.job?.reject(new Error(`the analysis worker failed: ${err.message}`));
      slot.job = null;
    });
    worker.on('exit', () => {
      if (this.#closed) return;
      slot.job?.reject(new Error('the analysis worker exited'));
      slot.job = null;
      this.#replace(slot);
      this.#dispatch();
    });
    return slot;
  }

  #replace(slot: Slot): void {
    const i = this.#slots.indexOf(slot);
    if (i < 0 || this.#closed) return;
    slot.worker.removeAllListeners('exit');
    void slot.worker.terminate();
    this.#slots[i] = this.#spawn();
  }

  #dispatch(): void {
    for (const slot of this.#slots) {
      if (slot.job || this.#waiting.length === 0) continue;
      const job = this.#waiting.shift() as Job;
      slot.job = job;
      slot.chars = job.texts.reduce((n, t) => n + t.length, 0);
      slot.worker.postMessage({ id: this.#nextId++, texts: job.texts });
    }
  }

  analyze(texts: string[]): Promise<Analysis[]> {
    if (this.#closed) return Promise.reject(new Error('the analysis pool is closed'));
    return new Promise((resolve, reject) => {
      this.#waiting.push({ texts, resolve, reject });
      this.#dispatch();
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const j of this.#waiting.splice(0)) j.reject(new Error('the analysis pool is closed'));
    await Promise.all(this.#slots.map((s) => s.worker.terminate()));
  }
}
