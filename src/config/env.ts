import path from 'node:path';
import { z } from 'zod';

/** Thrown when the process environment holds a value Syncline cannot start with. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const port = (fallback: number) =>
  z.coerce.number({ error: 'an integer between 1 and 65535' }).int('an integer between 1 and 65535').min(1, 'an integer between 1 and 65535').max(65535, 'an integer between 1 and 65535').default(fallback);

/** An optional whole number from 1 (absent: the default of the code that uses it). */
const count = (expected: string) => z.coerce.number({ error: expected }).int(expected).min(1, expected).optional();

const schema = z.object({
  PORT: port(3003),
  SYNCLINE_DATA_DIR: z.string().min(1, 'a directory path').default('./.syncline'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\/\S+$/, 'a postgres:// or postgresql:// connection URL')
    .optional(),
  DATABASE_PREPARED_STATEMENTS: z.coerce
    .number({ error: 'a whole number of statements from 0 to 10000' })
    .int('a whole number of statements from 0 to 10000')
    .min(0, 'a whole number of statements from 0 to 10000')
    .max(10000, 'a whole number of statements from 0 to 10000')
    .optional(),
  TEMPORAL_ADDRESS: z.string().regex(/^[\w.-]+:\d{1,5}$/, 'host:port of a Temporal frontend, e.g. temporal:7233').optional(),
  ENGINE_PORT: port(7233),
  ENGINE_HOST: z.string().regex(/^[\w.:-]+$/, 'an address to listen on, e.g. 127.0.0.1 or 0.0.0.0').default('127.0.0.1'),
  SYNCLINE_SECRET_KEY: z.string().regex(/^[\w-]{16,128}$/, '16 to 128 letters, digits, "-" or "_"').optional(),
  SYNCLINE_ENCRYPTION_KEY: z
    .string()
    .refine((v) => /^[A-Za-z0-9+/]+={0,2}$/.test(v) && Buffer.from(v, 'base64').length === 32, 'base64 of exactly 32 bytes (openssl rand -base64 32)')
    .optional(),
  SYNCLINE_PROVIDERS_FILE: z.string().min(1, 'a path to a providers.yaml').optional(),
  SYNCLINE_PUBLIC_URL: z.url({ protocol: /^https?$/, error: 'an http(s) URL, e.g. https://sync.example.com' }).optional(),
  SYNCLINE_LOG_RETENTION_DAYS: z.coerce.number({ error: 'a whole number of days from 1 to 3650' }).int('a whole number of days from 1 to 3650').min(1, 'a whole number of days from 1 to 3650').max(3650, 'a whole number of days from 1 to 3650').default(15),
  SYNCLINE_METRICS_AUTH: z.enum(['key', 'none'], { error: 'key (a secret key is required) or none (no authentication)' }).default('key'),
  SYNCLINE_WEBHOOK_RATE_LIMIT: z.coerce
    .number({ error: 'a whole number of provider webhooks per environment and minute, from 1' })
    .int('a whole number of provider webhooks per environment and minute, from 1')
    .min(1, 'a whole number of provider webhooks per environment and minute, from 1')
    .default(4000),
  SYNCLINE_WORKFLOW_THREADS: z.coerce
    .number({ error: 'a whole number of workflow threads from 0 (the main thread) to 16' })
    .int('a whole number of workflow threads from 0 (the main thread) to 16')
    .min(0, 'a whole number of workflow threads from 0 (the main thread) to 16')
    .max(16, 'a whole number of workflow threads from 0 (the main thread) to 16')
    .optional(),
  SYNCLINE_WORKER_SLOTS: count('a whole number of activities the worker runs at once, from 1'),
  SYNCLINE_WORKFLOW_CACHE: count('a whole number of workflows the worker keeps in memory, from 1'),
  SYNCLINE_MAX_RUNS_PER_ENVIRONMENT: count('a whole number of runs of one environment at once, from 1'),
  SYNCLINE_MAX_RUNS_PER_CONNECTION: count('a whole number of runs of one connection at once, from 1'),
  SYNCLINE_MAX_BATCH_MB: count('a whole number of megabytes one batchSave call may carry, from 1'),
  SYNCLINE_RECORDS_IN_FLIGHT_MB: count('a whole number of megabytes of records all runs may hold at once, from 1'),
  SYNCLINE_RECORD_READS_AT_ONCE: count('a whole number of GET /records pages read at once, from 1'),
  SYNCLINE_REUSE_SCRIPT_THREADS: z.enum(['true', 'false'], { error: 'true or false' }).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { error: 'one of fatal, error, warn, info, debug, trace, silent' }).default('info'),
});

/** Syncline's runtime configuration, read from the environment once at start-up. */
export interface Config {
  /** HTTP port of the REST API and dashboard. */
  readonly port: number;
  /** Absolute directory for PGlite's data and generated files. */
  readonly dataDir: string;
  /** Postgres URL; absent means embedded PGlite under `dataDir`. */
  readonly databaseUrl?: string;
  /** Distinct statements prepared per Postgres connection (absent: DEFAULT_PREPARED_STATEMENTS; 0: none). */
  readonly databasePreparedStatements?: number;
  /** Temporal frontend address; absent means the embedded engine. */
  readonly temporalAddress?: string;
  /** gRPC port of the embedded engine. */
  readonly enginePort: number;
  /** Address the embedded engine listens on (0.0.0.0: every interface, e.g. for a Temporal UI in another container). */
  readonly engineHost: string;
  /** Forces the `dev` environment's secret key. */
  readonly secretKey?: string;
  /** 32-byte AES-256-GCM key for secrets at rest. */
  readonly encryptionKey?: Buffer;
  readonly logLevel: z.infer<typeof schema>['LOG_LEVEL'];
  /** Absolute path of the user's providers.yaml (extra or replaced providers), if any. */
  readonly providersFile?: string;
  /** Where providers reach this server (`https://sync.example.com`): the origin of the webhook URLs scripts get from `nango.getWebhookURL()`. */
  readonly publicUrl?: string;
  /** Days execution logs are kept before they are pruned. */
  readonly logRetentionDays: number;
  /** Who may read `GET /metrics`: `key` (a secret key; its environment's series) or `none` (anyone; every series). */
  readonly metricsAuth: 'key' | 'none';
  /** Provider webhooks accepted per environment and minute; more get 429 with Retry-After. */
  readonly webhookRateLimit: number;
  /** Threads the worker runs workflow code on (absent: 1). */
  readonly workflowThreads?: number;
  /** Activities the worker runs at once (absent: 200). */
  readonly workerSlots?: number;
  /** Workflows the worker keeps in memory between their tasks (absent: 10,000). */
  readonly workflowCache?: number;
  /** Sync runs and action attempts of one environment / one connection this worker runs at once (absent: 50 / 20); more wait their turn. */
  readonly maxRunsPerEnvironment?: number;
  readonly maxRunsPerConnection?: number;
  /** Largest batchSave/batchUpdate/batchDelete call, in MB of JSON (absent: 50); a larger one fails the run with batch_too_large. */
  readonly maxBatchMb?: number;
  /** MB of records (as JSON) all runs of this process hold at once, received and not yet written (absent: 256); past it, batchSave waits. */
  readonly recordsInFlightMb?: number;
  /** `GET /records` pages read from the database at once (absent: 4); more wait their turn without holding a connection. */
  readonly recordReadsAtOnce?: number;
  /** Whether a script thread whose execution ended cleanly runs later executions of its environment (absent: true). */
  readonly reuseScriptThreads?: boolean;
}

/**
 * Validates the environment once and returns a frozen configuration.
 * Throws a {@link ConfigError} whose message is one line naming the variable and what it expects.
 *
 * @example
 * const config = loadConfig({ PORT: '8080' }); // config.port === 8080
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings count as unset, as in most .env tooling.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0]);
    throw new ConfigError(`Invalid ${name}: expected ${issue.message} (got ${JSON.stringify(present[name])})`);
  }
  const v = parsed.data;
  return Object.freeze({
    port: v.PORT,
    dataDir: path.resolve(v.SYNCLINE_DATA_DIR),
    databaseUrl: v.DATABASE_URL,
    databasePreparedStatements: v.DATABASE_PREPARED_STATEMENTS,
    temporalAddress: v.TEMPORAL_ADDRESS,
    enginePort: v.ENGINE_PORT,
    engineHost: v.ENGINE_HOST,
    secretKey: v.SYNCLINE_SECRET_KEY,
    encryptionKey: v.SYNCLINE_ENCRYPTION_KEY ? Buffer.from(v.SYNCLINE_ENCRYPTION_KEY, 'base64') : undefined,
    logLevel: v.LOG_LEVEL,
    providersFile: v.SYNCLINE_PROVIDERS_FILE ? path.resolve(v.SYNCLINE_PROVIDERS_FILE) : undefined,
    publicUrl: v.SYNCLINE_PUBLIC_URL?.replace(/\/+$/, ''),
    logRetentionDays: v.SYNCLINE_LOG_RETENTION_DAYS,
    metricsAuth: v.SYNCLINE_METRICS_AUTH,
    webhookRateLimit: v.SYNCLINE_WEBHOOK_RATE_LIMIT,
    workflowThreads: v.SYNCLINE_WORKFLOW_THREADS,
    workerSlots: v.SYNCLINE_WORKER_SLOTS,
    workflowCache: v.SYNCLINE_WORKFLOW_CACHE,
    maxRunsPerEnvironment: v.SYNCLINE_MAX_RUNS_PER_ENVIRONMENT,
    maxRunsPerConnection: v.SYNCLINE_MAX_RUNS_PER_CONNECTION,
    maxBatchMb: v.SYNCLINE_MAX_BATCH_MB,
    recordsInFlightMb: v.SYNCLINE_RECORDS_IN_FLIGHT_MB,
    recordReadsAtOnce: v.SYNCLINE_RECORD_READS_AT_ONCE,
    reuseScriptThreads: v.SYNCLINE_REUSE_SCRIPT_THREADS === undefined ? undefined : v.SYNCLINE_REUSE_SCRIPT_THREADS === 'true',
  });
}
