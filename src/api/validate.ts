import type { IncomingMessage } from 'node:http';
import type { Request } from 'express';
import { z } from 'zod';
import { invalid } from '../errors';

/** Parses with `schema` or throws a 400 naming the first bad field (`where` says body, query, header or path params). */
export function parse<S extends z.ZodType>(schema: S, value: unknown, where: 'body' | 'query' | 'headers' | 'params'): z.infer<S> {
  if (where === 'body' && value === undefined) throw invalid('missing_body', 'This route needs a JSON body (Content-Type: application/json)');
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const errors = result.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
  const first = errors[0]!;
  throw invalid(`invalid_${where === 'headers' ? 'header' : where}`, `${first.path ? `${first.path}: ` : ''}${first.message}`, errors);
}

export const body = <S extends z.ZodType>(schema: S, req: Request) => parse(schema, req.body, 'body');
export const query = <S extends z.ZodType>(schema: S, req: Request) => parse(schema, req.query, 'query');

/** A request header (its first value when repeated), or undefined when absent or empty. */
export function optionalHeader(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  return (Array.isArray(value) ? value[0] : value) || undefined;
}

/** A required request header, or a 400 naming it. */
export function header(req: IncomingMessage, name: string): string {
  const value = optionalHeader(req, name);
  if (!value) throw invalid('missing_header', `The ${name} header is required`);
  return value;
}

/** Query-string booleans as sent by axios and curl ("true"/"false"/"1"/"0"). */
export const queryBoolean = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', ''])])
  .optional()
  .transform((v) => v === true || v === 'true' || v === '1');

export const jsonObject = z.record(z.string(), z.unknown());

/** Ids chosen by users (connection ids, keys): printable, bounded. */
export const identifier = (what: string) =>
  z
    .string({ error: `${what} must be a string` })
    .min(1, `${what} must not be empty`)
    .max(255, `${what} must be at most 255 characters`)
    .regex(/^[^\u0000-\u001f\u007f]+$/, `${what} must not contain control characters`);
