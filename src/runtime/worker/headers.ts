// Runs inside the sandbox's vm context: the WHATWG `Headers` class for scripts (names compared
// without case, values combined with ", " except `set-cookie`, iteration sorted by name), as
// Node's and browsers' fetch have it.

/** RFC 9110 token characters: what a header name may hold. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** HTTP whitespace trimmed from both ends of a value. */
const EDGE_WHITESPACE = /^[\t\n\r ]+|[\t\n\r ]+$/g;

function headerName(name: unknown): string {
  const text = String(name);
  if (!TOKEN.test(text)) throw new TypeError(`Headers: "${text}" is an invalid header name`);
  return text.toLowerCase();
}

function headerValue(value: unknown): string {
  const text = String(value).replace(EDGE_WHITESPACE, '');
  if (/[\0\r\n]/.test(text)) throw new TypeError(`Headers: "${text}" is an invalid header value`);
  return text;
}

export type HeadersInit = Headers | Iterable<readonly [unknown, unknown]> | Record<string, unknown>;

export class Headers {
  /** Lower-cased name → its values in the order they were appended. */
  #values = new Map<string, string[]>();

  constructor(init?: HeadersInit) {
    if (init === undefined || init === null) return;
    if (init instanceof Headers) {
      for (const [name, values] of init.#values) this.#values.set(name, [...values]);
    } else if (typeof (init as Iterable<unknown>)[Symbol.iterator] === 'function') {
      for (const pair of init as Iterable<ArrayLike<unknown>>) {
        if (pair === null || typeof pair !== 'object' || pair.length !== 2) throw new TypeError('Headers: each header of the list must be a [name, value] pair');
        this.append(pair[0] as string, pair[1]);
      }
    } else if (typeof init === 'object') {
      for (const [name, value] of Object.entries(init)) this.append(name, value);
    } else {
      throw new TypeError('Headers: expected a Headers object, a list of [name, value] pairs or an object');
    }
  }

  append(name: string, value: unknown): void {
    const key = headerName(name);
    const text = headerValue(value);
    const values = this.#values.get(key);
    if (values) values.push(text);
    else this.#values.set(key, [text]);
  }

  delete(name: string): void {
    this.#values.delete(headerName(name));
  }

  get(name: string): string | null {
    return this.#values.get(headerName(name))?.join(', ') ?? null;
  }

  getSetCookie(): string[] {
    return [...(this.#values.get('set-cookie') ?? [])];
  }

  has(name: string): boolean {
    return this.#values.has(headerName(name));
  }

  set(name: string, value: unknown): void {
    this.#values.set(headerName(name), [headerValue(value)]);
  }

  forEach(fn: (value: string, name: string, headers: Headers) => void, thisArg?: unknown): void {
    for (const [name, value] of this.entries()) fn.call(thisArg, value, name, this);
  }

  /** Sorted by name; every `set-cookie` value is an entry of its own, other names one combined entry. */
  *entries(): IterableIterator<[string, string]> {
    for (const name of [...this.#values.keys()].sort()) {
      const values = this.#values.get(name);
      if (!values) continue; // deleted while iterating
      if (name === 'set-cookie') for (const value of values) yield [name, value];
      else yield [name, values.join(', ')];
    }
  }

  *keys(): IterableIterator<string> {
    for (const [name] of this.entries()) yield name;
  }

  *values(): IterableIterator<string> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }

  get [Symbol.toStringTag](): string {
    return 'Headers';
  }
}

/** Headers as the plain object a proxy call's config sends (several `set-cookie` values joined). */
export function plainHeaders(headers: Headers): Record<string, string> {
  const plain: Record<string, string> = {};
  for (const [name, value] of headers) plain[name] = plain[name] === undefined ? value : `${plain[name]}, ${value}`;
  return plain;
}
