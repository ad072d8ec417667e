import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/env';

describe('loadConfig', () => {
  test('defaults: embedded mode on port 3003 with data in ./.syncline', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 3003, enginePort: 7233, logLevel: 'info', dataDir: path.resolve('.syncline'), logRetentionDays: 15, metricsAuth: 'key', webhookRateLimit: 4000 });
    expect(config.workflowThreads).toBeUndefined();
    expect(config.databaseUrl).toBeUndefined();
    expect(config.temporalAddress).toBeUndefined();
    expect(Object.isFrozen(config)).toBe(true);
  });

  test('reads every variable', () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    const config = loadConfig({
      PORT: '8080',
      SYNCLINE_DATA_DIR: '/tmp/x',
      DATABASE_URL: 'postgres://u@h:5432/db',
      DATABASE_PREPARED_STATEMENTS: '0',
      TEMPORAL_ADDRESS: 'temporal:7233',
      ENGINE_PORT: '7300',
      SYNCLINE_SECRET_KEY: 'sk_dev_0123456789abcdef',
      SYNCLINE_ENCRYPTION_KEY: key,
      LOG_LEVEL: 'debug',
      SYNCLINE_LOG_RETENTION_DAYS: '30',
      SYNCLINE_METRICS_AUTH: 'none',
      SYNCLINE_WEBHOOK_RATE_LIMIT: '120',
      SYNCLINE_WORKFLOW_THREADS: '1',
      SYNCLINE_WORKER_SLOTS: '100',
      SYNCLINE_MAX_RUNS_PER_ENVIRONMENT: '10',
      SYNCLINE_MAX_RUNS_PER_CONNECTION: '2',
      SYNCLINE_RECORD_READS_AT_ONCE: '8',
      SYNCLINE_MAX_BATCH_MB: '20',
      SYNCLINE_RECORDS_IN_FLIGHT_MB: '128',
    });
    expect(config).toMatchObject({
      port: 8080,
      dataDir: '/tmp/x',
      databaseUrl: 'postgres://u@h:5432/db',
      databasePreparedStatements: 0,
      temporalAddress: 'temporal:7233',
      enginePort: 7300,
      secretKey: 'sk_dev_0123456789abcdef',
      logLevel: 'debug',
      logRetentionDays: 30,
      metricsAuth: 'none',
      webhookRateLimit: 120,
      workflowThreads: 1,
      workerSlots: 100,
      maxRunsPerEnvironment: 10,
      recordReadsAtOnce: 8,
      maxRunsPerConnection: 2,
      maxBatchMb: 20,
      recordsInFlightMb: 128,
    });
    expect(config.encryptionKey).toEqual(Buffer.alloc(32, 7));
  });

  test('SYNCLINE_PUBLIC_URL: an http(s) URL, kept without its trailing slash', () => {
    expect(loadConfig({}).publicUrl).toBeUndefined();
    expect(loadConfig({ SYNCLINE_PUBLIC_URL: 'https://sync.example.com/' }).publicUrl).toBe('https://sync.example.com');
    expect(() => loadConfig({ SYNCLINE_PUBLIC_URL: 'sync.example.com' })).toThrow(new ConfigError('Invalid SYNCLINE_PUBLIC_URL: expected an http(s) URL, e.g. https://sync.example.com (got "sync.example.com")'));
  });

  test('empty strings count as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: '' })).toMatchObject({ port: 3003, databaseUrl: undefined });
  });

  test.each([
    ['PORT', 'abc', /^Invalid PORT: expected an integer between 1 and 65535 \(got "abc"\)$/],
    ['PORT', '70000', /^Invalid PORT: /],
    ['ENGINE_PORT', '1.5', /^Invalid ENGINE_PORT: /],
    ['DATABASE_URL', 'mysql://x', /^Invalid DATABASE_URL: expected a postgres:\/\/ or postgresql:\/\/ connection URL/],
    ['TEMPORAL_ADDRESS', 'http://temporal', /^Invalid TEMPORAL_ADDRESS: expected host:port/],
    ['SYNCLINE_ENCRYPTION_KEY', Buffer.alloc(16).toString('base64'), /^Invalid SYNCLINE_ENCRYPTION_KEY: expected base64 of exactly 32 bytes/],
    ['SYNCLINE_SECRET_KEY', 'short', /^Invalid SYNCLINE_SECRET_KEY: /],
    ['LOG_LEVEL', 'loud', /^Invalid LOG_LEVEL: expected one of fatal, error/],
    ['SYNCLINE_LOG_RETENTION_DAYS', '0', /^Invalid SYNCLINE_LOG_RETENTION_DAYS: expected a whole number of days from 1 to 3650/],
    ['SYNCLINE_LOG_RETENTION_DAYS', 'two', /^Invalid SYNCLINE_LOG_RETENTION_DAYS: /],
    ['SYNCLINE_METRICS_AUTH', 'basic', /^Invalid SYNCLINE_METRICS_AUTH: expected key \(a secret key is required\) or none/],
    ['SYNCLINE_WEBHOOK_RATE_LIMIT', '0', /^Invalid SYNCLINE_WEBHOOK_RATE_LIMIT: expected a whole number of provider webhooks per environment and minute/],
    ['DATABASE_PREPARED_STATEMENTS', '-1', /^Invalid DATABASE_PREPARED_STATEMENTS: expected a whole number of statements from 0 to 10000/],
    ['SYNCLINE_WORKFLOW_THREADS', '17', /^Invalid SYNCLINE_WORKFLOW_THREADS: expected a whole number of workflow threads from 0 \(the main thread\) to 16/],
    ['SYNCLINE_WORKER_SLOTS', '0', /^Invalid SYNCLINE_WORKER_SLOTS: expected a whole number of activities the worker runs at once, from 1/],
    ['SYNCLINE_MAX_RUNS_PER_ENVIRONMENT', '2.5', /^Invalid SYNCLINE_MAX_RUNS_PER_ENVIRONMENT: expected a whole number of runs of one environment at once, from 1/],
    ['SYNCLINE_MAX_RUNS_PER_CONNECTION', 'many', /^Invalid SYNCLINE_MAX_RUNS_PER_CONNECTION: expected a whole number of runs of one connection at once, from 1/],
    ['SYNCLINE_MAX_BATCH_MB', '0.5', /^Invalid SYNCLINE_MAX_BATCH_MB: expected a whole number of megabytes one batchSave call may carry, from 1/],
    ['SYNCLINE_RECORDS_IN_FLIGHT_MB', '0', /^Invalid SYNCLINE_RECORDS_IN_FLIGHT_MB: expected a whole number of megabytes of records all runs may hold at once, from 1/],
    ['SYNCLINE_RECORD_READS_AT_ONCE', '0', /^Invalid SYNCLINE_RECORD_READS_AT_ONCE: expected a whole number of GET \/records pages read at once, from 1/],
  ])('%s=%s stops start-up with one line naming it', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(message);
    try {
      loadConfig({ [name]: value });
    } catch (err) {
      expect((err as Error).message).not.toContain('\n');
    }
  });
});
