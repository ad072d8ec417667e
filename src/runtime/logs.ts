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
 * Where an execution's entries are stored while it runs, so that a process that dies mid-run
 * loses at most the last second of them. A failed write is not retried: its entries are handed
 * over at the end instead (see {@link LogCollector.finish}).
 */
export type LogSink = (entries: CollectedLogEntry[]) => Promise<void>;

/** How long an entry waits before it goes to the sink with those that follow it. */
const SINK_DELAY_MS = 1000;

/**
 * The logs of one execution: filtered by level, each entry capped at 100 KB, and every known
 * secret (credentials, environment variable values) replaced by `[redacted]` before it is kept.
 * With a sink, entries are stored as the execution runs (about once a second).
 */
export class LogCollector {
  readonly entries: CollectedLogEntry[] = [];
  private dropped = 0;
  private secrets: string[] = [];
  /** `entries` before this index are in the sink. */
  private stored = 0;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private finished = false;

  constructor(
    private readonly threshold: LogLevel | 'off' = 'debug',
    private readonly sink?: LogSink,
  ) {}

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
    if (this.sink && !this.timer && !this.finished) this.timer = setTimeout(() => this.toSink(), SINK_DELAY_MS).unref();
  }

  /** Queues a write of the entries the sink does not have yet, after the writes before it. */
  private toSink(): void {
    this.timer = undefined;
    this.writing = Promise.resolve(this.writing).then(async () => {
      const upTo = this.entries.length;
      if (upTo === this.stored || this.finished) return;
      await this.sink!(this.entries.slice(this.stored, upTo)).then(
        () => void (this.stored = upTo),
        () => undefined, // kept for finish(): the end of the execution stores them, or fails as a whole
      );
    });
  }

  redact(text: string): string {
    let out = text;
    for (const secret of this.secrets) if (out.includes(secret)) out = out.split(secret).join('[redacted]');
    return out;
  }

  /** The entries not in the sink yet (all of them without one), with a closing note when some were dropped. */
  async finish(): Promise<CollectedLogEntry[]> {
    this.finished = true;
    clearTimeout(this.timer);
    await this.writing;
    if (this.dropped > 0) {
      this.entries.push({ level: 'warn', message: `${this.dropped} more log entries were dropped (limit ${MAX_LOG_ENTRIES} per execution)`, createdAt: new Date().toISOString() });
      this.dropped = 0;
    }
    return this.entries.slice(this.stored);
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
