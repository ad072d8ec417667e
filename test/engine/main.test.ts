import { spawnEngine } from './process';

describe('the engine process (src/engine/main.ts)', () => {
  test.each([
    ['DATABASE_PREPARED_STATEMENTS', 'lots', /Invalid DATABASE_PREPARED_STATEMENTS: expected a whole number of statements from 0 to 10000 \(got "lots"\)/],
    ['DATABASE_PREPARED_STATEMENTS', '10001', /Invalid DATABASE_PREPARED_STATEMENTS: expected a whole number of statements from 0 to 10000 \(got "10001"\)/],
    ['ENGINE_PORT', '72330', /Invalid ENGINE_PORT: expected an integer between 1 and 65535 \(got "72330"\)/],
  ])('refuses %s=%s with the setting named, before it opens anything', async (name, value, message) => {
    await expect(spawnEngine({ [name]: value, ENGINE_DATA_DIR: '' })).rejects.toThrow(message);
  }, 30_000);
});
