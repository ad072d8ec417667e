// Scripts written for Nango type-check and run here as there: the helper typings and compiler
// options, both ActionError forms, zodValidateInput, getWebhookURL, the zod major of a project, and
// the imports Nango allows that Syncline refuses.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateModelsTs } from '../../src/config/generate-models';
import { parseNangoYaml } from '../../src/config/nango-yaml';
import { compileScripts, HELPER_DECLARATIONS, projectZodMajor, storeServices, type CompiledScript, type ZodMajor } from '../../src/runtime';
import { savePublicUrl } from '../../src/store/settings';
import { harness, outputOf, script, type Harness } from './harness';

const YAML = `
integrations:
  demo:
    actions:
      act:
        endpoint: POST /act
        output: Item
models:
  Item:
    id: string
    name: string
`;
const MODELS = generateModelsTs(parseNangoYaml(YAML), HELPER_DECLARATIONS);

let dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** A throwaway project: `<parent>/nango-integrations/` with models.ts and `files`; `parentFiles` go in the parent. */
function project(files: Record<string, string>, parentFiles: Record<string, string> = {}): string {
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'syncline-compat-'));
  dirs.push(parent);
  const root = path.join(parent, 'nango-integrations');
  for (const [name, text] of Object.entries({ 'models.ts': MODELS, ...files })) {
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    fs.writeFileSync(path.join(root, name), text);
  }
  for (const [name, text] of Object.entries(parentFiles)) fs.writeFileSync(path.join(parent, name), text);
  return root;
}

/** Compiles `source` as `demo/actions/act.ts`; the compiled script, or the compile error messages. */
async function compile(source: string, options: { zod?: ZodMajor; files?: Record<string, string>; parentFiles?: Record<string, string> } = {}) {
  const root = project({ 'demo/actions/act.ts': source, ...options.files }, options.parentFiles);
  const { scripts, errors } = await compileScripts({ root, ...(options.zod ? { zod: options.zod } : {}) }, ['demo/actions/act.ts']);
  return { script: scripts[0] as CompiledScript | undefined, issues: errors.flatMap((e) => e.issues.map((i) => `${i.line}: ${i.message}`)) };
}

let h: Harness;
beforeAll(async () => {
  h = await harness();
}, 60_000);
afterAll(() => h.close());

describe('script typings and compiler options follow Nango', () => {
  test("a script using Nango's API as Nango types it compiles", async () => {
    const { issues } = await compile(`import type { NangoAction, ProxyConfiguration, Item } from '../../models';

const paginationType: string = ['cursor', 'link'][0] ?? 'offset';

export default async function runAction(nango: NangoAction, input: { id: string }): Promise<Item> {
  if (!input.id) {
    throw new nango.ActionError({ message: 'id is required' });
  }
  const config: ProxyConfiguration = {
    endpoint: '/items',
    retries: 3,
    retryOn: null,
    params: { q: 'open', page: 1 },
    paginate: {
      type: paginationType,
      limit: '50',
      limit_name_in_request: 'per_page',
      cursor_name_in_request: 'cursor',
      cursor_path_in_response: 'next',
      response_path: 'items'
    }
  };
  for await (const page of nango.paginate<{ id: string }>(config)) {
    await nango.log('page', page.length, { level: 'debug' });
  }
  await nango.log({ some: 'object' });
  const changed = await nango.setMetadata({ a: 1 });
  const connectionIds: string | string[] = changed.data.connection_id;
  const merged = await nango.updateMetadata({ b: 2 });
  const connection = await nango.getConnection();
  let token = '';
  if (connection.credentials.type === 'OAUTH2') {
    token = connection.credentials.access_token;
  }
  const subdomain = connection.connection_config['subdomain'];
  const webhookUrl: string | null | undefined = await nango.getWebhookURL();
  await nango.triggerAction('demo', 'c1', 'other', { x: 1 });
  const integration = await nango.getIntegration({ include: ['credentials'] });
  const clientId = integration.credentials && 'client_id' in integration.credentials ? integration.credentials.client_id : '';
  let fetched: Response | undefined;
  if (input.id === 'fetch') fetched = await nango.uncontrolledFetch({ url: new URL('https://example.com'), headers: Object.fromEntries(new Headers({ a: 'b' })) });
  return { id: String(connectionIds) + token + String(subdomain) + String(webhookUrl) + String(merged.status) + clientId + String(fetched?.headers.get('a')), name: 'n' };
}
`);
    expect(issues).toEqual([]);
  });

  test('zodValidateInput types data from the schema', async () => {
    const { issues } = await compile(`import { z } from 'zod';
import type { NangoAction } from '../../models';

const schema = z.object({ id: z.string(), count: z.number().optional() });

export default async function runAction(nango: NangoAction, input: unknown) {
  const parsed = await nango.zodValidateInput({ zodSchema: schema, input });
  const id: string = parsed.data.id;
  // @ts-expect-error data is the schema's output, not any
  const wrong: number = parsed.data.id;
  return { id, wrong, success: parsed.success };
}
`);
    expect(issues).toEqual([]);
  });

  test('what Nango refuses is refused: exactOptionalPropertyTypes, index-signature access, unused locals', async () => {
    const { issues } = await compile(`import type { NangoAction, ProxyConfiguration } from '../../models';

export default async function runAction(nango: NangoAction) {
  const unused = 1;
  const config: ProxyConfiguration = { endpoint: '/x', retries: undefined };
  const connection = await nango.getConnection();
  return [config, connection.connection_config.subdomain];
}
`);
    expect(issues).toEqual([
      expect.stringMatching(/^4: 'unused' is declared but its value is never read/),
      expect.stringMatching(/^5: Type '\{ endpoint: string; retries: undefined; \}' is not assignable .*exactOptionalPropertyTypes/s),
      expect.stringMatching(/^7: Property 'subdomain' comes from an index signature, so it must be accessed with \['subdomain'\]/),
    ]);
  });
});

describe('ActionError', () => {
  const thrower = (form: 'nango' | 'models', payload: string) =>
    form === 'nango'
      ? `import type { NangoAction } from '../../models';

export default async function runAction(nango: NangoAction) {
  throw new nango.ActionError(${payload});
}
`
      : `import type { NangoAction } from '../../models';
import { ActionError } from '../../models';

export default async function runAction(_nango: NangoAction) {
  throw new ActionError(${payload});
}
`;

  const failure = async (form: 'nango' | 'models', payload: string) => {
    const { script: compiled, issues } = await compile(thrower(form, payload));
    expect(issues).toEqual([]);
    const result = await h.run(compiled!.code);
    if (result.success) throw new Error('the action succeeded');
    return { type: result.error.type, message: result.error.message, payload: result.error.details.payload, response: result.error.toResponse() };
  };

  test.each([
    ["{ message: 'Invalid email', field: 'email' }", { message: 'Invalid email', field: 'email' }],
    ["'Failed to fetch document: Status Code 404'", { message: 'Failed to fetch document: Status Code 404' }],
    ['', {}],
  ])('new nango.ActionError(%s) and the class of models.ts reach the caller alike', async (payload, expected) => {
    const viaNango = await failure('nango', payload);
    const viaModels = await failure('models', payload);
    expect(viaNango).toEqual(viaModels);
    expect(viaNango.type).toBe('action_script_runtime_error');
    expect(viaNango.payload).toEqual(expected);
    expect(viaNango.response).toEqual({ error: { type: 'action_script_runtime_error', payload: expected } });
  });
});

describe('Headers', () => {
  // The same operations in the sandbox and with Node's own Headers: the results must be equal.
  const operations = `
  const h = new Headers({ 'X-Custom': 'a' });
  h.append('x-custom', 'b');
  h.append('Set-Cookie', 'k=1');
  h.append('set-cookie', 'k=2');
  h.set('Content-Type', ' text/plain ');
  let invalid = null;
  try {
    h.set('bad name', 'x');
  } catch (err) {
    invalid = err.name;
  }
  const copy = new Headers(h);
  copy.delete('X-CUSTOM');
  const seen = [];
  h.forEach((value, name) => seen.push(name + '=' + value));
  return {
    get: h.get('X-CUSTOM'),
    missing: h.get('nope'),
    has: h.has('CONTENT-TYPE'),
    entries: [...h],
    keys: [...h.keys()],
    values: [...h.values()],
    cookies: h.getSetCookie(),
    seen,
    invalid,
    copy: [...copy.keys()],
    original: h.has('x-custom'),
    fromPairs: [...new Headers([['B', '2'], ['a', '1']])],
    plain: Object.fromEntries(new Headers({ Accept: 'application/json' })),
    tag: Object.prototype.toString.call(h),
  };`;

  test("the sandbox's Headers behaves as Node's: names without case, values combined, set-cookie apart, sorted iteration", async () => {
    const inSandbox = outputOf(await h.run(script(operations)));
    const inNode = new Function('Headers', operations)(Headers);
    expect(inSandbox).toEqual(inNode);
    expect(inSandbox.get).toBe('a, b');
    expect(inSandbox.invalid).toBe('TypeError');
  });

  test('a Headers object given to nango.get is sent as its headers', async () => {
    const sent = outputOf(await h.run(script("const res = await nango.get({ endpoint: '/echo', headers: new Headers([['X-Sent', 'yes']]) }); return res.data.headers['x-sent'];")));
    expect(sent).toBe('yes');
  });
});

describe('zodValidateInput', () => {
  test("bad input: each issue is logged, then ActionError({ message: 'Invalid input provided' }) as Nango", async () => {
    const result = await h.run(
      script(`
      const { z } = require('zod');
      const schema = z.object({ email: z.string(), age: z.number() });
      await nango.zodValidateInput({ zodSchema: schema, input: { email: 1, age: 2 } });
      return 'not reached';
    `),
    );
    if (result.success) throw new Error('the action succeeded');
    expect(result.error.toResponse()).toEqual({ error: { type: 'action_script_runtime_error', payload: { message: 'Invalid input provided' } } });
    expect(result.logs.filter((l) => l.level === 'error').map((l) => l.message)).toEqual([expect.stringMatching(/^Invalid input provided: .+ at path email$/)]);
  });

  test('good input resolves to the parse result', async () => {
    const out = outputOf(
      await h.run(
        script(`
        const { z } = require('zod');
        const result = await nango.zodValidateInput({ zodSchema: z.object({ n: z.coerce.number() }), input: { n: '4' } });
        return result;
      `),
      ),
    );
    expect(out).toEqual({ success: true, data: { n: 4 } });
  });
});

describe('getWebhookURL', () => {
  test("the integration's incoming-webhook URL, under the server's public URL", async () => {
    const uuid = (await h.store.webhooks.environmentById(h.environmentId))!.uuid;
    const services = storeServices(h.store, h.environmentId, { publicUrl: 'https://sync.example.com/' });
    expect(outputOf(await h.run(script('return await nango.getWebhookURL();'), { services }))).toBe(`https://sync.example.com/webhook/${uuid}/github`);
  });

  test('null when the public URL is not known', async () => {
    expect(outputOf(await h.run(script('return await nango.getWebhookURL();')))).toBeNull();
  });

  test('by default under the public URL the server recorded at start (every process reads the same)', async () => {
    const uuid = (await h.store.webhooks.environmentById(h.environmentId))!.uuid;
    await savePublicUrl(h.store.db, { url: 'https://hooks.example.com', configured: false });
    expect(outputOf(await h.run(script('return await nango.getWebhookURL();')))).toBe(`https://hooks.example.com/webhook/${uuid}/github`);
  });
});

describe('the zod major of a project', () => {
  // Only zod 3 takes z.record with one argument and has ZodError.errors.
  const ZOD3 = `import { z } from 'zod';
import type { NangoAction } from '../../models';

export default async function runAction(_nango: NangoAction) {
  const result = z.record(z.string()).safeParse({ a: 1, b: 2 });
  return result.success ? 0 : result.error.errors.length;
}
`;
  // Only zod 4 has z.email() and z.iso.
  const ZOD4 = `import { z } from 'zod';
import type { NangoAction } from '../../models';

export default async function runAction(_nango: NangoAction) {
  return [z.email().safeParse('a@b.co').success, z.iso.date().safeParse('2025-07-30').success];
}
`;

  test('a nango.yaml project without package.json is zod 3: compiles and runs zod 3 code', async () => {
    const { script: compiled, issues } = await compile(ZOD3, { files: { 'nango.yaml': YAML } });
    expect(issues).toEqual([]);
    expect(compiled!.zod).toBe(3);
    expect(compiled!.code).toContain('require("zod/v3")');
    expect(outputOf(await h.run(compiled!.code))).toBe(2);
  });

  test('a project whose package.json (here in the parent folder) wants zod 4 compiles and runs zod 4 code', async () => {
    const { script: compiled, issues } = await compile(ZOD4, { files: { 'nango.yaml': YAML }, parentFiles: { 'package.json': JSON.stringify({ devDependencies: { zod: '^4.0.5' } }) } });
    expect(issues).toEqual([]);
    expect(compiled!.zod).toBe(4);
    expect(outputOf(await h.run(compiled!.code))).toEqual([true, true]);
  });

  test('each major refuses the other one API at the type-check', async () => {
    expect((await compile(ZOD4, { zod: 3 })).issues).toEqual([expect.stringMatching(/^5: Property 'email' does not exist/), expect.stringMatching(/^5: Property 'iso' does not exist/)]);
    expect((await compile(ZOD3, { zod: 4 })).issues).toEqual([expect.stringMatching(/^5: Expected 2-3 arguments, but got 1/), expect.stringMatching(/^6: Property 'errors' does not exist/)]);
  });

  test('zod/v3 and zod/v4 name their major in any project', async () => {
    const source = `import { z as z3 } from 'zod/v3';
import { z as z4 } from 'zod/v4';
import type { NangoAction } from '../../models';

export default async function runAction(_nango: NangoAction) {
  const three = z3.record(z3.number()).safeParse({ a: 'x' });
  return [three.success ? 0 : three.error.errors.length, z4.email().safeParse('no').success];
}
`;
    for (const zod of [3, 4] as const) {
      const { script: compiled, issues } = await compile(source, { zod });
      expect(issues).toEqual([]);
      expect(outputOf(await h.run(compiled!.code))).toEqual([1, false]);
    }
  });

  test("a bundle that requires plain 'zod' (every deployment made before the option) runs with zod 4", async () => {
    expect(outputOf(await h.run(script("const { z } = require('zod'); return [typeof z.email, typeof require('zod/v3').z.email];")))).toEqual(['function', 'undefined']);
  });

  test.each([
    [{ dependencies: { zod: '3.24.2' } }, 'root', false, 3],
    [{ devDependencies: { zod: '^4.1.0' } }, 'root', true, 4],
    [{ dependencies: { zod: '~3.25.76' } }, 'parent', false, 3],
    [{ dependencies: { other: '1.0.0' } }, 'root', true, 3],
    [{ dependencies: { other: '1.0.0' } }, 'root', false, 4],
    [{ dependencies: { zod: 'latest' } }, 'parent', true, 3],
  ])('projectZodMajor: package.json %j in the %s folder, nango.yaml %s -> zod %d', (manifest, where, yaml, expected) => {
    const root = project(yaml ? { 'nango.yaml': YAML } : {}, where === 'parent' ? { 'package.json': JSON.stringify(manifest) } : {});
    if (where === 'root') fs.writeFileSync(path.join(root, 'package.json'), JSON.stringify(manifest));
    expect(projectZodMajor(root)).toBe(expected);
  });
});

describe('imports Nango allows that Syncline refuses', () => {
  test.each([
    ['soap', /Import "soap" is not available in Syncline: a SOAP client opens its own connections.*nango\.post/],
    ['botbuilder', /Import "botbuilder" is not available in Syncline: the Bot Framework SDK opens its own connections.*nango\.post/],
    ['unzipper', /Import "unzipper" is not available in Syncline: it reads archives through files and streams.*decompress/],
    ['nango/experimental', /Import "nango\/experimental" is not available in Syncline: it holds createFunction, which Nango marks experimental.*createSync, createAction or createOnEvent/],
    ['fs', /Import "fs" is not allowed: scripts may import files of the integrations folder and these modules: zod, zod\/v3, zod\/v4, crypto, url/],
  ])('%s: the error names the module, why, and what to use', async (name, message) => {
    const { issues } = await compile(`import * as mod from '${name}';
import type { NangoAction } from '../../models';

export default async function runAction(_nango: NangoAction) {
  return typeof mod;
}
`);
    expect(issues).toEqual([expect.stringMatching(new RegExp(`^1: ${message.source}`))]);
  });
});
