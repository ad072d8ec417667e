// The working example `syncline init` writes: the GitHub demo sync and action of Nango's docs.

export const NANGO_YAML = `integrations:
  github:
    syncs:
      issues:
        description: Issues of a repository (set metadata {"owner", "repo"} on the connection)
        runs: every hour
        output: GithubIssueDemo
        endpoint: GET /github/issues
        sync_type: full
        track_deletes: true
        input: GithubRepo
    actions:
      create-issue:
        description: Opens an issue
        endpoint: POST /github/issues
        input: GithubCreateIssueInput
        output: GithubIssueDemo

models:
  GithubRepo:
    owner: string
    repo: string
  GithubIssueDemo:
    id: integer
    title: string
    url: string
  GithubCreateIssueInput:
    owner: string
    repo: string
    title: string
    body?: string
`;

export const ISSUES_SYNC = `import type { GithubIssueDemo, GithubRepo, NangoSync } from '../../models';

export default async function fetchData(nango: NangoSync) {
    const { owner, repo } = await nango.getMetadata<GithubRepo>();

    // Fetch issues page by page (GitHub paginates with the Link header).
    for await (const page of nango.paginate<any>({ endpoint: \`/repos/\${owner}/\${repo}/issues\`, params: { state: 'all' } })) {
        // Map issues to your preferred schema.
        const issues: GithubIssueDemo[] = page.map(({ id, title, html_url }: any) => ({ id, title, url: html_url }));

        // Persist issues.
        await nango.batchSave(issues, 'GithubIssueDemo');
    }
}
`;

export const CREATE_ISSUE_ACTION = `import type { GithubCreateIssueInput, GithubIssueDemo, NangoAction } from '../../models';

export default async function runAction(nango: NangoAction, input: GithubCreateIssueInput): Promise<GithubIssueDemo> {
    const res = await nango.post({
        endpoint: \`/repos/\${input.owner}/\${input.repo}/issues\`,
        data: { title: input.title, body: input.body ?? '', labels: ['automatic'] }
    });
    return { id: res.data.id, title: res.data.title, url: res.data.html_url };
}
`;

export const ENV_FILE = `# Where \`syncline\` commands find the server. Never commit this file.
SYNCLINE_URL=http://localhost:3003
SYNCLINE_SECRET_KEY=
`;

export const GITIGNORE = `.env
dist/
`;

// The same example in Nango's current format (`syncline init --zero-yaml`): each script declares
// itself with zod 4 models, index.ts lists the scripts, and there is no nango.yaml.

export const ZERO_YAML_INDEX = `import './github/syncs/issues.js';
import './github/actions/create-issue.js';
`;

export const ZERO_YAML_PACKAGE_JSON = `{
  "name": "nango-integrations",
  "private": true,
  "devDependencies": {
    "zod": "^4.0.0"
  }
}
`;

export const ZERO_YAML_ISSUES_SYNC = `import { createSync } from 'nango';
import { z } from 'zod';

const GithubIssueDemo = z.object({
    id: z.string(),
    title: z.string(),
    url: z.string()
});

export default createSync({
    description: 'Issues of a repository (set metadata {"owner", "repo"} on the connection)',
    frequency: 'every hour',
    autoStart: true,
    syncType: 'full',
    trackDeletes: true,
    models: { GithubIssueDemo },
    metadata: z.object({ owner: z.string(), repo: z.string() }),

    exec: async (nango) => {
        const { owner, repo } = await nango.getMetadata();

        // Fetch issues page by page (GitHub paginates with the Link header).
        for await (const page of nango.paginate<{ id: number; title: string; html_url: string }>({ endpoint: \`/repos/\${owner}/\${repo}/issues\`, params: { state: 'all' } })) {
            // Map issues to the model and persist them.
            await nango.batchSave(page.map(({ id, title, html_url }) => ({ id: String(id), title, url: html_url })), 'GithubIssueDemo');
        }
    }
});
`;

export const ZERO_YAML_CREATE_ISSUE_ACTION = `import { createAction } from 'nango';
import { z } from 'zod';

export default createAction({
    description: 'Opens an issue',
    input: z.object({ owner: z.string(), repo: z.string(), title: z.string(), body: z.string().optional() }),
    output: z.object({ id: z.string(), title: z.string(), url: z.string() }),

    exec: async (nango, input) => {
        const res = await nango.post({
            endpoint: \`/repos/\${input.owner}/\${input.repo}/issues\`,
            data: { title: input.title, body: input.body ?? '', labels: ['automatic'] }
        });
        return { id: String(res.data.id), title: res.data.title, url: res.data.html_url };
    }
});
`;
