// The topology file's schema. Every key an operator can write is declared here, with the
// message they see when it is wrong; cross-field rules (a region's country belongs to its
// jurisdiction, ids are unique, ...) run after the shape is known to be right.
import { z } from 'zod';
import { CUSTOM_TYPE_NAME, DATA_CLASSES } from '../common/data-class.ts';
import { JURISDICTION_NAME } from '../common/jurisdictions.ts';
import { isCountryCode } from './iso3166.ts';

const id = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'expected a lower-case id of letters, digits and dashes (e.g. "eu-frankfurt")');

const country = z.string().refine(isCountryCode, { message: 'expected an ISO 3166-1 alpha-2 country code such as "DE"' });

const jurisdictionName = z
  .string()
  .regex(JURISDICTION_NAME, 'expected a jurisdiction name of letters, digits, "_" or "-" (e.g. "EU")');

const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' });

export const RuntimeSchema = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({ kind: z.literal('embedded') }),
    z.strictObject({
      kind: z.literal('upstream'),
      /** Base URL of a model server that runs in this region (vLLM, TGI, Triton, Ollama). */
      url: httpUrl,
      /** openai: /v1/chat/completions; v2: Open Inference Protocol /v2/models/{m}/infer. */
      protocol: z.enum(['openai', 'v2']).default('openai'),
      /** Environment variable holding the upstream's bearer token (never the token itself). */
      apiKeyEnv: z.string().optional(),
      timeoutMs: z.number().int().positive().default(60_000),
    }),
  ],
  { error: 'expected runtime.kind to be "embedded" or "upstream"' },
);

export const TransfersSchema = z
  .strictObject({
    /** Subject jurisdictions with an adequacy decision for this region's jurisdiction. */
    adequacy: z.array(jurisdictionName).default([]),
    /** Subject jurisdictions whose data may come here under Standard Contractual Clauses. */
    scc: z.array(jurisdictionName).default([]),
    /** Subject jurisdictions whose data may come here under a contract (e.g. PDPA s.26). */
    contract: z.array(jurisdictionName).default([]),
  })
  .default({ adequacy: [], scc: [], contract: [] });

/** A model registry: served embedded by Sovereign (default) or run by the operator (any OCI registry). */
export const RegistryEndpointSchema = z
  .strictObject({
    /** Where it answers. Unset (embedded only): a free port, written to the registry's data directory as "endpoint". */
    url: httpUrl.optional(),
    kind: z.enum(['embedded', 'external']).default('embedded'),
  })
  .prefault({});

export const RegionSchema = z.strictObject({
  id,
  jurisdiction: jurisdictionName,
  country,
  /** Where the region's cell listens (the gateway forwards here). */
  url: httpUrl,
  runtime: RuntimeSchema.default({ kind: 'embedded' }),
  models: z.array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'expected a model name')).min(1).default(['text-analysis']),
  transfers: TransfersSchema,
  /** The region's own model registry: its cell loads models from this one only. */
  registry: RegistryEndpointSchema,
});

export const TenantSchema = z.strictObject({
  name: id,
  /** SHA-256 (hex) of the tenant's API key: the key itself never sits in the file. */
  apiKeySha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lower-case hex digits (sovereign tenant hash-key prints them)'),
  /** Fixed jurisdiction of this tenant's data subjects, applied to every request. */
  jurisdiction: jurisdictionName.optional(),
  /** May this tenant declare a jurisdiction with the x-sovereign-jurisdiction header? */
  mayDeclare: z.boolean().default(true),
});

export const RoutingModeSchema = z.enum(['legal-first', 'performance-first', 'hybrid']);

/** Under `hybrid`, the first rule matching a request's data class and/or tenant picks its mode. */
export const HybridRuleSchema = z.strictObject({
  dataClass: z.enum(DATA_CLASSES).optional(),
  tenant: z.string().min(1).optional(),
  mode: z.enum(['legal-first', 'performance-first']),
});

export const ConfigSchema = z.strictObject({
  /** Root of all data directories; relative paths are relative to the config file. */
  dataDir: z.string().min(1).default('./data'),
  jurisdictions: z.record(jurisdictionName, z.array(country).min(1, 'expected at least one country code')),
  regions: z.array(RegionSchema).min(1, 'expected at least one region'),
  tenants: z.array(TenantSchema).default([]),
  routing: z
    .strictObject({
      mode: RoutingModeSchema.default('legal-first'),
      /** Order of regions among equals under legal-first; unlisted regions follow in file order. */
      preference: z.array(id).default([]),
      /** Rules for `hybrid`; a request no rule matches is ordered legal-first. */
      hybrid: z.array(HybridRuleSchema).default([]),
    })
    .default({ mode: 'legal-first', preference: [], hybrid: [] }),
  gateway: z
    .strictObject({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8080),
      /** Largest request body accepted, in bytes; larger ones get 413. */
      bodyLimitBytes: z.number().int().positive().default(10 * 1024 * 1024),
      /** Deadline for one request across all attempts, in milliseconds. */
      requestTimeoutMs: z.number().int().positive().default(60_000),
      /** Interval between health probes of each cell, in milliseconds. */
      probeIntervalMs: z.number().int().positive().default(1000),
      /**
       * Proxies whose X-Forwarded-For is believed (IPs or CIDRs). The client address is the
       * socket peer unless that peer is listed here; then X-Forwarded-For is read right to left
       * over trusted hops only.
       */
      trustedProxies: z.array(z.string().min(1)).default([]),
      /** Shared secret for the admin API (environment variable name; never the token itself). */
      adminTokenEnv: z.string().default('SOVEREIGN_ADMIN_TOKEN'),
      /** Silence allowed while a request body arrives, in ms; then 408 and the connection is closed. */
      bodyTimeoutMs: z.number().int().positive().default(5000),
      /** Time allowed for a request's headers to arrive, in ms; then 408 and the connection is closed. */
      headersTimeoutMs: z.number().int().positive().default(10_000),
      /** Open connections per client address (socket peer); more get 429. Behind a proxy, raise it (0: no limit). */
      maxConnectionsPerClient: z.number().int().min(0).default(256),
      /**
       * Opens the operator views (/metrics, /sovereign/regions, /sovereign/classify,
       * /sovereign/explain) without credentials: for development only.
       */
      openOperatorViews: z.boolean().default(false),
      /**
       * Gateway processes on this machine, one per core by default (node:cluster: the listening
       * socket is shared, and so are the decision table, the health view and the suspension
       * state). 1 runs the gateway in a single process.
       */
      workers: z.number().int().min(1, 'gateway.workers: at least 1').max(256, 'gateway.workers: at most 256').optional(),
    })
    .prefault({}),
  /**
   * Input limits of models, by name: UTF-8 bytes of the model input (every string of the request
   * a model reads). A request over its model's limit gets 400 context_length_exceeded before any work.
   */
  models: z
    .record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'expected a model name'), z.strictObject({ maxInputBytes: z.number().int().positive() }))
    .default({}),
  geo: z
    .strictObject({
      /** A MaxMind-format (.mmdb) country database; default: the CC0 database shipped from npm. */
      database: z.string().optional(),
    })
    .prefault({}),
  policy: z
    .strictObject({
      /** Cedar policy file; default: policies/default.cedar (an example, not legal advice). */
      file: z.string().optional(),
    })
    .prefault({}),
  ledger: z
    .strictObject({
      /** Log name; each region's origin is "<name>/<region>" (C2SP tlog-checkpoint origin line). */
      name: z.string().regex(/^[a-z0-9.-]+(\/[a-z0-9._-]+)*$/, 'expected a schema-less URL-like name such as "sovereign.example/ledger"').default('sovereign.example/ledger'),
      /** Cosignatures from witnesses in other jurisdictions a checkpoint needs to be anchored. */
      quorum: z.number().int().min(0).default(1),
      /** Signs a checkpoint this often while there are new entries (ms). */
      checkpointIntervalMs: z.number().int().min(50).max(1000).default(1000),
      /** Region that records denials of subjects with no configured jurisdiction (unknown, third countries). */
      unknownRegion: id.optional(),
      /**
       * "file" (default): the log in the region's data directory. "postgres": entries in
       * PostgreSQL, so several cell replicas of a region share one log (one sequencer at a time);
       * each still exports the static tlog-tiles layout to its data directory.
       */
      backend: z.enum(['file', 'postgres']).default('file'),
      /** Environment variable holding the PostgreSQL connection string for the postgres backend. */
      postgresUrlEnv: z.string().default('SOVEREIGN_LEDGER_POSTGRES_URL'),
    })
    .prefault({}),
  classify: z
    .strictObject({
      /**
       * Extra detectors: RE2 syntax (linear time, no backreferences or lookaround), run on the
       * user content of every request. A match makes the class at least `class`.
       */
      patterns: z
        .array(z.strictObject({ type: z.string().regex(CUSTOM_TYPE_NAME, 'expected an upper-case type name such as EMPLOYEE_ID'), pattern: z.string().min(1), class: z.enum(['personal', 'special']) }))
        .default([]),
      /**
       * What content that cannot be inspected (an image, audio or file sent as a data URL or a
       * file id) makes a request: `personal` by default, per tenant by name in `tenants`.
       */
      uninspectable: z
        .strictObject({
          default: z.enum(['public', 'personal', 'special']).default('personal'),
          tenants: z.record(z.string(), z.enum(['public', 'personal', 'special'])).default({}),
        })
        .prefault({}),
    })
    .prefault({}),
  state: z
    .strictObject({
      /**
       * Where region state and legal triggers live: "file" (one gateway, in its data directory)
       * or "postgres" (several gateway replicas, shared through a table and LISTEN/NOTIFY).
       */
      backend: z.enum(['file', 'postgres']).default('file'),
      /** Environment variable holding the PostgreSQL connection string (never the string itself). */
      postgresUrlEnv: z.string().default('SOVEREIGN_POSTGRES_URL'),
      /** Name that separates several Sovereign deployments sharing one database. */
      cluster: z.string().min(1).default('sovereign'),
    })
    .prefault({}),
  registry: z
    .strictObject({
      /** The golden registry models are published to and promoted from (one way, to the regions). */
      golden: z
        .strictObject({
          url: httpUrl.optional(),
          kind: z.enum(['embedded', 'external']).default('embedded'),
          /** Region whose ledger records transfers out of golden (default: the first region). */
          region: id.optional(),
        })
        .prefault({}),
      /** Publisher public keys (SPKI PEM, Ed25519 or ECDSA P-256) regions accept signatures from. Empty: golden's own key in <dataDir>/golden/keys/publisher.key.pub. */
      publishers: z.array(z.strictObject({ id: z.string().min(1), publicKey: z.string().min(1) })).default([]),
      /** Cedar promotion policies; default policies/models.cedar (an example, not legal advice). */
      policy: z.string().optional(),
      /** Publish the shipped text-analysis model to golden and promote it at first start. */
      bootstrap: z.boolean().default(true),
      /** Environment variable holding the registry token; unset, <dataDir>/registry-token (0600). */
      tokenEnv: z.string().default('SOVEREIGN_REGISTRY_TOKEN'),
    })
    .prefault({}),
  store: z
    .strictObject({
      /**
       * Each region keeps the inputs and outputs of the requests it served, encrypted, in its
       * own data directory ("sqlite": a file database) or in PostgreSQL ("postgres": one schema
       * per region). `enabled: false` keeps nothing (and the ledger says 0 days).
       */
      enabled: z.boolean().default(true),
      backend: z.enum(['sqlite', 'postgres']).default('sqlite'),
      /** Environment variable holding the PostgreSQL connection string for the postgres backend. */
      postgresUrlEnv: z.string().default('SOVEREIGN_STORE_POSTGRES_URL'),
      /** Each region's schema is "<schemaPrefix>_<region id with - as _>". */
      schemaPrefix: z.string().regex(/^[a-z][a-z0-9_]{0,30}$/, 'expected a lower-case SQL identifier prefix such as "sovereign_store"').default('sovereign_store'),
      /**
       * The region's key-encryption key (32 bytes, base64 or hex), from the environment variable
       * "<kekEnv>_<REGION_ID>" (e.g. SOVEREIGN_STORE_KEK_EU_FRANKFURT) when set, else from kekFile
       * ("{region}" is replaced by the region id) when set, else from <region data dir>/keys/store-kek.key
       * (generated on first start, mode 0600).
       */
      kekEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'expected an environment variable name').default('SOVEREIGN_STORE_KEK'),
      kekFile: z.string().min(1).optional(),
      /** Days a record is kept, by tenant and data class: the first matching rule wins, else `days`. 0 = nothing stored. */
      retention: z
        .strictObject({
          days: z.number().int().min(0).max(36_500).default(30),
          rules: z
            .array(
              z.strictObject({
                tenant: z.string().min(1).optional(),
                dataClass: z.enum(DATA_CLASSES).optional(),
                days: z.number().int().min(0).max(36_500),
              }),
            )
            .default([]),
        })
        .prefault({}),
      /** How often the sweeper removes expired and erased records (ms). */
      sweepIntervalMs: z.number().int().min(100).default(60_000),
      /** Records are written in batches this often after the responses (ms). */
      flushIntervalMs: z.number().int().min(1).max(10_000).default(20),
      /** Records waiting for a write, at most; beyond it new records are dropped (and counted). */
      maxQueued: z.number().int().min(1).default(50_000),
    })
    .prefault({}),
  cell: z
    .strictObject({
      bodyLimitBytes: z.number().int().positive().default(10 * 1024 * 1024),
      /**
       * Inference requests a cell runs at once (health probes and metadata are never queued).
       * Unset: by the region's runtime (Topology.inferenceConcurrency): the embedded model's
       * worker threads, or the connections to an upstream model server, which batches.
       */
      maxConcurrentInference: z.number().int().positive().max(4096).optional(),
      /** Inference requests waiting for a slot; one more gets 429 with Retry-After. */
      maxQueuedInference: z.number().int().min(0).default(32),
    })
    .prefault({}),
  mesh: z
    .strictObject({
      /**
       * "mtls" (default): every service-to-service channel is mutual TLS with SPIFFE X.509-SVIDs
       * and authorization by identity. "plaintext": plain HTTP and no identity checks, for
       * benchmarks and development only (logged as a warning by every process).
       */
      mode: z.enum(['mtls', 'plaintext']).default('mtls'),
      /** SPIFFE trust domain of every workload identity (spiffe://<trustDomain>/...). */
      trustDomain: z
        .string()
        .regex(/^[a-z0-9._-]{1,255}$/, 'expected a SPIFFE trust domain: lower-case letters, digits, ".", "-", "_" (e.g. "sovereign.internal")')
        .default('sovereign.internal'),
      /** Lifetime of a workload's X.509-SVID, in seconds; renewed at half of it. */
      svidTtlSeconds: z.number().int().min(2).max(30 * 24 * 3600).default(3600),
      /** Directory of the root CA, trust bundle and revocation list; default <dataDir>/mesh. */
      dir: z.string().optional(),
      /** An operator's own root CA: its certificate (PEM file) ... */
      rootCertFile: z.string().optional(),
      /** ... and its private key (PEM file, mode 0600) or the environment variable holding it. */
      rootKeyFile: z.string().optional(),
      rootKeyEnv: z.string().optional(),
      /**
       * TLS for the PostgreSQL connections (ledger, store, region state, shared revocations):
       * every process presents its SVID as client certificate and verifies the server.
       */
      postgres: z
        .strictObject({
          /** "url": as each connection string's sslmode says; else at least this for every connection (require is verify-ca). */
          sslmode: z.enum(['url', 'require', 'verify-ca', 'verify-full']).default('url'),
          /** PEM file of the operator's CA that signed the server's certificate; default: the trust bundle (a server SVID). */
          caFile: z.string().min(1).optional(),
          /** The SPIFFE ID the server's SVID must carry; default: any spiffe://<trustDomain>/postgres/... identity. */
          serverId: z.string().regex(/^spiffe:\/\/[a-z0-9._-]+\/\S+$/, 'expected a SPIFFE ID such as spiffe://sovereign.internal/postgres/main').optional(),
        })
        .prefault({}),
    })
    .prefault({}),
});

export type ConfigInput = z.input<typeof ConfigSchema>;
export type ConfigData = z.output<typeof ConfigSchema>;
export type RegionConfig = z.output<typeof RegionSchema>;
export type TenantConfig = z.output<typeof TenantSchema>;
export type RuntimeConfig = z.output<typeof RuntimeSchema>;
export type RoutingMode = z.output<typeof RoutingModeSchema>;
