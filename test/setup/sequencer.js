const Sequencer = require('@jest/test-sequencer').default;

/**
 * The files that take longest (45 s to 2 min each on CI's two cores), slowest first. Jest orders by
 * the durations it cached on earlier runs, which a fresh CI machine does not have; by file size
 * otherwise, and a short file can be a slow one (it waits on timeouts, restarts processes). Started
 * first, they end with the others rather than leaving one worker running them alone at the end.
 */
const SLOWEST = [
  'test/engine/lease.test.ts',
  'test/orchestration/crash.test.ts',
  'test/orchestration/crash-loop.test.ts',
  'test/outage/outage.test.ts',
  'test/engine/temporal-ui.test.ts',
  'test/cli/zero-yaml-project.test.ts',
  'test/cli/start.test.ts',
  'test/cli/zero-yaml-fixture.test.ts',
  'test/cli/migrate.test.ts',
  'test/cli/commands.test.ts',
  'test/orchestration/syncs.test.ts',
  'test/cli/validate-connection.test.ts',
  'test/engine/differential.test.ts',
  'test/cli/nango-cli.test.ts',
];

class SlowestFirst extends Sequencer {
  sort(tests) {
    const rank = (test) => {
      const i = SLOWEST.findIndex((file) => test.path.endsWith(file));
      return i < 0 ? SLOWEST.length : i;
    };
    // Stable: the rest keep jest's own order (cached durations, else size).
    return [...super.sort(tests)].sort((a, b) => rank(a) - rank(b));
  }
}

module.exports = SlowestFirst;
