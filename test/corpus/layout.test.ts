import { declaredScripts, filesUnder, firstLine, layOut, providerFolders, report, resolveLink, type Tree, type TreeEntry } from '../../scripts/corpus/layout';

// The pure half of `npm run corpus`, on a small template repository of our own.
const file = (text: string): TreeEntry => ({ kind: 'file', text });
const link = (target: string): TreeEntry => ({ kind: 'link', target });

const yaml = `integrations:
  \${PWD}:
    syncs:
      tickets:
        runs: every hour
        output: Ticket
        endpoint: GET /tickets
    actions:
      close-ticket:
        output: Ticket
`;

const tree: Tree = new Map<string, TreeEntry>([
  ['integrations/helpdesk/nango.yaml', file(yaml)],
  ['integrations/helpdesk/syncs/tickets.ts', file('export default async function fetchData() {}')],
  ['integrations/helpdesk/actions/close-ticket.ts', file('export default async function runAction() {}')],
  ['integrations/helpdesk/helpers/paging.ts', file('export const pageSize = 50;')],
  ['integrations/helpdesk/tests/tickets.test.ts', file("import { it } from 'vitest';")],
  ['integrations/helpdesk/mocks/tickets.json', file('[]')],
  // An alias: its own name, the other folder's yaml and scripts.
  ['integrations/helpdesk-eu/nango.yaml', link('../helpdesk/nango.yaml')],
  ['integrations/helpdesk-eu/syncs', link('../helpdesk/syncs')],
  ['integrations/helpdesk-eu/actions', link('../helpdesk/actions')],
  ['integrations/helpdesk-eu/helpers', link('../helpdesk/helpers')],
  // A folder in the newer format: no nango.yaml.
  ['integrations/crm/syncs/contacts.ts', file("import { createSync } from 'nango';")],
  ['README.md', file('# templates')],
]);

test('provider folders: aliases are the folders whose nango.yaml links to another folder', () => {
  expect(providerFolders(tree)).toEqual([
    { name: 'crm', format: 'zero-yaml' },
    { name: 'helpdesk', format: 'yaml' },
    { name: 'helpdesk-eu', format: 'yaml', aliasOf: 'helpdesk' },
  ]);
});

test('links resolve relative to the folder that holds them', () => {
  expect(resolveLink('integrations/a/nango.yaml', '../b/nango.yaml')).toBe('integrations/b/nango.yaml');
  expect(resolveLink('integrations/a/syncs', './shared/syncs')).toBe('integrations/a/shared/syncs');
});

test('a provider is laid out as a project: its yaml at the top with ${PWD} replaced, its folder beside it, tests and mocks left out', () => {
  const project = layOut(tree, 'helpdesk');
  expect([...project.keys()].sort()).toEqual(['helpdesk/actions/close-ticket.ts', 'helpdesk/helpers/paging.ts', 'helpdesk/syncs/tickets.ts', 'nango.yaml']);
  expect(project.get('nango.yaml')).toContain('  helpdesk:\n    syncs:');
  expect(project.get('nango.yaml')).not.toContain('${PWD}');
});

test('an alias is laid out under its own name with the linked folders followed', () => {
  const project = layOut(tree, 'helpdesk-eu');
  expect(project.get('helpdesk-eu/syncs/tickets.ts')).toBe('export default async function fetchData() {}');
  expect(project.get('helpdesk-eu/helpers/paging.ts')).toBe('export const pageSize = 50;');
  expect(project.get('nango.yaml')).toContain('  helpdesk-eu:\n');
});

test('a link cycle ends instead of recursing forever', () => {
  const cyclic: Tree = new Map([['integrations/x/loop', link('../x')], ['integrations/x/a.ts', file('a')]]);
  const files = filesUnder(cyclic, 'integrations/x');
  expect(files.get('a.ts')).toBe('a');
  expect(files.size).toBeLessThan(20);
});

test('declared scripts are read from a yaml Syncline may refuse', () => {
  expect(declaredScripts(yaml.replaceAll('${PWD}', 'helpdesk'))).toEqual(['helpdesk/tickets', 'helpdesk/close-ticket']);
  expect(declaredScripts('integrations:\n  a:\n    actions:\n      x:\n        output: "A | B"\nmodels:\n  A:\n    f:\n      - g: string\n')).toEqual(['a/x']);
  expect(declaredScripts('not: [valid')).toEqual([]);
});

test('the report has one line per failing script and the totals over providers and scripts', () => {
  const lines = report(
    [
      { provider: 'helpdesk', script: 'helpdesk/tickets' },
      { provider: 'helpdesk', script: 'helpdesk/close-ticket', error: "Property 'x' does not exist" },
      { provider: 'crm', script: 'crm/contacts' },
    ],
    ['crm', 'helpdesk', 'empty'],
  );
  expect(lines).toEqual(["FAIL helpdesk helpdesk/close-ticket: Property 'x' does not exist", '2/3 providers, 2/3 scripts']);
});

test('errors are cut to one line', () => {
  expect(firstLine('first\nsecond')).toBe('first');
  expect(firstLine('x'.repeat(400), 10)).toBe(`${'x'.repeat(9)}…`);
});
