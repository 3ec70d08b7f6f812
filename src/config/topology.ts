// The validated topology with the lookups the request path needs, computed once at load.
import { availableParallelism } from 'node:os';
import path from 'node:path';
import type { ConfigData, RegionConfig, TenantConfig } from './schema.ts';
import { isCountryCode } from './iso3166.ts';

export type JurisdictionLookup =
  | { ok: true; jurisdiction: string; country?: string }
  | { ok: false; reason: string };

/**
 * Inference requests a cell runs at once when cell.maxConcurrentInference is unset, by runtime:
 * the embedded model runs each in a worker thread of the cell's own (two cores' worth); a model
 * server (vLLM, TGI, ...) batches concurrent requests, so the cell keeps that many in flight.
 */
export const DEFAULT_INFERENCE_CONCURRENCY = { embedded: 2, upstream: 64 } as const;

/** Input limits of the models Sovereign ships: the embedded text-analysis model reads 256 KiB in about half a second. */
const DEFAULT_INPUT_LIMITS: Record<string, number> = { 'text-analysis': 256 * 1024 };

export class Topology {
  readonly data: ConfigData;
  /** Absolute path of the file this topology came from ('<inline>' when built in code). */
  readonly file: string;
  readonly dataDir: string;
  readonly regions: readonly RegionConfig[];
  readonly jurisdictions: readonly string[];
  readonly #regionById: Map<string, RegionConfig>;
  readonly #jurisdictionOfCountry: Map<string, string>;
  readonly #jurisdictionByName: Map<string, string>;
  readonly #tenantByKeyHash: Map<string, TenantConfig>;

  constructor(data: ConfigData, file: string) {
    this.data = data;
    this.file = file;
    this.dataDir = path.resolve(file === '<inline>' ? process.cwd() : path.dirname(file), data.dataDir);
    this.regions = data.regions;
    this.jurisdictions = Object.keys(data.jurisdictions);
    this.#regionById = new Map(data.regions.map((r) => [r.id, r]));
    this.#jurisdictionOfCountry = new Map();
    for (const [name, countries] of Object.entries(data.jurisdictions)) {
      for (const c of countries) this.#jurisdictionOfCountry.set(c, name);
    }
    this.#jurisdictionByName = new Map(this.jurisdictions.map((j) => [j.toUpperCase(), j]));
    this.#tenantByKeyHash = new Map(data.tenants.map((t) => [t.apiKeySha256, t]));
  }

  region(id: string): RegionConfig | undefined {
    return this.#regionById.get(id);
  }

  regionsIn(jurisdiction: string): RegionConfig[] {
    return this.regions.filter((r) => r.jurisdiction === jurisdiction);
  }

  /** The jurisdiction a country belongs to; a country no jurisdiction lists is its own. */
  jurisdictionOfCountry(country: string): string {
    return this.#jurisdictionOfCountry.get(country) ?? country;
  }

  /**
   * Resolves a declared value: a configured jurisdiction name (case-insensitive) or an
   * ISO 3166-1 alpha-2 country code. Anything else is refused rather than guessed.
   */
  resolveJurisdiction(value: string): JurisdictionLookup {
    const v = value.trim();
    const byName = this.#jurisdictionByName.get(v.toUpperCase());
    if (byName !== undefined) return { ok: true, jurisdiction: byName };
    const code = v.toUpperCase();
    if (code.length === 2 && isCountryCode(code)) {
      return { ok: true, jurisdiction: this.jurisdictionOfCountry(code), country: code };
    }
    return {
      ok: false,
      reason: `"${v.slice(0, 64)}" is neither a configured jurisdiction (${this.jurisdictions.join(', ')}) nor an ISO 3166-1 alpha-2 country code`,
    };
  }

  tenantByKeyHash(hash: string): TenantConfig | undefined {
    return this.#tenantByKeyHash.get(hash);
  }

  /** The input limit of a model, in UTF-8 bytes of model input (built-in default for the embedded model). */
  inputLimitBytes(model: string): number | undefined {
    return this.data.models[model]?.maxInputBytes ?? DEFAULT_INPUT_LIMITS[model];
  }

  /**
   * The largest request body an inference route reads: a body holds its model input once, as
   * JSON strings (escapes at most double typical text), so a body over 4x the largest input
   * limit of any served model, plus 1 MiB for the rest of the request, cannot be within its
   * model's limit and is refused from its Content-Length. Undefined when some model has no limit.
   */
  inferenceBodyLimitBytes(): number | undefined {
    let most = 0;
    for (const r of this.regions) {
      for (const m of r.models) {
        const l = this.inputLimitBytes(m);
        if (l === undefined) return undefined;
        most = Math.max(most, l);
      }
    }
    return Math.min(this.data.gateway.bodyLimitBytes, 4 * most + 1024 * 1024);
  }

  get authRequired(): boolean {
    return this.data.tenants.length > 0;
  }

  /** The checkpoint origin of a region's ledger. */
  ledgerOrigin(regionId: string): string {
    return `${this.data.ledger.name}/${regionId}`;
  }

  regionDataDir(regionId: string): string {
    return path.join(this.dataDir, 'regions', regionId);
  }

  /** Inference requests the region's cell runs at once: cell.maxConcurrentInference, or its runtime's default. */
  inferenceConcurrency(regionId: string): number {
    const kind = this.#regionById.get(regionId)?.runtime.kind ?? 'embedded';
    return this.data.cell.maxConcurrentInference ?? DEFAULT_INFERENCE_CONCURRENCY[kind];
  }

  /** Gateway worker processes: gateway.workers, or one per core of this machine. */
  gatewayWorkers(): number {
    return this.data.gateway.workers ?? availableParallelism();
  }

  gatewayDataDir(): string {
    return path.join(this.dataDir, 'gateway');
  }
}
