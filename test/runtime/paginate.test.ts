import { PROVIDERS, type ProviderDefinition } from '../../src/providers';
import { linkRel } from '../../src/runtime/paginate';
import { harness, outputOf, script, type Harness } from './harness';

let h: Harness;
let hubspot: ProviderDefinition;
beforeAll(async () => {
  h = await harness();
  hubspot = { ...PROVIDERS.hubspot!, proxy: { ...PROVIDERS.hubspot!.proxy!, base_url: h.api.url } };
}, 60_000); // a loaded machine can take long to start the database and the fake API
afterAll(() => h.close());
beforeEach(() => h.api.reset());

/** Every page of `nango.paginate(config)`, as lists of ids. */
const pages = async (config: string, options = {}) =>
  outputOf(await h.run(script(`const out = []; for await (const page of nango.paginate(${config})) out.push(page.map((i) => i.id)); return out;`), options));

test("link header (GitHub's default), page size overridden per call", async () => {
  expect(await pages(`{ endpoint: '/repos/o/r/issues', paginate: { limit: 3 } }`)).toEqual([
    [1001, 1002, 1003],
    [1004, 1005, 1006],
    [1007],
  ]);
  expect(h.api.requests.map((r) => r.query)).toEqual([
    { per_page: '3' },
    { per_page: '3', page: '2' },
    { per_page: '3', page: '3' },
  ]);
  expect(h.api.requests.every((r) => r.headers.authorization?.startsWith('Bearer '))).toBe(true);
});

test("body cursor (HubSpot's default) in the query", async () => {
  expect(await pages(`{ endpoint: '/crm/v3/objects/contacts', paginate: { limit: 2 } }`, { provider: hubspot })).toEqual([['1', '2'], ['3', '4'], ['5']]);
  expect(h.api.requests.map((r) => r.query.after)).toEqual([undefined, '2', '4']);
});

test('body cursor in the body of a POST', async () => {
  expect(await pages(`{ method: 'POST', endpoint: '/crm/v3/objects/contacts/search', data: { filterGroups: [] }, paginate: { limit: 3 } }`, { provider: hubspot })).toEqual([
    ['1', '2', '3'],
    ['4', '5'],
  ]);
  expect(h.api.requests.map((r) => r.body)).toEqual([
    { filterGroups: [], limit: 3 },
    { filterGroups: [], limit: 3, after: '3' },
  ]);
});

test('offset by response size, overriding the provider default type', async () => {
  const config = `{ endpoint: '/offset/items', paginate: { type: 'offset', offset_name_in_request: 'offset', limit: 10, limit_name_in_request: 'limit', response_path: 'items' } }`;
  expect((await pages(config)).map((p: number[]) => p.length)).toEqual([10, 10, 3]);
  expect(h.api.requests.map((r) => r.query.offset)).toEqual(['0', '10', '20']);
});

test('offset per page (page numbers) stops on a short page', async () => {
  const config = `{ endpoint: '/pages/items', paginate: { type: 'offset', offset_name_in_request: 'page', offset_start_value: 1, offset_calculation_method: 'per-page', limit: 10, limit_name_in_request: 'size', response_path: 'items' } }`;
  expect((await pages(config)).map((p: number[]) => p.length)).toEqual([10, 10, 3]);
  expect(h.api.requests.map((r) => [r.query.page, r.query.size])).toEqual([
    ['1', '10'],
    ['2', '10'],
    ['3', '10'],
  ]);
});

test('a next link in the body', async () => {
  const config = `{ endpoint: '/bodylink/items', paginate: { type: 'link', link_path_in_response_body: 'links.next', response_path: 'data' } }`;
  expect((await pages(config)).map((p: number[]) => p.length)).toEqual([10, 10, 3]);
});

test('on_page sees each next page parameter and the whole response (as in Nango) before the page is yielded', async () => {
  const out = outputOf(
    await h.run(
      script(`
      const seen = [];
      const config = { endpoint: '/crm/v3/objects/contacts', paginate: { limit: 2, on_page: async ({ nextPageParam, response }) => { seen.push([nextPageParam ?? null, response.status, response.data.results.length, response.data.paging?.next?.after ?? null]); } } };
      for await (const page of nango.paginate(config)) seen.push(page.length);
      return seen;
    `),
      { provider: hubspot },
    ),
  );
  expect(out).toEqual([['2', 200, 2, '2'], 2, ['4', 200, 2, '4'], 2, [null, 200, 1, null], 1]);
});

test('leaving the loop early stops paging', async () => {
  const out = outputOf(await h.run(script(`for await (const page of nango.paginate({ endpoint: '/repos/o/r/issues', paginate: { limit: 2 } })) return page.length;`)));
  expect(out).toBe(2);
  expect(h.api.requests).toHaveLength(1);
});

test('failures during paging surface in the script, with retries', async () => {
  h.api.fail('/repos/o/r/issues', { status: 500 });
  expect((await pages(`{ endpoint: '/repos/o/r/issues', retries: 1 }`)).flat()).toHaveLength(7);
  h.api.reset();
  h.api.fail('/repos/o/r/issues', { status: 500 });
  const result = await h.run(script(`for await (const page of nango.paginate({ endpoint: '/repos/o/r/issues' })) {}`));
  expect(!result.success && result.error.message).toBe('AxiosError: Request failed with status code 500');
});

test('a response that is not a list is a clear error', async () => {
  const result = await h.run(script(`for await (const page of nango.paginate({ endpoint: '/echo' })) {}`));
  expect(!result.success && result.error.message).toContain('set paginate.response_path');
});

test('Link header parsing', () => {
  const header = '<https://api.x/items?page=2>; rel="next", <https://api.x/items?page=9>; rel="last"';
  expect(linkRel(header, 'next')).toBe('https://api.x/items?page=2');
  expect(linkRel(header, 'last')).toBe('https://api.x/items?page=9');
  expect(linkRel(header, 'prev')).toBeUndefined();
  expect(linkRel(undefined, 'next')).toBeUndefined();
});
