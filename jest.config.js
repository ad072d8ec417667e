/**
 * Test files whose every test needs a real Postgres (several connections, backends terminated, a
 * server stopped): without DATABASE_URL (PGlite) they are not collected at all, rather than run
 * as skipped tests.
 */
const POSTGRES_ONLY = ['<rootDir>/test/outage/', '<rootDir>/test/engine/lease.test.ts', '<rootDir>/test/engine/schedule-crash.test.ts'];
/**
 * Test files that restart or stop the Postgres server itself, which would break every other test
 * running at the time: collected only with SYNCLINE_TEST_PG_RESTART=1 (.ci/run runs them after the suite).
 */
const SERVER_RESTARTS = ['<rootDir>/test/outage/restart.test.ts'];

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: [
    '/node_modules/',
    ...(process.env.DATABASE_URL ? [] : POSTGRES_ONLY),
    ...(process.env.SYNCLINE_TEST_PG_RESTART === '1' ? [] : SERVER_RESTARTS),
  ],
  // Generated files the fixtures need (not committed), written once before any test.
  globalSetup: '<rootDir>/test/setup/generate-fixture-models.ts',
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }] },
  testTimeout: 30000,
  // Each file gets its own database (schema or PGlite instance); two cores, so keep workers low.
  maxWorkers: 2,
  testSequencer: '<rootDir>/test/setup/sequencer.js',
};
