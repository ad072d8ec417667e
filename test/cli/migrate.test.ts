import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cliEnv, runCli } from '../helpers/cli';
import { startTestServer, type TestServer } from '../helpers/server';

// `syncline migrate` on our own nango.yaml project (a sync with metadata and a webhook handler, an
// action throwing ActionError, an on-event script, a helper file): what it writes, then the
// migrated project compiles and deploys to the same syncs and actions the nango.yaml deployed.
jest.setTimeout(180_000);

const FIXTURE = path.join(__dirname, '../fixtures/yaml-project/nango-integrations');

let server: TestServer;
let cwd: string;
let dir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  server = await startTestServer();
  cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'syncline-migrate-'));
  dir = path.join(cwd, 'nango-integrations');
  fs.cpSync(FIXTURE, dir, { recursive: true });
  env = cliEnv(server);
  await server.store.integrations.create(server.env.dev, { uniqueKey: 'fake', provider: 'github' });
}, 60_000);

afterAll(async () => {
  await server?.close();
  if (cwd) fs.rmSync(cwd, { recursive: true, force: true });
});

const syncline = (args: string[]) => runCli(args, { cwd, env });
const read = (file: string) => fs.readFileSync(path.join(dir, file), 'utf8');

/** What a deployment says about each script, whatever the format it came from. */
async function deployed() {
  const scripts = await server.store.scripts.active(server.env.dev);
  const onEvents = await server.store.scripts.activeOnEvents(server.env.dev);
  return {
    scripts: [...scripts].sort((a, b) => a.name.localeCompare(b.name)).map((s) => {
      const c = s.config as unknown as Record<string, unknown>;
      const pick = (keys: string[]) => Object.fromEntries(keys.filter((k) => c[k] !== undefined).map((k) => [k, c[k]]));
      return { type: s.type, name: s.name, ...pick(['runs', 'output', 'syncType', 'trackDeletes', 'autoStart', 'webhookSubscriptions', 'endpoints', 'endpoint', 'description']) };
    }),
    onEvents: onEvents.map((o) => ({ integration: o.integration, event: o.event, name: o.name })),
  };
}

test('the migrated project compiles and deploys the same syncs, actions and on-event scripts as its nango.yaml did', async () => {
  const before = await syncline(['deploy']);
  expect(before.stderr).not.toContain('problem');
  expect(before.code).toBe(0);
  const fromYaml = await deployed();
  expect(fromYaml.scripts.map((s) => s.name)).toEqual(['contacts', 'find-contact']);

  const migrated = await syncline(['migrate']);
  expect(migrated.stderr).toBe('');
  expect(migrated.code).toBe(0);
  expect(migrated.stdout).toContain(
    'wrote models.ts\nwrote fake/syncs/contacts.ts\nwrote fake/actions/find-contact.ts\nwrote fake/on-events/setup.ts\nwrote fake/helpers/map.ts\nwrote index.ts\nwrote package.json\nremoved nango.yaml\n',
  );
  expect(fs.existsSync(path.join(dir, 'nango.yaml'))).toBe(false);
  expect(read('index.ts')).toBe("import './fake/syncs/contacts.js';\nimport './fake/actions/find-contact.js';\nimport './fake/on-events/setup.js';\n");
  expect(JSON.parse(read('package.json')).devDependencies).toEqual({ zod: '^4.0.0' });
  expect(read('models.ts')).toContain("export const Contact = z.object({\n  id: z.string(),\n  email: z.string(),\n  label: z.string().nullable().optional(),\n  tags: z.array(z.string())\n});\nexport type Contact = z.infer<typeof Contact>;");
  const sync = read('fake/syncs/contacts.ts');
  expect(sync).toMatch(/^import \{ createSync \} from 'nango';\nimport \{ Contact, ContactMetadata \} from '..\/..\/models.js';\n/);
  expect(sync).toContain("// Pages through the contacts with the label of the connection's metadata.\nconst sync = createSync({");
  expect(sync).toContain("    webhookSubscriptions: ['contact.deleted'],\n    models: { Contact },\n    metadata: ContactMetadata,\n    exec: async (nango) => {");
  expect(sync).toContain('    onWebhook: async (nango, payload: { id: string }) => {');
  expect(sync).not.toContain('onWebhookPayloadReceived');
  expect(read('fake/actions/find-contact.ts')).toMatch(/^import \{ createAction, ActionError \} from 'nango';\n/);
  expect(read('fake/helpers/map.ts')).toMatch(/^import \{ Contact \} from '..\/..\/models.js';\n/);

  const compiled = await syncline(['compile']);
  expect(compiled.stderr).not.toContain('problem');
  expect(compiled.code).toBe(0);
  expect(compiled.stdout).toContain('compiled fake/syncs/contacts.ts\ncompiled fake/actions/find-contact.ts\n');

  const after = await syncline(['deploy']);
  expect(after.stderr).not.toContain('problem');
  expect(after.code).toBe(0);
  // The same, except that in this format an action's output model is named as Nango names it.
  const renamed = fromYaml.scripts.map((s) => (s.type === 'action' ? { ...s, output: ['ActionOutput_fake_findcontact'] } : s));
  expect(await deployed()).toEqual({ ...fromYaml, scripts: renamed });

  // Migrating twice is refused: there is no nango.yaml any more.
  const again = await syncline(['migrate']);
  expect(again.code).not.toBe(0);
  expect(again.stderr).toContain('has no nango.yaml: its scripts already declare themselves');
});
