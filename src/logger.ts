import pino, { type Logger } from 'pino';

/** Field paths that may hold secrets; pino replaces them before anything is written. */
export const REDACTED_PATHS = [
  'secretKey',
  'credentials',
  '*.credentials',
  'req.headers.authorization',
  'headers.authorization',
  'headers.Authorization',
  'client_secret',
  '*.client_secret',
  'access_token',
  '*.access_token',
  'refresh_token',
  '*.refresh_token',
  'apiKey',
  '*.apiKey',
  'password',
  '*.password',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, destination);
}
