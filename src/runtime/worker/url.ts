// Runs inside the sandbox's vm context: URL and URLSearchParams for scripts. Parsing is delegated
// to Node's WHATWG parser outside through a string-only call, so behaviour matches Node's.

export type SyncCall = (method: string, args: unknown) => unknown;

const PARTS = ['href', 'protocol', 'username', 'password', 'host', 'hostname', 'port', 'pathname', 'search', 'hash'] as const;
type Part = (typeof PARTS)[number];
type Parts = Record<Part | 'origin', string>;

function formEncode(text: string): string {
  return encodeURIComponent(text)
    .replace(/%20/g, '+')
    .replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function formDecode(text: string): string {
  const spaced = text.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

export function makeUrlClasses(syncCall: SyncCall) {
  class URLSearchParams {
    #pairs: Array<[string, string]> = [];
    #onChange: ((query: string) => void) | undefined;

    constructor(init?: unknown) {
      if (typeof init === 'string') this.#parse(init);
      else if (init instanceof URLSearchParams) this.#pairs = init.#pairs.map(([k, v]) => [k, v]);
      else if (init && typeof (init as Iterable<unknown>)[Symbol.iterator] === 'function') {
        for (const pair of init as Iterable<[unknown, unknown]>) this.#pairs.push([String(pair[0]), String(pair[1])]);
      } else if (init && typeof init === 'object') {
        for (const [k, v] of Object.entries(init)) this.#pairs.push([k, String(v)]);
      }
    }

    /** Ties the params to a URL: `attach` is called by URL only. */
    static attach(params: URLSearchParams, query: string, onChange: (query: string) => void): void {
      params.#pairs = [];
      params.#parse(query);
      params.#onChange = onChange;
    }

    #parse(query: string): void {
      for (const part of query.replace(/^\?/, '').split('&')) {
        if (!part) continue;
        const eq = part.indexOf('=');
        this.#pairs.push(eq < 0 ? [formDecode(part), ''] : [formDecode(part.slice(0, eq)), formDecode(part.slice(eq + 1))]);
      }
    }

    #changed(): void {
      this.#onChange?.(this.toString());
    }

    get size(): number {
      return this.#pairs.length;
    }
    append(name: string, value: unknown): void {
      this.#pairs.push([String(name), String(value)]);
      this.#changed();
    }
    delete(name: string): void {
      this.#pairs = this.#pairs.filter(([k]) => k !== String(name));
      this.#changed();
    }
    get(name: string): string | null {
      return this.#pairs.find(([k]) => k === String(name))?.[1] ?? null;
    }
    getAll(name: string): string[] {
      return this.#pairs.filter(([k]) => k === String(name)).map(([, v]) => v);
    }
    has(name: string): boolean {
      return this.#pairs.some(([k]) => k === String(name));
    }
    set(name: string, value: unknown): void {
      const key = String(name);
      const index = this.#pairs.findIndex(([k]) => k === key);
      if (index < 0) this.#pairs.push([key, String(value)]);
      else this.#pairs = this.#pairs.filter(([k], i) => k !== key || i === index).map((p, i) => (i === index ? [key, String(value)] : p));
      this.#changed();
    }
    sort(): void {
      this.#pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      this.#changed();
    }
    forEach(fn: (value: string, key: string, params: URLSearchParams) => void): void {
      for (const [k, v] of this.#pairs) fn(v, k, this);
    }
    *keys(): IterableIterator<string> {
      for (const [k] of this.#pairs) yield k;
    }
    *values(): IterableIterator<string> {
      for (const [, v] of this.#pairs) yield v;
    }
    *entries(): IterableIterator<[string, string]> {
      for (const [k, v] of this.#pairs) yield [k, v];
    }
    [Symbol.iterator](): IterableIterator<[string, string]> {
      return this.entries();
    }
    toString(): string {
      return this.#pairs.map(([k, v]) => `${formEncode(k)}=${formEncode(v)}`).join('&');
    }
  }

  const state = new WeakMap<object, { parts: Parts; params: URLSearchParams }>();
  const of = (url: object) => {
    const found = state.get(url);
    if (!found) throw new TypeError('Receiver is not a URL');
    return found;
  };
  const bind = (url: object) => {
    const s = of(url);
    URLSearchParams.attach(s.params, s.parts.search, (query) => set(url, 'search', query));
  };
  const set = (url: object, part: Part, value: unknown) => {
    const s = of(url);
    s.parts = syncCall('url.set', { href: s.parts.href, part, value: String(value) }) as Parts;
  };

  class URL {
    constructor(input: unknown, base?: unknown) {
      const parts = syncCall('url.parse', { input: String(input), base: base === undefined ? undefined : String(base) }) as Parts;
      state.set(this, { parts, params: new URLSearchParams() });
      bind(this);
    }

    static canParse(input: unknown, base?: unknown): boolean {
      try {
        new URL(input, base);
        return true;
      } catch {
        return false;
      }
    }

    get origin(): string {
      return of(this).parts.origin;
    }
    get searchParams(): URLSearchParams {
      return of(this).params;
    }
    toString(): string {
      return of(this).parts.href;
    }
    toJSON(): string {
      return of(this).parts.href;
    }
  }
  for (const part of PARTS) {
    Object.defineProperty(URL.prototype, part, {
      get(this: URL) {
        return of(this).parts[part];
      },
      set(this: URL, value: unknown) {
        set(this, part, value);
        if (part === 'href' || part === 'search') bind(this);
      },
      enumerable: true,
      configurable: true,
    });
  }

  return { URL, URLSearchParams };
}
