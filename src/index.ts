/**
 * Syncline as a library: start the server in-process, or use the Node client.
 *
 * @example
 * import { loadConfig, startSyncline } from 'syncline';
 * const syncline = await startSyncline(loadConfig());
 */
export { loadConfig, ConfigError, type Config } from './config/env';
export { startSyncline, openSyncline, type Syncline as SynclineServer } from './server';
export { Syncline, SynclineApiError } from './sdk';
export type * from './types';
