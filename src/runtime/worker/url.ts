// Runs inside the sandbox's vm context: URL and URLSearchParams for scripts. Parsing is delegated
// to Node's WHATWG parser outside through a string-only call, so behaviour matches Node's.

export type SyncCall = (method: string, args: unknown) => unknown;

type Part = 'href' | 'protocol' | 'username' | 'password' | 'host' | 'hostname' | 'port' | 'pathname' | 'search' | 'hash';
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

  class URL {
    #parts: Parts;
    #params = new URLSearchParams();

    constructor(input: unknown, base?: unknown) {
      this.#parts = syncCall('url.parse', { input: String(input), base: base === undefined ? undefined : String(base) }) as Parts;
      this.#bind();
    }

    static canParse(input: unknown, base?: unknown): boolean {
      try {
        new URL(input, base);
        return true;
      } catch {
        return false;
      }
    }

    #bind(): void {
      URLSearchParams.attach(this.#params, this.#parts.search, (query) => this.#set('search', query));
    }

    #set(part: Part, value: unknown): void {
      this.#parts = syncCall('url.set', { href: this.#parts.href, part, value: String(value) }) as Parts;
    }

    get href(): string {
      return this.#parts.href;
    }
    set href(value: string) {
      this.#set('href', value); this.#bind();
    }
    get protocol(): string {
      return this.#parts.protocol;
    }
    set protocol(value: string) {
      this.#set('protocol', value);
    }
    get username(): string {
      return this.#parts.username;
    }
    set username(value: string) {
      this.#set('username', value);
    }
    get password(): string {
      return this.#parts.password;
    }
    set password(value: string) {
      this.#set('password', value);
    }
    get host(): string {
      return this.#parts.host;
    }
    set host(value: string) {
      this.#set('host', value);
    }
    get hostname(): string {
      return this.#parts.hostname;
    }
    set hostname(value: string) {
      this.#set('hostname', value);
    }
    get port(): string {
      return this.#parts.port;
    }
    set port(value: string) {
      this.#set('port', value);
    }
    get pathname(): string {
      return this.#parts.pathname;
    }
    set pathname(value: string) {
      this.#set('pathname', value);
    }
    get search(): string {
      return this.#parts.search;
    }
    set search(value: string) {
      this.#set('search', value); this.#bind();
    }
    get hash(): string {
      return this.#parts.hash;
    }
    set hash(value: string) {
      this.#set('hash', value);
    }
    get origin(): string {
      return this.#parts.origin;
    }
    get searchParams(): URLSearchParams {
      return this.#params;
    }
    toString(): string {
      return this.#parts.href;
    }
    toJSON(): string {
      return this.#parts.href;
    }
  }

  return { URL, URLSearchParams };
}
