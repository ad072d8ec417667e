/**
 * Field types of nango.yaml models, parsed from strings such as `string | null`, `Issue[]`,
 * `'open' | 'closed'` into a small tree used both to generate `models.ts` and to check records.
 */
export type FieldType =
  | { kind: 'primitive'; name: Primitive }
  | { kind: 'literal'; value: string | number | boolean }
  | { kind: 'array'; of: FieldType }
  | { kind: 'union'; of: FieldType[] }
  | { kind: 'ref'; model: string }
  | { kind: 'object'; fields: Field[]; index?: FieldType };

export type Primitive = 'string' | 'number' | 'boolean' | 'Date' | 'any' | 'null' | 'undefined' | 'object';

export interface Field {
  name: string;
  type: FieldType;
  optional: boolean;
}

/** nango.yaml's aliases (`integer`, `varchar`, `bool`, ...) and the primitives they stand for. */
const ALIASES: Record<string, FieldType> = {
  string: { kind: 'primitive', name: 'string' },
  char: { kind: 'primitive', name: 'string' },
  varchar: { kind: 'primitive', name: 'string' },
  number: { kind: 'primitive', name: 'number' },
  integer: { kind: 'primitive', name: 'number' },
  int: { kind: 'primitive', name: 'number' },
  float: { kind: 'primitive', name: 'number' },
  boolean: { kind: 'primitive', name: 'boolean' },
  bool: { kind: 'primitive', name: 'boolean' },
  date: { kind: 'primitive', name: 'Date' },
  Date: { kind: 'primitive', name: 'Date' },
  any: { kind: 'primitive', name: 'any' },
  null: { kind: 'primitive', name: 'null' },
  undefined: { kind: 'primitive', name: 'undefined' },
  object: { kind: 'primitive', name: 'object' },
  array: { kind: 'array', of: { kind: 'primitive', name: 'any' } },
  true: { kind: 'literal', value: true },
  false: { kind: 'literal', value: false },
};

/** Thrown for a type string that cannot be parsed; the caller adds file, path and line. */
export class TypeSyntaxError extends Error {}

/**
 * Parses a type expression. Bare words that are neither aliases nor models are string literals,
 * as in Nango (`status: open | closed`).
 *
 * @example
 * parseFieldType('string[] | null', new Set()) // union of array-of-string and null
 */
export function parseFieldType(source: string, models: ReadonlySet<string>): FieldType {
  // A `(` right after a word (no space) belongs to that word: `shared_view(CC)` is one literal,
  // while `(A | B)[]` groups.
  const tokens = source.match(/'[^']*'|"[^"]*"|\[\]|[^\s|()[\]'"]+(?:\([^|()]*\)[^\s|()[\]'"]*)*|[|()]|\S/g) ?? [];
  let at = 0;
  const peek = () => tokens[at];
  const fail = (why: string): never => {
    throw new TypeSyntaxError(`cannot parse type "${source}": ${why}`);
  };

  const union = (): FieldType => {
    const members = [term()];
    while (peek() === '|') {
      at++;
      members.push(term());
    }
    return members.length === 1 ? members[0]! : { kind: 'union', of: members };
  };
  const term = (): FieldType => {
    let type = atom();
    while (peek() === '[]') {
      at++;
      type = { kind: 'array', of: type };
    }
    return type;
  };
  const atom = (): FieldType => {
    const token = tokens[at++];
    if (token === undefined) return fail('a type is missing');
    if (token === '(') {
      const inner = union();
      if (tokens[at++] !== ')') fail('missing ")"');
      return inner;
    }
    if (/^['"]/.test(token)) return { kind: 'literal', value: token.slice(1, -1) };
    if (/^-?\d+(\.\d+)?$/.test(token)) return { kind: 'literal', value: Number(token) };
    if (/^[\w$.-]+\(/.test(token)) return { kind: 'literal', value: token };
    if (!/^[\w$.-]+$/.test(token)) return fail(`unexpected "${token}"`);
    if (Object.hasOwn(ALIASES, token)) return ALIASES[token]!;
    if (models.has(token)) return { kind: 'ref', model: token };
    return { kind: 'literal', value: token };
  };

  const type = union();
  if (at < tokens.length) fail(`unexpected "${tokens[at]}"`);
  return type;
}

/** TypeScript source for a field type, as written into `models.ts`. */
export function typeToTs(type: FieldType, indent = ''): string {
  switch (type.kind) {
    case 'primitive':
      return type.name === 'object' ? 'Record<string, any>' : type.name;
    case 'literal':
      return typeof type.value === 'string' ? `'${type.value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'` : String(type.value);
    case 'array': {
      const inner = typeToTs(type.of, indent);
      return type.of.kind === 'union' ? `(${inner})[]` : `${inner}[]`;
    }
    case 'union':
      return type.of.map((t) => typeToTs(t, indent)).join(' | ');
    case 'ref':
      return type.model;
    case 'object':
      return `{\n${objectBody(type.fields, type.index, `${indent}  `)}${indent}}`;
  }
}

/** The member lines of an interface or inline object type. */
export function objectBody(fields: Field[], index: FieldType | undefined, indent: string): string {
  const key = (name: string) => (/^[A-Za-z_$][\w$]*$/.test(name) ? name : JSON.stringify(name));
  const lines = fields.map((f) => `${indent}${key(f.name)}${f.optional ? '?' : ''}: ${typeToTs(f.type, indent)};\n`);
  if (index) lines.push(`${indent}[key: string]: ${typeToTs(index, indent)};\n`);
  return lines.join('');
}
