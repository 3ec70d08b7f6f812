// Which region state version each live worker has in force, and waits for a version to be in
// force on all of them. A worker counts from its fork; one that exits is no longer waited for
// (its successor loads the state in force before it listens).
export class AckBook {
  readonly #acked = new Map<number, number>();
  #waits: { version: number; resolve: (workers: number) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }[] = [];

  join(worker: number): void {
    this.#acked.set(worker, -1);
  }

  leave(worker: number): void {
    this.#acked.delete(worker);
    this.#settle();
  }

  ack(worker: number, version: number): void {
    const before = this.#acked.get(worker);
    if (before === undefined) return; // a worker that already left
    if (version > before) this.#acked.set(worker, version);
    this.#settle();
  }

  get live(): number {
    return this.#acked.size;
  }

  /** Workers that have not applied `version`. */
  behind(version: number): number[] {
    return [...this.#acked].filter(([, v]) => v < version).map(([w]) => w);
  }

  /** Resolves with the number of live workers once all have `version` in force. */
  wait(version: number, timeoutMs: number): Promise<number> {
    if (this.behind(version).length === 0) return Promise.resolve(this.live);
    return new Promise((resolve, reject) => {
      const w = {
        version,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waits = this.#waits.filter((x) => x !== w);
          reject(new Error(`${this.behind(version).length} of ${this.live} gateway workers have not applied region state version ${version} within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      w.timer.unref();
      this.#waits.push(w);
    });
  }

  #settle(): void {
    const done = this.#waits.filter((w) => this.behind(w.version).length === 0);
    if (done.length === 0) return;
    this.#waits = this.#waits.filter((w) => !done.includes(w));
    for (const w of done) {
      clearTimeout(w.timer);
      w.resolve(this.live);
    }
  }
}
