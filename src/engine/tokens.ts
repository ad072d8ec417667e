import { invalidArgument } from './errors';

/** What a task token names; tokens are opaque to workers. */
export type Token =
  | { k: 'w'; r: string; s: number; st: number; a: number }
  | { k: 'a'; r: string; s: number; a: number }
  | { k: 'q'; r: string; q: string };

export function encodeToken(t: Token): Buffer {
  return Buffer.from(JSON.stringify(t));
}

export function decodeToken<K extends Token['k']>(bytes: Uint8Array | null | undefined, kind: K): Extract<Token, { k: K }> {
  let t: Token | undefined;
  try {
    t = bytes && bytes.length ? (JSON.parse(Buffer.from(bytes).toString('utf8')) as Token) : undefined;
  } catch {
    t = undefined;
  }
  if (!t || t.k !== kind) throw invalidArgument('invalid task token');
  return t as Extract<Token, { k: K }>;
}
