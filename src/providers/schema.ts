import { z } from 'zod';
import { AUTH_MODES, type ProviderDefinition } from './types';

const PLACEHOLDER = /\$\{([\w.-]+)\}/g;
const stringMap = z.record(z.string(), z.string());
const oneOrMany = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);
const url = z.string().regex(/^(https?:\/\/|\$\{connectionConfig\.[\w-]+\})\S*$/, 'must be an http(s) URL (placeholders allowed)');
const statusPattern = z.string().regex(/^(\d{3}|\dxx|\d{3}-\d{3})$/, 'must be a status (429), a class (5xx) or a range (500-502)');
/** One signing scheme of incoming webhooks (see WebhookSignature). */
const signatureScheme = z.strictObject({
  header: z.string().min(1),
  algorithm: z.enum(['hmac-sha256', 'hmac-sha1', 'sha256']),
  encoding: z.enum(['hex', 'base64']).optional(),
  prefix: z.string().min(1).optional(),
  secret: z.enum(['webhook_secret', 'client_secret']).optional(),
  signed_payload: z.string().min(1).optional(),
  signature_part: z.string().min(1).optional(),
  tolerance_seconds: z.number().int().positive().optional(),
  timestamp: z.string().regex(/^(header|part)\.[\w-]+$/, 'must be header.<name> or part.<name>').optional(),
});

const common = {
  limit: z.number().int().positive().optional(),
  limit_name_in_request: z.string().min(1).optional(),
  response_path: z.string().min(1).optional(),
  in_body: z.boolean().optional(),
};

const paginate = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('cursor'), cursor_path_in_response: z.string().min(1), cursor_name_in_request: z.string().min(1), ...common }),
  z
    .strictObject({ type: z.literal('link'), link_rel_in_response_header: z.string().min(1).optional(), link_path_in_response_body: z.string().min(1).optional(), ...common })
    .refine((p) => p.link_rel_in_response_header || p.link_path_in_response_body, 'link pagination needs link_rel_in_response_header or link_path_in_response_body'),
  z.strictObject({
    type: z.literal('offset'),
    offset_name_in_request: z.string().min(1),
    offset_start_value: z.number().int().optional(),
    offset_calculation_method: z.enum(['per-page', 'by-response-size']).optional(),
    ...common,
  }),
]);

const configField = z.strictObject({
  title: z.string().optional(),
  description: z.string().optional(),
  pattern: z
    .string()
    .refine((p) => {
      try {
        new RegExp(p);
        return true;
      } catch {
        return false;
      }
    }, 'must be a valid regular expression')
    .optional(),
  example: z.string().optional(),
  default: z.string().optional(),
});

/** The shape of one provider definition, for built-in entries and users' providers.yaml alike. */
export const providerSchema = z
  .strictObject({
    display_name: z.string().min(1),
    auth_mode: z.enum(AUTH_MODES as [string, ...string[]]),
    categories: z.array(z.string().min(1)).optional(),
    docs: z.url().optional(),
    authorization_url: url.optional(),
    token_url: url.optional(),
    refresh_url: url.optional(),
    request_token_url: url.optional(),
    authorization_params: stringMap.optional(),
    token_params: stringMap.optional(),
    refresh_params: stringMap.optional(),
    default_scopes: z.array(z.string().min(1)).optional(),
    scope_separator: z.string().min(1).optional(),
    disable_pkce: z.boolean().optional(),
    authorization_method: z.enum(['body', 'header']).optional(),
    body_format: z.enum(['form', 'json']).optional(),
    token_expiration_buffer: z.number().int().min(0).optional(),
    connection_config: z.record(z.string().regex(/^[\w-]+$/, 'names are letters, digits, "_" and "-"'), configField).optional(),
    connection_config_from: z
      .strictObject({ token_response: z.array(z.string().min(1)).optional(), callback_query: z.array(z.string().min(1)).optional() })
      .optional(),
    proxy: z
      .strictObject({
        base_url: url,
        headers: stringMap.optional(),
        query: stringMap.optional(),
        retry: z
          .strictObject({ at: oneOrMany.optional(), after: oneOrMany.optional(), remaining: z.string().min(1).optional(), error_code: z.array(statusPattern).optional() })
          .optional(),
        paginate: paginate.optional(),
        decompress: z.boolean().optional(),
      })
      .optional(),
    webhook: z
      .strictObject({
        signature: z.union([signatureScheme, z.array(signatureScheme).min(1)]).optional(),
        event_type: z.strictObject({ header: z.string().min(1).optional(), payload_path: z.string().min(1).optional() }).optional(),
        connection: z
          .array(
            z
              .strictObject({
                payload_path: z.string().min(1),
                connection_config: z.string().min(1).optional(),
                metadata: z.union([z.string().min(1), z.array(z.string().min(1)).min(2)]).optional(),
              })
              .refine((r) => (r.connection_config === undefined) !== (r.metadata === undefined), 'name exactly one of connection_config and metadata'),
          )
          .optional(),
      })
      .optional(),
  })
  .superRefine((p, ctx) => {
    const needs = (field: keyof typeof p, modes: string[]) => {
      if (modes.includes(p.auth_mode) && !p[field]) ctx.addIssue({ code: 'custom', path: [field], message: `required for auth_mode ${p.auth_mode}` });
    };
    needs('authorization_url', ['OAUTH2', 'OAUTH1']);
    needs('token_url', ['OAUTH2', 'OAUTH2_CC', 'OAUTH1']);
    needs('request_token_url', ['OAUTH1']);
    // Every ${connectionConfig.x} must be something the connection will have.
    const known = new Set([...Object.keys(p.connection_config ?? {}), ...(p.connection_config_from?.token_response ?? []), ...(p.connection_config_from?.callback_query ?? [])]);
    const templates: Array<[Array<string | number>, string]> = [];
    for (const field of ['authorization_url', 'token_url', 'refresh_url', 'request_token_url'] as const) if (p[field]) templates.push([[field], p[field]!]);
    if (p.proxy) {
      templates.push([['proxy', 'base_url'], p.proxy.base_url]);
      for (const [k, v] of Object.entries(p.proxy.headers ?? {})) templates.push([['proxy', 'headers', k], v]);
      for (const [k, v] of Object.entries(p.proxy.query ?? {})) templates.push([['proxy', 'query', k], v]);
    }
    for (const [path, template] of templates) {
      for (const [, name] of template.matchAll(PLACEHOLDER)) {
        const [root, field] = name!.split('.');
        const ok =
          (root === 'connectionConfig' && field !== undefined && known.has(field)) ||
          (path[0] === 'proxy' && path[1] !== 'base_url' && (name === 'accessToken' || name === 'apiKey' || root === 'credentials'));
        if (!ok) ctx.addIssue({ code: 'custom', path, message: `unknown placeholder \${${name}}: declare it under connection_config or connection_config_from` });
      }
    }
  });

export interface ProviderIssue {
  provider: string;
  path: string;
  message: string;
}

/** Validates one definition; the issues name the provider and the field. */
export function validateProvider(name: string, definition: unknown): { definition?: ProviderDefinition; issues: ProviderIssue[] } {
  const result = providerSchema.safeParse(definition);
  if (result.success) return { definition: result.data as ProviderDefinition, issues: [] };
  return { issues: result.error.issues.map((issue) => ({ provider: name, path: issue.path.join('.'), message: issue.message })) };
}
