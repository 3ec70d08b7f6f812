// Legal triggers: a region suspended (for everyone or for some subject jurisdictions) by an
// order or authority, and resumed. The state is versioned; every gateway replica applies
// each version and acknowledges it, so a trigger can be known to be in force everywhere.
import { mkdirSync, readFileSync } from 'node:fs';
import { writeFileDurableSync } from '../common/durable-file.ts';
import path from 'node:path';
import { z } from 'zod';

export const SuspensionSchema = z.strictObject({
  region: z.string().min(1),
  /** Subject jurisdictions the suspension applies to; null: everyone. */
  for: z.array(z.string().min(1)).nullable(),
  reason: z.string().min(1, 'a suspension needs a reason'),
  /** Reference of the order or authority (court order number, regulator letter, ...). */
  ref: z.string().min(1, 'a suspension needs the reference of the order or authority'),
  /** drain: in-flight requests finish; cut: they are aborted. */
  mode: z.enum(['drain', 'cut']),
  at: z.string(),
});

export type Suspension = z.infer<typeof SuspensionSchema>;

export const RegionStateSchema = z.strictObject({
  version: z.number().int().nonnegative(),
  suspensions: z.record(z.string(), SuspensionSchema),
});

export type RegionState = z.infer<typeof RegionStateSchema>;

export const EMPTY_STATE: RegionState = { version: 0, suspensions: {} };

export interface RegionStateStore {
  /** The current state. */
  load(): Promise<RegionState>;
  /** Applies `change` atomically and returns the new state (version + 1). */
  update(change: (s: RegionState) => RegionState): Promise<RegionState>;
  /** Called with every new state, from this replica or another. */
  subscribe(onState: (s: RegionState) => void): void;
  /** This replica has applied `version`. */
  ack(version: number): Promise<void>;
  /**
   * Resolves when every live replica has applied `version`; rejects after `timeoutMs`. `workers`:
   * the worker processes of this replica that have it in force (a gateway with gateway.workers > 1).
   */
  waitForReplicas(version: number, timeoutMs: number): Promise<{ replicas: number; workers?: number }>;
  close(): Promise<void>;
}

/** Single-replica store: the state in the gateway's data directory (atomic rename + fsync). */
export class FileRegionStateStore implements RegionStateStore {
  readonly #file: string;
  #state: RegionState;
  #subscribers: ((s: RegionState) => void)[] = [];
  #chain: Promise<unknown> = Promise.resolve();

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.#file = path.join(dir, 'region-state.json');
    this.#state = this.#read();
  }

  #read(): RegionState {
    let text: string;
    try {
      text = readFileSync(this.#file, 'utf8');
    } catch {
      return EMPTY_STATE;
    }
    const parsed = RegionStateSchema.safeParse(JSON.parse(text));
    // Fail closed: a state file we cannot read must not silently lift a suspension.
    if (!parsed.success) throw new Error(`${this.#file}: unreadable region state (${parsed.error.issues[0]?.message}); fix or restore it from the ledger's trigger entries`);
    return parsed.data;
  }

  async load(): Promise<RegionState> {
    return this.#state;
  }

  async update(change: (s: RegionState) => RegionState): Promise<RegionState> {
    const run = this.#chain.then(() => {
      const next = RegionStateSchema.parse({ ...change(this.#state), version: this.#state.version + 1 });
      writeFileDurableSync(this.#file, JSON.stringify(next, null, 2));
      this.#state = next;
      for (const s of this.#subscribers) s(next);
      return next;
    });
    this.#chain = run.catch(() => undefined);
    return run;
  }

  subscribe(onState: (s: RegionState) => void): void {
    this.#subscribers.push(onState);
  }

  async ack(): Promise<void> {}

  async waitForReplicas(): Promise<{ replicas: number }> {
    return { replicas: 1 };
  }

  async close(): Promise<void> {}
}

export function suspend(s: RegionState, sus: Suspension): RegionState {
  return { ...s, suspensions: { ...s.suspensions, [sus.region]: sus } };
}

export function resume(s: RegionState, region: string): RegionState {
  const { [region]: _gone, ...rest } = s.suspensions;
  return { ...s, suspensions: rest };
}

/** Is `region` suspended for a subject of `jurisdiction`? */
export function isSuspendedFor(s: RegionState, region: string, jurisdiction: string): boolean {
  const sus = s.suspensions[region];
  return sus !== undefined && (sus.for === null || sus.for.includes(jurisdiction));
}
