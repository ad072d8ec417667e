import type { Command } from 'commander';
import type { EnvironmentSettings, Syncline } from '../sdk';
import { CliError } from './project';
import { onOff } from './webhook';

const SETTINGS = ['validate_action_input', 'validate_action_output', 'validate_sync_records'] as const satisfies ReadonlyArray<keyof EnvironmentSettings>;

const flagOf = (setting: string) => setting.replace(/_/g, '-');
const optionOf = (setting: string) => setting.replace(/_(\w)/g, (_, c: string) => c.toUpperCase());

function print(settings: EnvironmentSettings, out: NodeJS.WritableStream): void {
  for (const setting of SETTINGS) out.write(`${flagOf(setting)}\t${settings[setting] ? 'on' : 'off'}\n`);
}

/**
 * `syncline settings show | set`: the environment's execution settings (whether action inputs and
 * outputs and sync records must match their models, or only warn in the run's logs).
 *
 * @example
 * syncline settings set --validate-action-output on
 */
export function settingsCommands(program: Command, api: () => Syncline): void {
  const settings = program.command('settings').description("the environment's settings: whether scripts' inputs, outputs and records must match their models");
  settings
    .command('show')
    .description('print the settings')
    .action(async () => print((await api().getEnvironmentSettings()).data, process.stdout));

  const set = settings.command('set').description('change some settings (the others stay)');
  for (const setting of SETTINGS) set.option(`--${flagOf(setting)} <on|off>`);
  set.action(async (opts: Record<string, string | undefined>) => {
    const body: Partial<EnvironmentSettings> = {};
    for (const setting of SETTINGS) {
      const value = opts[optionOf(setting)];
      if (value !== undefined) body[setting] = onOff(flagOf(setting), value);
    }
    if (!Object.keys(body).length) throw new CliError(`nothing to set: give ${SETTINGS.map((s) => `--${flagOf(s)}`).join(', ')} (on or off)`);
    print((await api().updateEnvironmentSettings(body)).data, process.stdout);
  });
}
