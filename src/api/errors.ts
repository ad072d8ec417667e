import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorRequestHandler } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { SynclineError, type ErrorKind } from '../errors';
import { throttledWarn } from '../logger';
import { ENGINE_WAITING } from '../engine/interfaces';
import { DatabaseUnavailableError } from '../store/db';
import { isDataException } from '../store/sql-errors';

const STATUS: Record<ErrorKind, number> = {
  invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  internal: 500,
  failed_dependency: 424,
  bad_gateway: 502,
  rate_limited: 429,
};

/** The wire shape of every error: `{"error":{"code","message"[,"errors"]}}`. */
export interface ErrorBody {
  error: { code: string; message: string; errors?: unknown };
}

/** gRPC UNAVAILABLE: the Temporal frontend (or the embedded engine, waiting for its database) is away. */
const GRPC_UNAVAILABLE = 14;

/** What is away when `err` (or an error it wraps) says a dependency cannot be reached, if it does. */
function unavailable(err: unknown): 'database' | 'temporal' | undefined {
  for (let e = err, depth = 0; typeof e === 'object' && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    // A workflow's activity that failed on it arrives as an ApplicationFailure of that type.
    if (e instanceof DatabaseUnavailableError || (e as { type?: unknown }).type === 'DatabaseUnavailableError') return 'database';
    if ((e as { code?: unknown }).code === GRPC_UNAVAILABLE) return (e as { details?: unknown }).details === ENGINE_WAITING ? 'database' : 'temporal';
  }
  return undefined;
}

const UNAVAILABLE_BODIES: Record<'database' | 'temporal', ErrorBody> = {
  database: { error: { code: 'database_unavailable', message: 'The database is unavailable; try again shortly' } },
  temporal: { error: { code: 'temporal_unavailable', message: 'Temporal is unavailable; try again shortly' } },
};

/** Turns anything thrown into a status and body. The one place errors meet HTTP. */
export function toHttpError(err: unknown): { status: number; body: ErrorBody } {
  const away = unavailable(err);
  if (away) return { status: 503, body: UNAVAILABLE_BODIES[away] };
  if (err instanceof SynclineError) {
    const body: ErrorBody = { error: { code: err.code, message: err.message } };
    if (err.details !== undefined) body.error.errors = err.details;
    return { status: STATUS[err.kind], body };
  }
  if (err instanceof z.ZodError) {
    const errors = err.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
    const first = errors[0]!;
    return { status: 400, body: { error: { code: 'invalid_request', message: `${first.path || 'body'}: ${first.message}`, errors } } };
  }
  // body-parser's errors carry a `type`.
  const type = typeof err === 'object' && err !== null && 'type' in err ? (err as { type: unknown }).type : undefined;
  if (type === 'entity.parse.failed') return { status: 400, body: { error: { code: 'invalid_json', message: 'The request body is not valid JSON' } } };
  if (type === 'entity.too.large') return { status: 413, body: { error: { code: 'payload_too_large', message: 'The request body is larger than the limit' } } };
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
    return { status: 415, body: { error: { code: 'unsupported_encoding', message: 'Unsupported request body encoding' } } };
  }
  // Other http-errors from express and body-parser (a path parameter that does not decode, ...).
  const status = typeof err === 'object' && err !== null && 'status' in err ? (err as { status: unknown }).status : undefined;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { status, body: { error: { code: 'bad_request', message: err instanceof Error ? err.message : 'The request is not valid' } } };
  }
  // Input that slipped past validation and that Postgres refused: still the client's, not ours.
  if (isDataException(err)) return { status: 400, body: { error: { code: 'invalid_value', message: 'A value in the request cannot be stored' } } };
  return { status: 500, body: { error: { code: 'server_error', message: 'An unexpected error occurred' } } };
}

/** Answers a request with the error's status and body; unexpected errors are logged with their stack. */
export function sendError(logger: Logger, err: unknown, req: IncomingMessage, res: ServerResponse): void {
  const { status, body } = toHttpError(err);
  // An outage fails every request alike: one throttled line instead of a stack per request.
  if (status === 503) warnOf(logger)(err, `requests failed: ${body.error.code}`);
  // The client only sees a generic message for those.
  else if (status >= 500) logger.error({ err, method: req.method, path: req.url?.split('?')[0] }, 'request failed');
  if (res.headersSent) {
    res.destroy(); // too late for a status: end the response early
    return;
  }
  const text = JSON.stringify(body);
  const headers: Record<string, string | number> = { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) };
  if (status === 503) headers['retry-after'] = RETRY_AFTER_S;
  res.writeHead(status, headers).end(text);
}

const RETRY_AFTER_S = 5;
const throttled = new WeakMap<Logger, ReturnType<typeof throttledWarn>>();
function warnOf(logger: Logger): ReturnType<typeof throttledWarn> {
  let warn = throttled.get(logger);
  if (!warn) throttled.set(logger, (warn = throttledWarn(logger)));
  return warn;
}

/** Client errors of Node's HTTP server that have a status of their own; any other malformed request is a 400. */
const PARSER_STATUS: Record<string, [number, string, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'headers_too_large', 'The request headers are larger than the limit'],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: [413, 'payload_too_large', 'The chunk extensions are larger than the limit'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'request_timeout', 'The request was not received in time'],
};

/**
 * The http server's 'clientError' listener: a request Node's parser refused (headers over
 * `maxHeaderSize`, a NUL in a header, a malformed request line) never reaches express, and Node's
 * own answer has an empty body; this one answers in our error shape and closes the connection.
 */
export function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, code, message] = PARSER_STATUS[err.code ?? ''] ?? [400, 'bad_request', 'The request is not valid HTTP'];
  const text = JSON.stringify({ error: { code, message } } satisfies ErrorBody);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
  );
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => sendError(logger, err, req, res);
}
