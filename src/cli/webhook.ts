import type { Command } from 'commander';
import type { Syncline, UpdateWebhookSettingsBody, WebhookSettings } from '../sdk';
import { CliError } from './project';

const TOGGLES = {
  'sync-always': 'on_sync_completion_always',
  'auth-creation': 'on_auth_creation',
  'refresh-error': 'on_auth_refresh_error',
  'sync-error': 'on_sync_error',
  'async-action': 'on_async_action_completion',
} as const satisfies Record<string, keyof UpdateWebhookSettingsBody>;

function print(settings: WebhookSettings, out: NodeJS.WritableStream): void {
  out.write(`primary_url\t${settings.primary_url ?? '-'}\n`);
  out.write(`secondary_url\t${settings.secondary_url ?? '-'}\n`);
  for (const [flag, field] of Object.entries(TOGGLES)) out.write(`${flag}\t${settings[field] ? 'on' : 'off'}\n`);
  out.write(`signing_key\t${settings.signing_key}\n`);
  out.write(`incoming\t/webhook/${settings.environment_uuid}/<integration>\n`);
}

/** `on`/`off` (also true/false, 1/0, yes/no) of option `--<name>`, or a CliError naming it. */
export function onOff(name: string, value: string): boolean {
  if (/^(on|true|1|yes)$/i.test(value)) return true;
  if (/^(off|false|0|no)$/i.test(value)) return false;
  throw new CliError(`--${name}: expected on or off, got "${value}"`);
}

function urlOption(name: string, value: string): string | null {
  if (value === '' || value === 'none') return null;
  try {
    const url = new URL(value);
    if (url.protocol === 'http:' || url.protocol === 'https:') return value;
  } catch {
    // reported below
  }
  throw new CliError(`--${name}: "${value}" is not an http(s) URL (use "none" to clear it)`);
}

/**
 * `syncline webhook show | set | rotate-key | deliveries`: the environment's webhook settings.
 *
 * @example
 * syncline webhook set --primary-url https://app.example.com/hooks --sync-always on
 */
export function webhookCommands(program: Command, api: () => Syncline): void {
  const webhook = program.command('webhook').description("the environment's webhooks to your app: URLs, what triggers them, the signing key");
  webhook
    .command('show')
    .description('print the settings and the signing key')
    .action(async () => print((await api().getWebhookSettings()).data, process.stdout));

  const set = webhook.command('set').description('change some settings (the others stay)');
  set.option('--primary-url <url>', 'primary URL ("none" clears it)').option('--secondary-url <url>', 'secondary URL ("none" clears it)');
  for (const flag of Object.keys(TOGGLES)) set.option(`--${flag} <on|off>`);
  set.action(async (opts: Record<string, string | undefined>) => {
    const body: UpdateWebhookSettingsBody = {};
    if (opts.primaryUrl !== undefined) body.primary_url = urlOption('primary-url', opts.primaryUrl);
    if (opts.secondaryUrl !== undefined) body.secondary_url = urlOption('secondary-url', opts.secondaryUrl);
    for (const [flag, field] of Object.entries(TOGGLES)) {
      const value = opts[flag.replace(/-(\w)/g, (_, c: string) => c.toUpperCase())];
      if (value !== undefined) body[field] = onOff(flag, value);
    }
    if (!Object.keys(body).length) throw new CliError('nothing to set: give --primary-url, --secondary-url or a toggle (see --help)');
    print((await api().updateWebhookSettings(body)).data, process.stdout);
  });

  webhook
    .command('rotate-key')
    .description('replace the signing key; webhooks from now on are signed with the new one')
    .action(async () => {
      process.stdout.write(`${(await api().rotateWebhookSigningKey()).data.signing_key}\n`);
    });

  webhook
    .command('deliveries')
    .description('the latest webhooks sent, with their attempts')
    .option('--type <type>', 'sync, auth, async_action or forward')
    .option('--limit <n>', 'how many', '20')
    .action(async (opts: { type?: string; limit: string }) => {
      const type = opts.type as 'sync' | 'auth' | 'async_action' | 'forward' | undefined;
      const { data } = await api().listWebhookDeliveries({ type, limit: Number(opts.limit) });
      for (const d of data) {
        const last = d.attempts[d.attempts.length - 1];
        const answer = last ? (last.status_code ?? last.error ?? '') : '';
        process.stdout.write(`${d.id}\t${d.created_at}\t${d.type}\t${d.status}\t${d.attempts.length} attempt(s)\t${answer}\t${d.url}\n`);
      }
    });
}
