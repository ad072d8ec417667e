import { MAX_LOG_ENTRY_BYTES, truncate, type CollectedLogEntry, type HttpCallLog, type LogLevel } from '../store/logs';

// Log lines are stored as the runtime collects them: their shape and size limit belong to the store.
export { MAX_LOG_ENTRY_BYTES, truncate, type CollectedLogEntry, type HttpCallLog };

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
  readonly entries: CollectedLogEntry[] = [];
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
    this.push(level, () => ({ level, message: truncate(this.redact(message)), createdAt: new Date().toISOString() }));
  }

  /**
   * Records one HTTP call (`info`, or `error` for a failure status or no response). The URL is
   * cleaned first: see {@link safeUrl}.
   */
  http(call: HttpCallLog, secretParams: Iterable<string> = []): void {
    const level: LogLevel = call.status === null || call.status >= 400 ? 'error' : 'info';
    this.push(level, () => {
      const url = truncate(safeUrl(call.url, secretParams, (text) => this.redact(text)));
      const outcome = call.status === null ? `failed${call.error ? ` (${this.redact(call.error)})` : ''}` : String(call.status);
      return { level, message: truncate(`${call.method} ${url} ${outcome} (${call.durationMs} ms)`), createdAt: new Date().toISOString(), http: { ...call, url } };
    });
  }

  private push(level: LogLevel, entry: () => CollectedLogEntry): void {
    if (RANK[level] < RANK[this.threshold]) return;
    if (this.entries.length >= MAX_LOG_ENTRIES) {
      this.dropped++;
      return;
    }
    this.entries.push(entry());
  }

  redact(text: string): string {
    let out = text;
    for (const secret of this.secrets) if (out.includes(secret)) out = out.split(secret).join('[redacted]');
    return out;
  }

  /** The entries, with a closing note when some were dropped. */
  finish(): CollectedLogEntry[] {
    if (this.dropped > 0) {
      this.entries.push({ level: 'warn', message: `${this.dropped} more log entries were dropped (limit ${MAX_LOG_ENTRIES} per execution)`, createdAt: new Date().toISOString() });
      this.dropped = 0;
    }
    return this.entries;
  }
}

/** Query parameter names that carry credentials by convention (`api_key`, `access_token`, `sig`, ...). */
const SECRET_PARAM = /(^|[_-])(key|apikey|token|secret|password|passwd|pwd|signature|sig|auth|authorization|code|session|credential|credentials)$/i;

/**
 * A URL fit for a log: no user info or fragment, every credential query parameter (those named in
 * `secretParams`, e.g. the provider's `proxy.query`, and conventional names such as `api_key` or
 * `access_token`) replaced by `[redacted]`, and `redact` applied to the path and the decoded values.
 *
 * @example
 * safeUrl('https://u:p@api.example.com/x?api_key=abc&page=2') // 'https://api.example.com/x?api_key=[redacted]&page=2'
 */
export function safeUrl(raw: string, secretParams: Iterable<string> = [], redact: (text: string) => string = (t) => t): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return redact(raw.replace(/\?.*$/s, '?[redacted]'));
  }
  const named = new Set([...secretParams].map((n) => n.toLowerCase()));
  const hide = (name: string, value: string) => (named.has(name.toLowerCase()) || SECRET_PARAM.test(name) ? '[redacted]' : redact(value));
  // Built by hand: URLSearchParams would percent-encode the brackets of [redacted].
  const encode = (text: string) => encodeURIComponent(text).replace(/%5Bredacted%5D/g, '[redacted]');
  const query = [...url.searchParams].map(([name, value]) => `${encode(redact(name))}=${encode(hide(name, value))}`).join('&');
  return `${url.protocol}//${url.host}${redact(url.pathname)}${query ? `?${query}` : ''}`;
}
