import { ActionRunStore } from './actions';
import { AuthStore } from './auth';
import { AuthEventStore } from './auth-events';
import { Cipher } from './crypto';
import type { Db } from './db';
import { ConnectionStore } from './connections';
import { EnvironmentSettingsStore } from './environment-settings';
import { EnvironmentVariableStore } from './environment-variables';
import { EnvironmentStore } from './environments';
import { IntegrationStore } from './integrations';
import { JobStore } from './jobs';
import { LogStore } from './logs';
import { migrate } from './migrate';
import { RecordStore } from './records';
import { ScriptStore } from './scripts';
import { verifyEncryptionKey } from './settings';
import { WebhookStore } from './webhooks';

export { openDb, type Db, type Queryable } from './db';
export { Cipher } from './crypto';
export { migrate } from './migrate';
export { PgCheckpointStore } from './checkpoints';
export { onOutboxWrite } from './outbox';

/** Every table family behind one object; the API, activities and CLI take this. */
export interface Store {
  db: Db;
  cipher: Cipher;
  environments: EnvironmentStore;
  integrations: IntegrationStore;
  connections: ConnectionStore;
  environmentVariables: EnvironmentVariableStore;
  /** How strictly scripts are held to their models (action input/output, sync records), per environment. */
  environmentSettings: EnvironmentSettingsStore;
  records: RecordStore;
  scripts: ScriptStore;
  /** Syncs of connections, their jobs (runs), and the connection lifecycle outbox. */
  jobs: JobStore;
  /** Action calls and their outputs. */
  actions: ActionRunStore;
  /** Execution logs (script lines, HTTP calls, outcomes) of sync and action runs. */
  logs: LogStore;
  /** Connect sessions, OAuth sessions, token refresh bookkeeping. */
  auth: AuthStore;
  /** The outbox of `auth` webhook events, written with the connection changes they report. */
  authEvents: AuthEventStore;
  /** Webhook settings and signing keys, outgoing deliveries and their attempts. */
  webhooks: WebhookStore;
}

/** Migrates the database, checks the encryption key against it, and wires the store modules. */
export async function openStore(db: Db, encryptionKey: Buffer): Promise<Store> {
  const cipher = new Cipher(encryptionKey);
  await migrate(db);
  await verifyEncryptionKey(db, cipher);
  return {
    db,
    cipher,
    environments: new EnvironmentStore(db, cipher),
    integrations: new IntegrationStore(db, cipher),
    connections: new ConnectionStore(db, cipher),
    environmentVariables: new EnvironmentVariableStore(db, cipher),
    environmentSettings: new EnvironmentSettingsStore(db),
    records: new RecordStore(db),
    scripts: new ScriptStore(db),
    jobs: new JobStore(db),
    actions: new ActionRunStore(db),
    logs: new LogStore(db),
    auth: new AuthStore(db, cipher),
    authEvents: new AuthEventStore(db),
    webhooks: new WebhookStore(db, cipher),
  };
}
