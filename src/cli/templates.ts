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
