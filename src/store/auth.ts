import { createHash, randomBytes } from 'node:crypto';
import type { ConnectionCredentials, EndUser } from '../types';
import { insertAuthEvent, type AuthEvent } from './auth-events';
import type { Cipher } from './crypto';
import type { Db, Queryable } from './db';
import { writeLogs } from './logs';

/** A connect session as the auth routes see it. */
export interface ConnectSession {
  id: number;
  environmentId: number;
  endUser: EndUser | null;
  tags: Record<string, string>;
  /** Integration keys the end user may connect; null means all of the environment's. */
  allowedIntegrations: string[] | null;
  /** Per integration: `{connection_config, authorization_params}` applied to new connections. */
  integrationsConfigDefaults: Record<string, { connection_config?: Record<string, unknown>; authorization_params?: Record<string, string> }>;
  webhookUrlOverride: string | null;
  /** Set for reconnect sessions: the connection (internal id) being re-authorised. */
  reconnectConnectionId: number | null;
  expiresAt: Date;
}

export type NewConnectSession = Omit<ConnectSession, 'id' | 'expiresAt'> & { ttlMs: number };

/** An OAuth authorisation between the redirect to the provider and its callback. */
export interface OAuthSession {
  state: string;
  environmentId: number;
  integrationId: number;
  connectionId: string;
  connectSessionId: number | null;
  redirectUri: string;
  connectionConfig: Record<string, unknown>;
  secrets: { codeVerifier?: string; requestTokenSecret?: string };
  expiresAt: Date;
}

/** What is known about a connection's token refreshes. */
export interface RefreshState {
  lastSuccessAt: Date | null;
  lastFailureAt: Date | null;
  lastError: { message: string; status?: number; body?: unknown } | null;
  failures: number;
  retryAfter: Date | null;
}

interface SessionRow {
  id: number;
  environment_id: number;
  end_user: EndUser | null;
  tags: Record<string, string>;
  allowed_integrations: string[] | null;
  integrations_config_defaults: ConnectSession['integrationsConfigDefaults'];
  webhook_url_override: string | null;
  reconnect_connection_id: number | null;
  expires_at: Date;
}

interface RefreshRow {
  last_success_at: Date | null;
  last_failure_at: Date | null;
  last_error: RefreshState['lastError'];
  failures: number;
  retry_after: Date | null;
}

/** How long a refresh may hold its claim: the provider call's timeout plus room. */
export const REFRESH_CLAIM_MS = 60_000;

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');
const date = (v: Date | string | null) => (v === null ? null : new Date(v));

function toRefreshState(row: RefreshRow | undefined): RefreshState {
  return {
    lastSuccessAt: date(row?.last_success_at ?? null),
    lastFailureAt: date(row?.last_failure_at ?? null),
    lastError: row?.last_error ?? null,
    failures: row?.failures ?? 0,
    retryAfter: date(row?.retry_after ?? null),
  };
}

/** Connect sessions, OAuth sessions and refresh bookkeeping. Secrets are sealed or hashed at rest. */
export class AuthStore {
  /** PGlite only: the tail of each connection's queue of refresh-lock holders. */
  private readonly localLocks = new Map<number, Promise<void>>();

  constructor(
    private readonly db: Db,
    private readonly cipher: Cipher,
  ) {}

  /** Creates a session and returns its token, which only its hash is stored for. */
  async createConnectSession(input: NewConnectSession): Promise<{ token: string; session: ConnectSession }> {
    const token = `sl_cs_${randomBytes(24).toString('base64url')}`;
    const { rows } = await this.db.query<SessionRow>(
      `INSERT INTO connect_sessions (environment_id, token_hash, end_user, tags, allowed_integrations, integrations_config_defaults,
         webhook_url_override, reconnect_connection_id, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now() + make_interval(secs => $9::double precision / 1000)) RETURNING *`,
      [
        input.environmentId,
        hashToken(token),
        input.endUser,
        input.tags,
        input.allowedIntegrations,
        input.integrationsConfigDefaults,
        input.webhookUrlOverride,
        input.reconnectConnectionId,
        input.ttlMs,
      ],
    );
    // Expired sessions are dropped as new ones are made; a day's grace keeps their callbacks' errors readable.
    await this.db.query("DELETE FROM connect_sessions WHERE expires_at < now() - interval '1 day'");
    return { token, session: toSession(rows[0]!) };
  }

  /** The unexpired session of a token, or null. */
  async connectSessionByToken(token: string): Promise<ConnectSession | null> {
    const { rows } = await this.db.query<SessionRow>('SELECT * FROM connect_sessions WHERE token_hash = $1 AND expires_at > now()', [hashToken(token)]);
    return rows[0] ? toSession(rows[0]) : null;
  }

  async connectSessionById(id: number): Promise<ConnectSession | null> {
    const { rows } = await this.db.query<SessionRow>('SELECT * FROM connect_sessions WHERE id = $1', [id]);
    return rows[0] ? toSession(rows[0]) : null;
  }

  async createOAuthSession(session: Omit<OAuthSession, 'expiresAt'>, ttlMs: number): Promise<void> {
    await this.db.query(
      `INSERT INTO oauth_sessions (state, environment_id, integration_id, connection_id, connect_session_id, redirect_uri, connection_config,
         secrets_encrypted, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now() + make_interval(secs => $9::double precision / 1000))`,
      [
        session.state,
        session.environmentId,
        session.integrationId,
        session.connectionId,
        session.connectSessionId,
        session.redirectUri,
        session.connectionConfig,
        this.cipher.encryptJson(session.secrets),
        ttlMs,
      ],
    );
    // Sessions abandoned at the provider's consent screen are cleared as new ones start.
    await this.db.query('DELETE FROM oauth_sessions WHERE expires_at < now()');
  }

  /** Removes and returns the unexpired session of a state: a state is good for one callback only. */
  async takeOAuthSession(state: string): Promise<OAuthSession | null> {
    const { rows } = await this.db.query<{
      state: string;
      environment_id: number;
      integration_id: number;
      connection_id: string;
      connect_session_id: number | null;
      redirect_uri: string;
      connection_config: Record<string, unknown>;
      secrets_encrypted: string;
      expires_at: Date;
    }>('DELETE FROM oauth_sessions WHERE state = $1 RETURNING *, expires_at > now() AS live', [state]);
    const row = rows[0] as (typeof rows)[number] & { live?: boolean };
    if (!row || !row.live) return null;
    return {
      state: row.state,
      environmentId: row.environment_id,
      integrationId: row.integration_id,
      connectionId: row.connection_id,
      connectSessionId: row.connect_session_id,
      redirectUri: row.redirect_uri,
      connectionConfig: row.connection_config,
      secrets: this.cipher.decryptJson(row.secrets_encrypted),
      expiresAt: new Date(row.expires_at),
    };
  }

  async refreshState(connectionPk: number, db: Queryable = this.db): Promise<RefreshState> {
    const { rows } = await db.query<RefreshRow>('SELECT * FROM connection_refreshes WHERE connection_id = $1', [connectionPk]);
    return toRefreshState(rows[0]);
  }

  /** Forgets failures, e.g. after the end user re-authorised the connection. */
  async clearRefreshState(connectionPk: number): Promise<void> {
    await this.db.query('DELETE FROM connection_refreshes WHERE connection_id = $1', [connectionPk]);
  }

  /**
   * Runs `fn` holding the connection's refresh lock, so only one refresh of a connection runs at a
   * time across processes, without a database connection held during the provider call: the lock is
   * a claim on the connection's `connection_refreshes` row, lapsing after `REFRESH_CLAIM_MS` if its
   * holder dies; others poll until it is free. Callers in one process also queue in memory first,
   * so they never poll each other (PGlite has only this process). `fn` must use only the
   * `RefreshTx` it is given.
   */
  async withRefreshLock<T>(connectionPk: number, fn: (tx: RefreshTx) => Promise<T>): Promise<T> {
    const previous = this.localLocks.get(connectionPk) ?? Promise.resolve();
    let release!: () => void;
    const mine = previous.then(() => new Promise<void>((resolve) => (release = resolve)));
    this.localLocks.set(connectionPk, mine);
    await previous;
    try {
      if (this.db.backend === 'pglite') return await fn(new RefreshTx(this.db, this.cipher, connectionPk));
      await this.claim(connectionPk);
      try {
        return await fn(new RefreshTx(this.db, this.cipher, connectionPk));
      } finally {
        await this.db.query('UPDATE connection_refreshes SET claimed_until = NULL WHERE connection_id = $1', [connectionPk]);
      }
    } finally {
      release();
      if (this.localLocks.get(connectionPk) === mine) this.localLocks.delete(connectionPk);
    }
  }

  private async claim(connectionPk: number): Promise<void> {
    for (let wait = 25; ; wait = Math.min(wait * 2, 500)) {
      const { rows } = await this.db.query(
        `INSERT INTO connection_refreshes AS r (connection_id, claimed_until) VALUES ($1, clock_timestamp() + make_interval(secs => $2::double precision / 1000))
         ON CONFLICT (connection_id) DO UPDATE SET claimed_until = excluded.claimed_until
         WHERE r.claimed_until IS NULL OR r.claimed_until < clock_timestamp()
         RETURNING connection_id`,
        [connectionPk, REFRESH_CLAIM_MS],
      );
      if (rows.length) return;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

/** What the holder of a connection's refresh lock may read and write. */
export class RefreshTx {
  constructor(
    private readonly db: Db,
    private readonly cipher: Cipher,
    private readonly connectionPk: number,
  ) {}

  async credentials(): Promise<{ credentials: ConnectionCredentials; connectionConfig: Record<string, unknown>; state: RefreshState }> {
    const { rows } = await this.db.query<{ credentials_encrypted: string; connection_config: Record<string, unknown> } & RefreshRow>(
      `SELECT c.credentials_encrypted, c.connection_config, r.* FROM connections c LEFT JOIN connection_refreshes r ON r.connection_id = c.id
       WHERE c.id = $1`,
      [this.connectionPk],
    );
    const row = rows[0]!;
    return { credentials: this.cipher.decryptJson(row.credentials_encrypted), connectionConfig: row.connection_config, state: toRefreshState(row) };
  }

  /** New credentials and a cleared failure record, in one statement (atomic without a transaction too). */
  async saveRefreshed(credentials: ConnectionCredentials, expiresAt: Date | null): Promise<void> {
    await this.db.query(
      `WITH updated AS (
         UPDATE connections SET credentials_encrypted = $2, credentials_expires_at = $3, updated_at = now() WHERE id = $1 RETURNING id
       )
       INSERT INTO connection_refreshes (connection_id, last_success_at, failures) SELECT id, now(), 0 FROM updated
       ON CONFLICT (connection_id) DO UPDATE SET last_success_at = now(), failures = 0, retry_after = NULL, last_error = NULL, last_failure_log = NULL`,
      [this.connectionPk, this.cipher.encryptJson(credentials), expiresAt],
    );
  }

  /**
   * Records a failed refresh with a cooldown, a log line for it (operation `auth`) that the
   * connection's `errors` point at, and its `auth` webhook event (`authEvent` of the recorded state)
   * in the outbox: all in one transaction, so the webhook is never lost nor sent for a failure
   * that was not recorded.
   */
  async recordFailure(
    error: NonNullable<RefreshState['lastError']>,
    cooldownMs: number,
    log: { environmentId: number; integration: string; connectionId: string },
    authEvent: (state: RefreshState) => AuthEvent,
  ): Promise<RefreshState> {
    const jobId = `refresh-${this.connectionPk}-${Date.now()}`;
    return this.db.transaction(async (tx) => {
      await writeLogs(tx, { ...log, operation: 'auth', script: 'refresh', jobId }, [
        { kind: 'outcome', level: 'error', message: `Refreshing the credentials failed: ${error.message}`, createdAt: new Date().toISOString() },
      ]);
      const { rows } = await tx.query<RefreshRow>(
        `INSERT INTO connection_refreshes AS r (connection_id, last_failure_at, last_error, failures, retry_after, last_failure_log)
         VALUES ($1, now(), $2, 1, now() + make_interval(secs => $3::double precision / 1000), $4)
         ON CONFLICT (connection_id) DO UPDATE SET last_failure_at = now(), last_error = excluded.last_error,
           failures = r.failures + 1, retry_after = excluded.retry_after, last_failure_log = excluded.last_failure_log
         RETURNING *`,
        [this.connectionPk, error, cooldownMs, jobId],
      );
      const state = toRefreshState(rows[0]);
      await insertAuthEvent(tx, authEvent(state));
      return state;
    });
  }
}

function toSession(row: SessionRow): ConnectSession {
  return {
    id: row.id,
    environmentId: row.environment_id,
    endUser: row.end_user,
    tags: row.tags,
    allowedIntegrations: row.allowed_integrations,
    integrationsConfigDefaults: row.integrations_config_defaults,
    webhookUrlOverride: row.webhook_url_override,
    reconnectConnectionId: row.reconnect_connection_id,
    expiresAt: new Date(row.expires_at),
  };
}
