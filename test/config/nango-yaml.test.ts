import { NangoYamlError, parseNangoYaml, parseRuns } from '../../src/config/nango-yaml';
import { generateModelsTs } from '../../src/config/generate-models';
import { modelChecker } from '../../src/runtime/records';

const VALID = `
integrations:
  github:
    syncs:
      issues:
        description: Issues of the demo repository
        runs: every half hour
        output: GithubIssueDemo
        endpoint: GET /github/issues
        sync_type: incremental
        track_deletes: true
        scopes: [public_repo]
        input: RepoInput
        version: 2
        webhook-subscriptions: issues
      labels:
        runs: every 1h
        output: [Label, Milestone]
        endpoint:
          - GET /labels
          - method: GET
            path: /milestones
            group: Milestones
        auto_start: false
    actions:
      create-issue:
        endpoint: POST /github/issues
        input: GithubCreateIssueInput
        output: GithubIssueDemo
models:
  GithubIssueDemo:
    id: integer
    title: string
    url: string
    state: open | closed
    labels?: string[]
    assignee: User | null
    created_at: date
    extra: object
    nested:
      count: float
      flags: bool[]
  User:
    login: varchar
  Admin:
    __extends: User
    level: "'root' | 'ops'"
  Label:
    id: string
    __string: any
  Milestone:
    id: string
  RepoInput:
    repo: string
  GithubCreateIssueInput:
    title: string
    body?: string
`;

function issuesOf(yaml: string) {
  try {
    parseNangoYaml(yaml, 'nango.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(NangoYamlError);
    return (err as NangoYamlError).issues;
  }
  throw new Error('expected the file to be rejected');
}

describe('parseNangoYaml', () => {
  test('parses syncs, actions and models of the v2 shape', () => {
    const config = parseNangoYaml(VALID);
    const github = config.integrations[0]!;
    expect(github.key).toBe('github');
    expect(github.syncs[0]).toEqual({
      type: 'sync',
      integration: 'github',
      name: 'issues',
      description: 'Issues of the demo repository',
      runs: 'every half hour',
      intervalMs: 30 * 60_000,
      output: ['GithubIssueDemo'],
      endpoints: [{ method: 'GET', path: '/github/issues' }],
      syncType: 'incremental',
      trackDeletes: true,
      autoStart: true,
      scopes: ['public_repo'],
      input: 'RepoInput',
      version: '2',
      webhookSubscriptions: ['issues'],
    });
    expect(github.syncs[1]).toMatchObject({
      intervalMs: 3_600_000,
      output: ['Label', 'Milestone'],
      endpoints: [{ method: 'GET', path: '/labels' }, { method: 'GET', path: '/milestones', group: 'Milestones' }],
      syncType: 'full',
      trackDeletes: false,
      autoStart: false,
    });
    expect(github.actions[0]).toMatchObject({ name: 'create-issue', endpoint: { method: 'POST', path: '/github/issues' }, input: 'GithubCreateIssueInput', output: ['GithubIssueDemo'] });
    expect(config.models.get('Admin')!.fields.map((f) => f.name)).toEqual(['login', 'level']);
  });

  test('generates models.ts interfaces with aliases, optionals, unions, literals, nesting, references, __extends and __string', () => {
    const ts = generateModelsTs(parseNangoYaml(VALID), '// helper typings');
    expect(ts).toContain(`export interface GithubIssueDemo {
  id: number;
  title: string;
  url: string;
  state: 'open' | 'closed';
  labels?: string[];
  assignee: User | null;
  created_at: Date;
  extra: Record<string, any>;
  nested: {
    count: number;
    flags: boolean[];
  };
}`);
    expect(ts).toContain("export interface Admin {\n  login: string;\n  level: 'root' | 'ops';\n}");
    expect(ts).toContain('export interface Label {\n  id: string;\n  [key: string]: any;\n}');
    expect(ts).toContain('// helper typings');
  });

  test.each([
    ['every hour', 3_600_000],
    ['every half day', 43_200_000],
    ['every quarter hour', 900_000],
    ['every week', 604_800_000],
    ['every 30min', 1_800_000],
    ['every 2 days', 172_800_000],
    ['every 30s', 30_000],
    ['hourly', undefined],
    ['every banana', undefined],
  ])('runs "%s" → %s ms', (runs, expected) => {
    expect(parseRuns(runs)).toBe(expected);
  });

  test('every error names the file, the YAML path and the line, all in one report', () => {
    const issues = issuesOf(`integrations:
  github:
    syncs:
      issues:
        runs: every 10s
        output: Missing
        endpoint: FETCH /x
        sync_type: sometimes
        track_deletes: yes please
        run: every hour
    actions:
      issues:
        endpoint: POST /a
models:
  Fine:
    id: string
  Broken:
    id: (string
`);
    const at = (path: string) => issues.find((i) => i.path === path);
    expect(at('integrations.github.syncs.issues.runs')).toMatchObject({ file: 'nango.yaml', line: 5, message: expect.stringContaining('minimum is every 30 seconds') });
    expect(at('integrations.github.syncs.issues.output')).toMatchObject({ line: 6, message: 'unknown model "Missing"; declare it under "models"' });
    expect(at('integrations.github.syncs.issues.endpoint')).toMatchObject({ line: 7 });
    expect(at('integrations.github.syncs.issues.sync_type')).toMatchObject({ line: 8, message: 'expected "incremental" or "full"' });
    expect(at('integrations.github.syncs.issues.track_deletes')).toMatchObject({ line: 9, message: 'expected true or false' });
    expect(at('integrations.github.syncs.issues.run')).toMatchObject({ line: 10, message: expect.stringContaining('did you mean "runs"?') });
    expect(at('integrations.github.actions.issues')).toMatchObject({ line: 12, message: expect.stringContaining('already the name') });
    expect(at('models.Broken.id')).toMatchObject({ line: 18, message: expect.stringContaining('missing ")"') });
    // Sorted by line, one line each in the message.
    expect(issues.map((i) => i.line)).toEqual([...issues.map((i) => i.line)].sort((a, b) => a - b));
  });

  test('missing required keys point at the sync', () => {
    const issues = issuesOf('integrations:\n  github:\n    syncs:\n      issues:\n        description: x\nmodels: {}\n');
    expect(issues.map((i) => [i.path, i.line])).toEqual([
      ['integrations.github.syncs.issues.runs', 4],
      ['integrations.github.syncs.issues.output', 4],
      ['integrations.github.syncs.issues.endpoint', 4],
    ]);
  });

  test('YAML syntax errors and wrong shapes are reported with their line', () => {
    expect(issuesOf('integrations:\n  github:\n    syncs: [\n')[0]).toMatchObject({ file: 'nango.yaml', line: expect.any(Number) });
    expect(issuesOf('- just\n- a list\n')[0]!.message).toContain('expected a mapping');
    expect(issuesOf('integrations:\n  a: {}\n  a: {}\n')[0]!.message).toMatch(/unique/i);
    expect(issuesOf('integrations: {}\nmodels:\n  A:\n    __extends: B\n')[0]).toMatchObject({ path: 'models.A.__extends', line: 4 });
    expect(issuesOf('integrations: {}\nmodels:\n  A:\n    __extends: B\n  B:\n    __extends: A\n')[0]!.message).toContain('extends itself');
  });
});

// Forms Nango's own parser accepts: list-valued fields, inputs/outputs written as type
// expressions, and literals with parentheses.
const FORMS = `
integrations:
  shop-app:
    syncs:
      products:
        runs: every hour
        output: Product
        endpoint: GET /products
        input: string[]
    actions:
      add-tags:
        endpoint: POST /tags
        input: Tag[]
        output: boolean
      rename:
        endpoint: POST /rename
        input: Rename | Retitle
        output: Product | null
      describe:
        endpoint: GET /describe
        output: string
      count:
        output: number
      ping:
        output: Tag
models:
  Product:
    id: string
    variants:
      - sku: string
        price?: number
    labels:
      - string
    attributes:
      - __string: string
    mixed:
      - string | null
      - Tag
    grid:
      - - number
    status: pending(review) | pending | closed
    grouped: (Tag | Rename)[]
  Tag:
    name: string
  Rename:
    name: string
  Retitle:
    title: string
`;

describe('list fields', () => {
  const config = parseNangoYaml(FORMS);
  const field = (name: string) => config.models.get('Product')!.fields.find((f) => f.name === name)!.type;

  test('a list is an array of its items, each typed like a field', () => {
    expect(field('variants')).toEqual({
      kind: 'array',
      of: {
        kind: 'object',
        fields: [
          { name: 'sku', type: { kind: 'primitive', name: 'string' }, optional: false },
          { name: 'price', type: { kind: 'primitive', name: 'number' }, optional: true },
        ],
      },
    });
    expect(field('labels')).toEqual({ kind: 'array', of: { kind: 'primitive', name: 'string' } });
    expect(field('attributes')).toEqual({ kind: 'array', of: { kind: 'object', fields: [], index: { kind: 'primitive', name: 'string' } } });
    expect(field('mixed')).toEqual({
      kind: 'array',
      of: { kind: 'union', of: [{ kind: 'primitive', name: 'string' }, { kind: 'primitive', name: 'null' }, { kind: 'ref', model: 'Tag' }] },
    });
    expect(field('grid')).toEqual({ kind: 'array', of: { kind: 'array', of: { kind: 'primitive', name: 'number' } } });
  });

  test('models.ts gives arrays of the item types', () => {
    const ts = generateModelsTs(config, '');
    expect(ts).toContain('  variants: {\n    sku: string;\n    price?: number;\n  }[];\n');
    expect(ts).toContain('  labels: string[];\n');
    expect(ts).toContain('  attributes: {\n    [key: string]: string;\n  }[];\n');
    expect(ts).toContain('  mixed: (string | null | Tag)[];\n');
    expect(ts).toContain('  grid: number[][];\n');
  });

  test('an empty list or a bad item is an error at its line', () => {
    const yaml = (fields: string) => `integrations: {}\nmodels:\n  Thing:\n${fields}`;
    expect(issuesOf(yaml('    options: []\n'))).toEqual([
      { file: 'nango.yaml', path: 'models.Thing.options', line: 4, message: expect.stringContaining('empty list') },
    ]);
    expect(issuesOf(yaml('    options:\n      - label: string\n      - (string\n'))).toEqual([
      { file: 'nango.yaml', path: 'models.Thing.options.1', line: 6, message: expect.stringContaining('missing ")"') },
    ]);
  });
});

describe('literals with parentheses', () => {
  test('a "(" attached to a word is part of that literal; a spaced "(" groups', () => {
    const config = parseNangoYaml(FORMS);
    const type = (name: string) => config.models.get('Product')!.fields.find((f) => f.name === name)!.type;
    expect(type('status')).toEqual({
      kind: 'union',
      of: [
        { kind: 'literal', value: 'pending(review)' },
        { kind: 'literal', value: 'pending' },
        { kind: 'literal', value: 'closed' },
      ],
    });
    expect(type('grouped')).toEqual({ kind: 'array', of: { kind: 'union', of: [{ kind: 'ref', model: 'Tag' }, { kind: 'ref', model: 'Rename' }] } });
    const ts = generateModelsTs(config, '');
    expect(ts).toContain("  status: 'pending(review)' | 'pending' | 'closed';\n");
    expect(ts).toContain('  grouped: (Tag | Rename)[];\n');
  });

  test('a group after a word with a space is still a syntax error', () => {
    expect(issuesOf('integrations: {}\nmodels:\n  A:\n    x: pending (review)\n')[0]).toMatchObject({ line: 4, message: expect.stringContaining('unexpected "("') });
  });
});

describe('inputs and outputs written as type expressions', () => {
  const config = parseNangoYaml(FORMS);
  const shop = config.integrations[0]!;
  const action = (name: string) => shop.actions.find((a) => a.name === name)!;

  test('become anonymous models named as Nango names them; model names stay as they are', () => {
    expect(action('add-tags')).toMatchObject({ input: 'Anonymous_shopapp_action_addtags_input', output: ['Anonymous_shopapp_action_addtags_output'] });
    expect(action('rename')).toMatchObject({ input: 'Anonymous_shopapp_action_rename_input', output: ['Anonymous_shopapp_action_rename_output'] });
    expect(action('describe').output).toEqual(['Anonymous_shopapp_action_describe_output']);
    expect(action('ping').output).toEqual(['Tag']);
    expect(shop.syncs[0]).toMatchObject({ input: 'Anonymous_shopapp_sync_products_input', output: ['Product'] });
    expect(config.models.get('Anonymous_shopapp_action_addtags_input')).toEqual({
      name: 'Anonymous_shopapp_action_addtags_input',
      fields: [],
      type: { kind: 'array', of: { kind: 'ref', model: 'Tag' } },
    });
    expect(config.models.get('Anonymous_shopapp_action_describe_output')!.type).toEqual({ kind: 'primitive', name: 'string' });
    expect(config.warnings).toEqual([]);
  });

  test('models.ts declares them as type aliases', () => {
    const ts = generateModelsTs(config, '');
    expect(ts).toContain('export type Anonymous_shopapp_action_addtags_input = Tag[];\n');
    expect(ts).toContain('export type Anonymous_shopapp_action_addtags_output = boolean;\n');
    expect(ts).toContain('export type Anonymous_shopapp_action_rename_input = Rename | Retitle;\n');
    expect(ts).toContain('export type Anonymous_shopapp_action_rename_output = Product | null;\n');
    expect(ts).toContain('export type Anonymous_shopapp_action_describe_output = string;\n');
    expect(ts).toContain('export type Anonymous_shopapp_sync_products_input = string[];\n');
  });

  test('an undeclared name there is the string literal, with a warning', () => {
    const literal = parseNangoYaml('integrations:\n  demo:\n    actions:\n      act:\n        output: Reslt\nmodels: {}\n');
    expect(literal.models.get('Anonymous_demo_action_act_output')!.type).toEqual({ kind: 'literal', value: 'Reslt' });
    expect(literal.warnings).toEqual([
      { file: 'nango.yaml', path: 'integrations.demo.actions.act.output', line: 5, message: expect.stringContaining("string literal 'Reslt'") },
    ]);
  });

  test("a sync's output must still name declared models; a bad expression is an error", () => {
    const issues = issuesOf(`integrations:
  demo:
    syncs:
      items:
        runs: every hour
        output: Item[]
        endpoint: GET /items
    actions:
      act:
        input: Item | (
models:
  Item:
    id: string
`);
    expect(issues).toEqual([
      { file: 'nango.yaml', path: 'integrations.demo.syncs.items.output', line: 6, message: expect.stringContaining('cannot be a type expression') },
      { file: 'nango.yaml', path: 'integrations.demo.actions.act.input', line: 10, message: expect.stringContaining('neither a declared model nor a type') },
    ]);
  });

  test('two expressions that would get the same anonymous name are an error', () => {
    const issues = issuesOf('integrations:\n  a-b:\n    actions:\n      x:\n        output: string\n  ab:\n    actions:\n      x:\n        output: number\nmodels: {}\n');
    expect(issues).toEqual([
      { file: 'nango.yaml', path: 'integrations.ab.actions.x.output', line: 9, message: expect.stringContaining('"Anonymous_ab_action_x_output", which another model already has') },
    ]);
  });

  test('records, inputs and outputs are checked against these types', () => {
    const check = (name: string) => modelChecker(config.models.get(name)!, config.models);
    const product = { id: 'p1', variants: [{ sku: 'a', price: 2 }, { sku: 'b' }], labels: ['x'], attributes: [{ k: 'v' }], mixed: ['s', null, { name: 't' }], grid: [[1, 2], []], status: 'pending(review)', grouped: [{ name: 'n' }] };
    expect(check('Product')(product)).toEqual([]);
    expect(check('Product')({ ...product, variants: [{ price: 1 }], labels: 'x', attributes: [{ k: 1 }], mixed: [3], grid: [['1']], status: 'pending(' })).toEqual([
      'variants[0].sku: missing',
      'labels: expected an array, got "x"',
      'attributes[0].k: expected string, got number',
      "mixed[0]: number matches none of the union's types",
      'grid[0][0]: expected number, got "1"',
      'status: "pending(" matches none of the union\'s types',
    ]);
    expect(check('Anonymous_shopapp_action_describe_output')('text')).toEqual([]);
    expect(check('Anonymous_shopapp_action_describe_output')(3)).toEqual(['value: expected string, got number']);
    expect(check('Anonymous_shopapp_action_addtags_input')([{ name: 'a' }])).toEqual([]);
    expect(check('Anonymous_shopapp_action_addtags_input')({ name: 'a' })).toEqual(['value: expected an array, got object']);
    expect(check('Anonymous_shopapp_action_addtags_input')([{ name: 1 }])).toEqual(['[0].name: expected string, got number']);
    expect(check('Anonymous_shopapp_action_rename_input')({ title: 't' })).toEqual([]);
    expect(check('Anonymous_shopapp_action_rename_input')({ other: 't' })).toEqual(["value: object matches none of the union's types"]);
    expect(check('Anonymous_shopapp_action_rename_output')(null)).toEqual([]);
    expect(check('Anonymous_shopapp_action_addtags_output')('yes')).toEqual(['value: expected boolean, got "yes"']);
  });
});
