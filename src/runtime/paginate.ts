import { invalid } from '../errors';
import type { Pagination } from '../providers';
import type { ResolvedRequest } from './http';
import type { ProxyConfiguration, ProxyResponse } from './types';

type Send = (request: ResolvedRequest) => Promise<ProxyResponse>;

/** One page: its items, what asks for the next page (cursor, link or offset; none after the last), and the response. */
export interface Page {
  items: unknown[];
  nextPageParam: string | number | undefined;
  response: ProxyResponse;
}

/**
 * Pages through an API: the provider's `proxy.paginate` merged with the call's `paginate`
 * (call wins). Yields each page; stops on an empty page or when there is no next page.
 *
 * @example
 * for await (const { items } of paginate(send, { endpoint: '/issues' }, github.proxy.paginate)) save(items);
 */
export async function* paginate(send: Send, config: ProxyConfiguration, defaults: Pagination | undefined): AsyncGenerator<Page> {
  const options = { ...defaults, ...config.paginate } as Pagination;
  if (!options.type) throw invalid('invalid_paginate', 'paginate needs a type (cursor, link or offset), from the call or the provider');
  const method = (config.method ?? 'GET').toUpperCase();
  const inBody = options.in_body ?? ['POST', 'PUT', 'PATCH'].includes(method);
  const values: Record<string, unknown> = {};
  if (options.limit !== undefined && options.limit_name_in_request) values[options.limit_name_in_request] = options.limit;

  const request = (extra: Record<string, unknown>): ResolvedRequest => {
    const all = { ...values, ...extra };
    if (inBody) return { ...config, data: { ...(isObject(config.data) ? config.data : {}), ...all } };
    return { ...config, params: { ...(paramsObject(config.params) as Record<string, string>), ...(all as Record<string, string>) } };
  };

  switch (options.type) {
    case 'cursor': {
      let cursor: string | number | undefined;
      do {
        const response = await send(request(cursor === undefined ? {} : { [options.cursor_name_in_request]: cursor }));
        const items = itemsOf(response.data, options.response_path);
        if (items.length === 0) return;
        const next = pathGet(response.data, options.cursor_path_in_response);
        cursor = typeof next === 'string' || typeof next === 'number' ? next : undefined;
        if (cursor === '') cursor = undefined;
        yield { items, nextPageParam: cursor, response };
      } while (cursor !== undefined);
      return;
    }
    case 'link': {
      let next: ResolvedRequest | undefined = request({});
      while (next) {
        const response: ProxyResponse = await send(next);
        const items = itemsOf(response.data, options.response_path);
        if (items.length === 0) return;
        const link = options.link_path_in_response_body
          ? pathGet(response.data, options.link_path_in_response_body)
          : linkRel(response.headers.link, options.link_rel_in_response_header ?? 'next');
        const url = typeof link === 'string' && link !== '' ? new URL(link, response.config.url).toString() : undefined;
        next = url ? { ...config, params: undefined, url } : undefined;
        yield { items, nextPageParam: url, response };
      }
      return;
    }
    case 'offset': {
      const perPage = options.offset_calculation_method === 'per-page';
      let offset: number | undefined = options.offset_start_value ?? 0;
      while (offset !== undefined) {
        const response = await send(request({ [options.offset_name_in_request]: offset }));
        const items = itemsOf(response.data, options.response_path);
        if (items.length === 0) return;
        const last = options.limit !== undefined && items.length < Number(options.limit);
        offset = last ? undefined : offset + (perPage ? 1 : items.length);
        yield { items, nextPageParam: offset, response };
      }
      return;
    }
    default:
      throw invalid('invalid_paginate', `Unknown paginate type "${(options as { type: string }).type}"`);
  }
}

function itemsOf(body: unknown, path: string | undefined): unknown[] {
  const items = path ? pathGet(body, path) : body;
  if (items === undefined || items === null) return [];
  if (!Array.isArray(items)) {
    throw invalid('invalid_paginate', `Expected an array of items at ${path ? `"${path}"` : 'the top of the response'}; set paginate.response_path`);
  }
  return items;
}

/** Reads `a.b.c` from a JSON value. */
export function pathGet(value: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((at, key) => (isObject(at) || Array.isArray(at) ? (at as Record<string, unknown>)[key] : undefined), value);
}

/** The URL of the entry with the given rel in an RFC 8288 Link header. */
export function linkRel(header: string | undefined, rel: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(/,(?=\s*<)/)) {
    const match = /<([^>]*)>(.*)/.exec(part.trim());
    if (!match) continue;
    const rels = /;\s*rel="?([^";]+)"?/i.exec(match[2]!)?.[1]?.split(/\s+/) ?? [];
    if (rels.includes(rel)) return match[1];
  }
  return undefined;
}

function paramsObject(params: ProxyConfiguration['params']): Record<string, unknown> {
  if (params === undefined) return {};
  return typeof params === 'string' ? Object.fromEntries(new URLSearchParams(params)) : params;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
