import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateNangoJson, generateSchemaJson, generateSchemaTs } from '../../src/config/generate-models';
import { parseNangoYaml } from '../../src/config/nango-yaml';
import { generate } from '../../src/cli/scripts';
import { compileScripts } from '../../src/runtime';

const YAML = `
integrations:
  garden-app:
    syncs:
      plants:
        runs: every hour
        output: Plant
        endpoint: GET /plants
        track_deletes: true
    actions:
      water:
        endpoint: POST /water
        input: Plant[]
        output: string
      move:
        endpoint: POST /move
        input: Plant | Pot
        output: Pot | null
    on-events:
      post-connection-creation:
        - setup
models:
  Plant:
    id: string
    height?: number
    planted: date
    stage: seed | sprout(early) | grown
    pots:
      - Pot
    notes:
      - text: string
    tags:
      __string: string
  Pot:
    size: integer
`;

const config = parseNangoYaml(YAML);

describe('.nango/ outputs', () => {
  test('schema.ts has the model types and no helper typings', () => {
    const ts = generateSchemaTs(config);
    expect(ts).toContain('export interface Plant {');
    expect(ts).toContain("  stage: 'seed' | 'sprout(early)' | 'grown';\n");
    expect(ts).toContain('export type Anonymous_gardenapp_action_water_input = Plant[];\n');
    expect(ts).toContain('export type Anonymous_gardenapp_action_move_output = Pot | null;\n');
    expect(ts).not.toContain('NangoSync');
  });

  test('schema.json has one JSON Schema definition per model, anonymous ones included', () => {
    const schema = JSON.parse(generateSchemaJson(config));
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(Object.keys(schema.definitions)).toEqual([
      'Plant',
      'Pot',
      'Anonymous_gardenapp_action_water_input',
      'Anonymous_gardenapp_action_water_output',
      'Anonymous_gardenapp_action_move_input',
      'Anonymous_gardenapp_action_move_output',
    ]);
    expect(schema.definitions.Plant).toEqual({
      type: 'object',
      properties: {
        id: { type: 'string' },
        height: { type: 'number' },
        planted: { type: 'string', format: 'date-time' },
        stage: { type: 'string', enum: ['seed', 'sprout(early)', 'grown'] },
        pots: { type: 'array', items: { $ref: '#/definitions/Pot' } },
        notes: { type: 'array', items: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'], additionalProperties: false } },
        tags: { type: 'object', properties: {}, additionalProperties: { type: 'string' } },
      },
      required: ['id', 'planted', 'stage', 'pots', 'notes', 'tags'],
      additionalProperties: false,
    });
    expect(schema.definitions.Anonymous_gardenapp_action_water_input).toEqual({ type: 'array', items: { $ref: '#/definitions/Plant' } });
    expect(schema.definitions.Anonymous_gardenapp_action_water_output).toEqual({ type: 'string' });
    expect(schema.definitions.Anonymous_gardenapp_action_move_output).toEqual({ anyOf: [{ $ref: '#/definitions/Pot' }, { type: 'null' }] });
  });

  test('nango.json has the parsed integrations in the shape Nango writes', () => {
    const [garden] = JSON.parse(generateNangoJson(config));
    expect(garden.providerConfigKey).toBe('garden-app');
    expect(garden.syncs).toEqual([
      {
        name: 'plants',
        type: 'sync',
        endpoints: [{ method: 'GET', path: '/plants' }],
        description: '',
        sync_type: 'full',
        track_deletes: true,
        auto_start: true,
        runs: 'every hour',
        scopes: [],
        input: null,
        output: ['Plant'],
        usedModels: ['Plant', 'Pot'],
        webhookSubscriptions: [],
        version: '',
      },
    ]);
    expect(garden.actions[0]).toMatchObject({
      name: 'water',
      type: 'action',
      input: 'Anonymous_gardenapp_action_water_input',
      output: ['Anonymous_gardenapp_action_water_output'],
      endpoint: { method: 'POST', path: '/water' },
      usedModels: ['Anonymous_gardenapp_action_water_output', 'Anonymous_gardenapp_action_water_input', 'Plant', 'Pot'],
    });
    expect(garden.onEventScripts).toEqual({ 'post-connection-creation': ['setup'], 'pre-connection-deletion': [], 'validate-connection': [] });
  });
});

describe('generate, then compile', () => {
  let dir: string;
  beforeAll(() => {
    dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'syncline-generate-')), 'nango-integrations');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'nango.yaml'), YAML);
  });
  afterAll(() => fs.rmSync(path.dirname(dir), { recursive: true, force: true }));

  const write = (files: Record<string, string>) => {
    for (const [name, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      fs.writeFileSync(path.join(dir, name), text);
    }
  };

  test('writes models.ts and .nango/{schema.ts,schema.json,nango.json}', () => {
    const written = generate({ dir, format: 'yaml', yaml: YAML, config });
    expect(written.map((f) => path.relative(dir, f))).toEqual(['models.ts', '.nango/schema.ts', '.nango/schema.json', '.nango/nango.json']);
    expect(fs.readFileSync(path.join(dir, '.nango/schema.ts'), 'utf8')).toBe(generateSchemaTs(config));
  });

  test('scripts using list fields, anonymous input/output types and .nango/schema imports type-check', async () => {
    write({
      'garden-app/helpers.ts': `import type { Pot } from '../.nango/schema.js';
export const bigPot = (size: number): Pot => ({ size });
`,
      'garden-app/syncs/plants.ts': `import type { NangoSync } from '../../models';
import type { Plant } from '../../.nango/schema';
import { bigPot } from '../helpers';
export default async function fetchData(nango: NangoSync): Promise<void> {
  const plant: Plant = { id: '1', planted: new Date(), stage: 'sprout(early)', pots: [bigPot(3)], notes: [{ text: 'ok' }], tags: { a: 'b' } };
  await nango.batchSave([plant], 'Plant');
}
`,
      'garden-app/actions/water.ts': `import type { NangoAction, Anonymous_gardenapp_action_water_input, Anonymous_gardenapp_action_water_output } from '../../models';
export default async function runAction(nango: NangoAction, input: Anonymous_gardenapp_action_water_input): Promise<Anonymous_gardenapp_action_water_output> {
  await nango.log(input.length);
  return input.map((p) => p.id).join(',');
}
`,
      'garden-app/actions/move.ts': `import type { NangoAction, Anonymous_gardenapp_action_move_input, Anonymous_gardenapp_action_move_output } from '../../models';
export default async function runAction(_nango: NangoAction, input: Anonymous_gardenapp_action_move_input): Promise<Anonymous_gardenapp_action_move_output> {
  return 'size' in input ? input : 42;
}
`,
    });
    const { scripts, errors } = await compileScripts({ root: dir }, ['garden-app/syncs/plants.ts', 'garden-app/actions/water.ts', 'garden-app/actions/move.ts']);
    expect(scripts.map((s) => s.entry).sort()).toEqual(['garden-app/actions/water.ts', 'garden-app/syncs/plants.ts']);
    // The anonymous output type is checked: 42 is not `Pot | null`.
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/^garden-app\/actions\/move\.ts:3:\d+ Type '42' is not assignable/)]);
  });
});
