import { createHash } from 'node:crypto';
import { fullSyncWorkflowId, type SyncKey } from '../workflows/types';

/**
 * The longest workflow id Syncline uses. Temporal refuses ids over 1,000 characters, and its SQL
 * visibility stores them in VARCHAR(255): longer ones break listing on Postgres and MySQL clusters.
 */
export const MAX_WORKFLOW_ID_LENGTH = 255;

/** The longest Keyword search attribute value: Temporal's SQL visibility stores them in VARCHAR(255). */
export const MAX_KEYWORD_LENGTH = 255;

/**
 * `id` when it fits in MAX_WORKFLOW_ID_LENGTH; otherwise a readable prefix of it, `#` and the
 * sha256 of the whole id. Ids that fit keep their value, so existing workflows keep theirs. Our ids
 * join URI-encoded parts, where `#` never appears: a shortened id cannot equal one that fits.
 *
 * @example
 * fitWorkflowId(`sync:dev:github:${'x'.repeat(300)}:issues`); // 'sync:dev:github:xxx…x#<64 hex>', 255 characters
 */
export function fitWorkflowId(id: string): string {
  return shorten(id, MAX_WORKFLOW_ID_LENGTH);
}

/** `text` when at most `max` characters, else its prefix, `#` and its sha256: `max` characters. */
export function shorten(text: string, max: number): string {
  if (text.length <= max) return text;
  const hash = createHash('sha256').update(text).digest('hex');
  return `${text.slice(0, max - hash.length - 1)}#${hash}`;
}

/** The id of a sync's entity workflow: `sync:<environment>:<integration>:<connection>:<sync>[::variant]`, fitted. */
export function syncWorkflowId(key: Pick<SyncKey, 'environment' | 'integration' | 'connectionId' | 'sync' | 'variant'>): string {
  return fitWorkflowId(fullSyncWorkflowId(key));
}

/** The id of one action call's workflow. */
export function actionWorkflowId(environment: string, callId: string): string {
  return fitWorkflowId(`action:${encodeURIComponent(environment)}:${callId}`);
}

/** The id of one on-event script run: the script, its connection and the occasion (`cause`). */
export function onEventWorkflowId(environment: string, integration: string, connectionId: string, script: string, cause: string): string {
  return fitWorkflowId(['on-event', environment, integration, connectionId, script, cause].map(encodeURIComponent).join(':'));
}
