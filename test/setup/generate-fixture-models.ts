import fs from 'node:fs';
import path from 'node:path';
import { generateModelsTs } from '../../src/config/generate-models';
import { loadNangoYaml } from '../../src/config/nango-yaml';
import { HELPER_DECLARATIONS } from '../../src/runtime/declarations';

/** The seed fixture's models.ts, generated from its nango.yaml (not committed: it is `syncline generate`'s output). */
export const FIXTURE_ROOT = path.join(__dirname, '../fixtures/nango-integrations');

/**
 * jest globalSetup: writes the fixture's models.ts before any test runs, through a temporary file
 * and a rename so a reader never sees half a file.
 */
export default function generateFixtureModels(): void {
  const models = generateModelsTs(loadNangoYaml(path.join(FIXTURE_ROOT, 'nango.yaml')), HELPER_DECLARATIONS);
  const target = path.join(FIXTURE_ROOT, 'models.ts');
  const temporary = `${target}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, models);
  fs.renameSync(temporary, target);
}
