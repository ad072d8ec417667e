import type { Db } from './db';

/**
 * How strictly an environment's scripts are held to their nango.yaml models; Nango's runner flags
 * of the same names. Each is off by default: a mismatch is then a `warn` line in the run's logs and
 * the run goes on (Nango's deployed scripts are not held to their models either).
 */
export interface EnvironmentSettings {
  /** An action input that does not match the action's `input` model fails the call (`invalid_action_input`). */
  validateActionInput: boolean;
  /** An action output that does not match the action's `output` model fails the call (`invalid_action_output`). */
  validateActionOutput: boolean;
  /** A record a sync saves that does not match its model fails the run (`invalid_sync_record`). */
  validateSyncRecords: boolean;
}

export type EnvironmentSettingsPatch = Partial<EnvironmentSettings>;

export const DEFAULT_ENVIRONMENT_SETTINGS: Readonly<EnvironmentSettings> = Object.freeze({
  validateActionInput: false,
  validateActionOutput: false,
  validateSyncRecords: false,
});

const COLUMNS: Record<keyof EnvironmentSettings, string> = {
  validateActionInput: 'validate_action_input',
  validateActionOutput: 'validate_action_output',
  validateSyncRecords: 'validate_sync_records',
};

interface SettingsRow {
  validate_action_input: boolean;
  validate_action_output: boolean;
  validate_sync_records: boolean;
}

/** Per-environment settings of script execution (`environment_settings`; no row means the defaults). */
export class EnvironmentSettingsStore {
  constructor(private readonly db: Db) {}

  /** The environment's settings; the defaults when it never changed any. */
  async get(environmentId: number): Promise<EnvironmentSettings> {
    const { rows } = await this.db.query<SettingsRow>(
      'SELECT validate_action_input, validate_action_output, validate_sync_records FROM environment_settings WHERE environment_id = $1',
      [environmentId],
    );
    const row = rows[0];
    if (!row) return { ...DEFAULT_ENVIRONMENT_SETTINGS };
    return { validateActionInput: row.validate_action_input, validateActionOutput: row.validate_action_output, validateSyncRecords: row.validate_sync_records };
  }

  /**
   * Changes the given settings only (one statement: the row is created with the defaults for the
   * rest); returns them all.
   *
   * @example
   * await store.environmentSettings.update(env.id, { validateActionOutput: true });
   */
  async update(environmentId: number, patch: EnvironmentSettingsPatch): Promise<EnvironmentSettings> {
    const keys = (Object.keys(COLUMNS) as Array<keyof EnvironmentSettings>).filter((k) => patch[k] !== undefined);
    if (keys.length) {
      const columns = keys.map((k) => COLUMNS[k]);
      const values = keys.map((_, i) => `$${i + 2}`);
      await this.db.query(
        `INSERT INTO environment_settings (environment_id, ${columns.join(', ')}) VALUES ($1, ${values.join(', ')})
         ON CONFLICT (environment_id) DO UPDATE SET ${columns.map((c) => `${c} = excluded.${c}`).join(', ')}, updated_at = now()`,
        [environmentId, ...keys.map((k) => patch[k])],
      );
    }
    return this.get(environmentId);
  }
}
