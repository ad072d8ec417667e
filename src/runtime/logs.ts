import type { LogEntry, LogLevel } from './types';

/** Longest log entry kept, in bytes (Nango's limit is ~100 KB). */
export const MAX_LOG_ENTRY_BYTES = 100_000;
/** Entries kept per execution; later ones are counted, not stored. */
export const MAX_LOG_ENTRIES = 10_000;

const RANK: Record<LogLevel | 'off', number> = { debug: 0, info: 1, warn: 2, error: 3, off: 4 };
const LEGACY: Record<string, LogLevel> = { verbose: 'debug', silly: 'debug', http: 'info' };

/** A level as scripts write it (including Nango's legacy names), or undefined if unknown. */
export function normaliseLevel(level: unknown): LogLevel | undefined {
  if (typeof level !== 'string') return undefined;
  if (level in LEGACY) return LEGACY[level];
  return level === 'debug' || level === 'info' || level === 'warn' || level === 'error' ? level : undefined;
}

/**
 * The logs of one execution: filtered by level, each entry capped at 100 KB, and every known
 * secret (credentials, environment variable values) replaced by `[redacted]` before it is kept.
 */
export class LogCollector {
  readonly entries: LogEntry[] = [];
  private dropped = 0;
  private secrets: string[] = [];

  constructor(private readonly threshold: LogLevel | 'off' = 'debug') {}

  /** Adds values that must never appear in a log entry. */
  addSecrets(values: Iterable<string>): void {
    const all = new Set([...this.secrets, ...[...values].filter((v) => v.length >= 4)]);
    // Longest first, so a secret containing another is replaced whole.
    this.secrets = [...all].sort((a, b) => b.length - a.length);
  }

  add(level: LogLevel, message: string): void {
    if (RANK[level] < RANK[this.threshold]) return;
    if (this.entries.length >= MAX_LOG_ENTRIES) {
      this.dropped++;
      return;
    }
    this.entries.push({ level, message: truncate(this.redact(message)), createdAt: new Date().toISOString() });
  }

  redact(text: string): string {
    let out = text;
    for (const secret of this.secrets) if (out.includes(secret)) out = out.split(secret).join('[redacted]');
    return out;
  }

  /** The entries, with a closing note when some were dropped. */
  finish(): LogEntry[] {
    if (this.dropped > 0) {
      this.entries.push({ level: 'warn', message: `${this.dropped} more log entries were dropped (limit ${MAX_LOG_ENTRIES} per execution)`, createdAt: new Date().toISOString() });
      this.dropped = 0;
    }
    return this.entries;
  }
}

function truncate(message: string): string {
  if (Buffer.byteLength(message) <= MAX_LOG_ENTRY_BYTES) return message;
  const suffix = '… [truncated]';
  let cut = Buffer.from(message).subarray(0, MAX_LOG_ENTRY_BYTES - Buffer.byteLength(suffix)).toString('utf8');
  if (cut.endsWith('\uFFFD')) cut = cut.slice(0, -1);
  return cut + suffix;
}
