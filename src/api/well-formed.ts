import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import express, { type RequestHandler } from 'express';
import { invalid } from '../errors';

/**
 * Text the API refuses wherever it appears (path, query, JSON body): Postgres cannot store U+0000,
 * and unpaired UTF-16 surrogates or invalid UTF-8 would be stored as U+FFFD, silently changing an id.
 * Refusing them once, at the boundary, keeps every route from answering a 500 or storing a changed value.
 */
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const PROBLEM = 'must not contain NUL characters (U+0000), unpaired surrogates or invalid UTF-8';

/** Runs of percent escapes in a URL (`%e2%82%ac`): each run must decode to valid UTF-8 without NUL. */
const PERCENT_RUNS = /(?:%[0-9a-fA-F]{2})+/g;

function urlIsStorable(url: string): boolean {
  for (const [run] of url.matchAll(PERCENT_RUNS)) {
    const bytes = Buffer.from(run.replace(/%/g, ''), 'hex');
    if (bytes.includes(0) || !isUtf8(bytes)) return false;
  }
  return !UNSTORABLE.test(url);
}

/** Refuses a request whose path or query string would decode to unstorable text (400, before any route). */
export const storableUrl: RequestHandler = (req, _res, next) => {
  const url = req.originalUrl;
  const q = url.indexOf('?');
  if (!urlIsStorable(q === -1 ? url : url.slice(0, q))) throw invalid('invalid_params', `The path ${PROBLEM}`);
  if (q !== -1 && !urlIsStorable(url.slice(q + 1))) throw invalid('invalid_query', `The query string ${PROBLEM}`);
  next();
};

/**
 * Where in `value` (a parsed JSON body) the first unstorable string, object key included, is, as a
 * dotted path ('' for the value itself); undefined when there is none. Iterative: a deeply nested
 * body cannot overflow the stack.
 */
export function unstorablePath(value: unknown): string | undefined {
  const stack: Array<[unknown, string]> = [[value, '']];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const [v, path] = item;
    if (typeof v === 'string') {
      if (UNSTORABLE.test(v)) return path;
    } else if (typeof v === 'object' && v !== null) {
      for (const [key, child] of Object.entries(v)) {
        const childPath = path ? `${path}.${key}` : key;
        if (UNSTORABLE.test(key)) return childPath;
        stack.push([child, childPath]);
      }
    }
  }
  return undefined;
}

/** body-parser's `verify`: a UTF-8 body must be valid UTF-8 (the decoder would put U+FFFD in its place). */
function verifyUtf8(_req: IncomingMessage, _res: unknown, buf: Buffer, encoding: string): void {
  if (/^utf-?8$/i.test(encoding) && !isUtf8(buf)) throw invalid('invalid_body', 'The request body is not valid UTF-8');
}

const storableBody: RequestHandler = (req, _res, next) => {
  const path = unstorablePath(req.body);
  if (path !== undefined) {
    const message = `${path || 'body'}: text ${PROBLEM}`;
    throw invalid('invalid_body', message, [{ path, message: `text ${PROBLEM}` }]);
  }
  next();
};

/**
 * JSON body parsing for API routes: at most `limit`, valid UTF-8, and no unstorable text anywhere
 * in it (400 naming the field). `options` go to express.json.
 */
export function jsonBody(limit: string, options: { strict?: boolean } = {}): RequestHandler[] {
  return [express.json({ ...options, limit, verify: verifyUtf8 }), storableBody];
}

/** `jsonBody`'s checks for urlencoded forms. */
export function formBody(limit: string): RequestHandler[] {
  return [express.urlencoded({ extended: true, limit, verify: verifyUtf8 }), storableBody];
}
