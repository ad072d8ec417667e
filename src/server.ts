import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { DEFAULT_RUN_LIMITS, type RunLimits } from './activities';
import { createApp } from './api/app';
import { ConfigError, type Config } from './config/env';
import { createLogger, throttledWarn } from './logger';
import { loadUserProviders, useUserProviders } from './providers';
import { configureRecordLimits, configureScriptThreads, DEFAULT_RECORD_LIMITS } from './runtime';
import { openDb, openStore, type Store } from './store';
import { waitForDatabase } from './store/db';
import { loadOrCreateKeyFile, lockDataDir } from './store/data-dir';
import type { EnvironmentKey } from './store/environments';
import { startOrchestration, type Orchestration } from './worker';
import { startRetention } from './store/retention';
import { savePublicUrl } from './store/settings';

export interface Syncline {
  url: string;
  store: Store;
  logger: Logger;
  /** Keys of environments created by this start (first start only). */
  createdKeys: EnvironmentKey[];
  /** The Temporal side: embedded engine (unless TEMPORAL_ADDRESS), client, worker. */
  orchestration?: Orchestration;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Start the engine/worker/orchestrator (default true). */
  orchestration?: boolean;
  /** Heartbeat timeout of sync runs, for tests that kill workers. */
  heartbeatTimeoutMs?: number;
}

/**
 * Opens the database (PGlite under the data directory unless `DATABASE_URL` is set), migrates it,
 * checks the encryption key, creates the default environments and serves the API.
 */
export async function openSyncline(config: Config, logger: Logger = createLogger(config.logLevel)): Promise<Omit<Syncline, 'url'>> {
  loadProviders(config);
  const releaseDir = config.databaseUrl ? () => undefined : lockDataDir(config.dataDir);
  try {
    const key = resolveEncryptionKey(config, logger);
    const db = await openDb(config.databaseUrl ? { url: config.databaseUrl, preparedStatements: config.databasePreparedStatements } : { dataDir: path.join(config.dataDir, 'pglite') });
    try {
      if (config.databaseUrl) await waitForDatabase(db, waitingFor(config.databaseUrl, logger));
      const store = await openStore(db, key);
      const createdKeys = await store.environments.ensureDefaults(config.secretKey);
      return {
        store,
        logger,
        createdKeys,
        async close() {
          await db.close();
          releaseDir();
        },
      };
    } catch (err) {
      await db.close();
      throw err;
    }
  } catch (err) {
    releaseDir();
    throw err;
  }
}

/**
 * `openSyncline`, then the orchestration (the embedded Temporal engine unless `TEMPORAL_ADDRESS`,
 * a worker and the lifecycle outbox drain) and the API, all in this process.
 */
export async function startSyncline(config: Config, logger?: Logger, options: StartOptions = {}): Promise<Syncline> {
  const base = await openSyncline(config, logger);
  let orchestration: Orchestration | undefined;
  let server: Server;
  try {
    if (options.orchestration !== false) {
      configureRecordLimits(recordLimits(config));
      configureScriptThreads({ reuse: config.reuseScriptThreads ?? true });
      orchestration = await startOrchestration({
        store: base.store,
        logger: base.logger,
        temporalAddress: config.temporalAddress,
        enginePort: config.enginePort,
        engineHost: config.engineHost,
        // Only the default port gives way to something already on it; an explicit ENGINE_PORT must be free.
        enginePortFallback: process.env.ENGINE_PORT === undefined,
        heartbeatTimeoutMs: options.heartbeatTimeoutMs,
        workflowThreads: config.workflowThreads,
        activitySlots: config.workerSlots,
        cachedWorkflows: config.workflowCache,
        runLimits: runLimits(config),
      });
    }
    const app = createApp({ store: base.store, logger: base.logger, orchestrator: orchestration?.orchestrator, metricsAuth: config.metricsAuth, webhookRateLimit: config.webhookRateLimit, recordReadsAtOnce: config.recordReadsAtOnce });
    server = await new Promise<Server>((resolve, reject) => {
      const s = app.listen(config.port, () => resolve(s));
      s.once('error', reject);
    });
  } catch (err) {
    await orchestration?.close();
    await base.close();
    throw err;
  }
  const { port } = server.address() as AddressInfo;
  // For nango.getWebhookURL() in scripts, whichever process runs them.
  const publicUrl = config.publicUrl ? { url: config.publicUrl, configured: true } : { url: `http://localhost:${port}`, configured: false };
  await savePublicUrl(base.store.db, publicUrl).catch((err: unknown) => base.logger.warn({ err }, 'recording the public URL failed; scripts get null from nango.getWebhookURL()'));
  const warn = throttledWarn(base.logger);
  const stopPruning = startRetention(base.store, config.logRetentionDays, (err) => warn(err, 'pruning old logs and webhook records failed; retried at the next tick'));
  return {
    ...base,
    url: `http://localhost:${port}`,
    orchestration,
    async close() {
      stopPruning();
      server.closeIdleConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await orchestration?.close();
      await base.close();
    },
  };
}

/** The configured caps on one environment's and one connection's concurrent runs, the defaults where unset. */
function runLimits(config: Config): RunLimits {
  return { perEnvironment: config.maxRunsPerEnvironment ?? DEFAULT_RUN_LIMITS.perEnvironment, perConnection: config.maxRunsPerConnection ?? DEFAULT_RUN_LIMITS.perConnection };
}

/** The configured bounds on records scripts send, the defaults where unset. */
function recordLimits(config: Config) {
  const MB = 1024 * 1024;
  return {
    maxBatchBytes: config.maxBatchMb ? config.maxBatchMb * MB : DEFAULT_RECORD_LIMITS.maxBatchBytes,
    inFlightBytes: config.recordsInFlightMb ? config.recordsInFlightMb * MB : DEFAULT_RECORD_LIMITS.inFlightBytes,
  };
}

/** Logs, for each failed attempt to reach the database at start-up, where it is (no credentials) and when the next one is. */
function waitingFor(databaseUrl: string, logger: Logger): (err: Error, retryInMs: number) => void {
  const { host, pathname } = new URL(databaseUrl);
  return (err, retryInMs) => logger.warn({ error: err.message }, `waiting for the database at ${host}${pathname}; retrying in ${retryInMs / 1000} s`);
}

/** Installs the user's providers.yaml; a broken file stops the start with every problem listed. */
function loadProviders(config: Config): void {
  if (!config.providersFile) return;
  try {
    useUserProviders(loadUserProviders(config.providersFile));
  } catch (err) {
    throw new ConfigError(`Invalid SYNCLINE_PROVIDERS_FILE:\n${(err as Error).message}`);
  }
}

function resolveEncryptionKey(config: Config, logger: Logger): Buffer {
  if (config.encryptionKey) return config.encryptionKey;
  if (config.databaseUrl) {
    throw new ConfigError('Invalid SYNCLINE_ENCRYPTION_KEY: expected base64 of exactly 32 bytes when DATABASE_URL is set (every process must share it)');
  }
  const { key, file, generated } = loadOrCreateKeyFile(config.dataDir);
  if (generated) logger.warn({ file }, 'generated an encryption key for secrets at rest; back this file up, without it stored credentials cannot be read');
  return key;
}

