import { NangoYamlError, parseNangoYaml, parseRuns } from '../../src/config/nango-yaml';
import { generateModelsTs } from '../../src/config/generate-models';

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
