/**
 * Syncline's Node client.
 *
 * @example
 * import { Syncline, SynclineApiError } from 'syncline/sdk';
 * const syncline = new Syncline({ secretKey: process.env.SYNCLINE_SECRET_KEY! });
 */
export { Syncline, DEFAULT_HOST } from './client';
export { SynclineApiError } from './errors';
export type * from './types';
