/**
 * The bodies of webhooks to the app, exactly in Nango's shapes (`from: 'nango'`, so receivers
 * written for Nango accept them).
 */
import type { CheckpointRange } from '../store/checkpoints';
import type { RecordCounts } from '../types';

export const FROM = 'nango';

/** What every `sync` webhook says: which model of which sync of which connection. */
export interface SyncWebhookBase {
  from: string;
  type: 'sync';
  connectionId: string;
  providerConfigKey: string;
  syncName: string;
  syncVariant: string;
  model: string;
  /** Deprecated in Nango; `INITIAL`, `INCREMENTAL` or `WEBHOOK`. */
  syncType: 'INITIAL' | 'INCREMENTAL' | 'WEBHOOK';
  /** The checkpoint the run started from and the one it left; absent when the run did not use one. */
  checkpoints?: CheckpointRange;
}

export interface SyncSuccessWebhook extends SyncWebhookBase {
  success: true;
  /** Start of the run, ISO: records modified after it are what changed. */
  modifiedAfter: string;
  responseResults: RecordCounts;
  /** Deprecated alias of `modifiedAfter`. */
  queryTimeStamp: string;
}

export interface SyncFailureWebhook extends SyncWebhookBase {
  success: false;
  error: { type: string; description: string };
  startedAt: string;
  failedAt: string;
}

export interface AuthWebhook {
  from: string;
  type: 'auth';
  operation: 'creation' | 'override' | 'refresh';
  connectionId: string;
  authMode: string;
  providerConfigKey: string;
  provider: string;
  environment: string;
  success: boolean;
  tags?: Record<string, string>;
  endUser?: { endUserId: string; organizationId?: string } | null;
  error?: { type: string; description: string };
}

export interface AsyncActionWebhook {
  from: string;
  type: 'async_action';
  connectionId: string;
  providerConfigKey: string;
  payload: { id: string; statusUrl: string };
}

export interface ForwardWebhook {
  from: string;
  type: 'forward';
  connectionId?: string;
  providerConfigKey: string;
  payload: unknown;
}

export type Webhook = SyncSuccessWebhook | SyncFailureWebhook | AuthWebhook | AsyncActionWebhook | ForwardWebhook;

/** `Model::variant` → `Model`. */
export const baseModel = (model: string) => model.split('::')[0]!;
