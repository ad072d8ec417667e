import type { Field, FieldType } from './model-types';
import type { ModelDefinition } from './nango-yaml';

/**
 * Models declared as zod schemas arrive as JSON Schema (zod 4's `toJSONSchema`, draft 7); this
 * turns them into the field types nango.yaml models have, so validation, typings and
 * `/scripts/config` go through one path. What a field type cannot say (`allOf`, `not`,
 * patterns) is `any`: models check types, not every constraint. Local references (`#`,
 * `#/definitions/__schema0`, zod's form for reused or recursive schemas) are followed; a
 * recursive one is `any` where it recurs.
 *
 * @example
 * modelFromJsonSchema('Issue', { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] })
 * // { name: 'Issue', fields: [{ name: 'id', type: { kind: 'primitive', name: 'string' }, optional: false }] }
 */
export function modelFromJsonSchema(name: string, schema: unknown): ModelDefinition {
  const type = fieldTypeOf(schema, schema, new Set());
  if (type.kind === 'object') return { name, fields: type.fields, ...(type.index ? { index: type.index } : {}) };
  return { name, fields: [], type };
}

const ANY: FieldType = { kind: 'primitive', name: 'any' };

/** The field type a JSON Schema node describes; `root` resolves local references, `resolving` stops recursion. */
function fieldTypeOf(schema: unknown, root: unknown, resolving: Set<string>): FieldType {
  if (typeof schema !== 'object' || schema === null) return ANY;
  const s = schema as Record<string, unknown>;
  const of = (node: unknown) => fieldTypeOf(node, root, resolving);
  if (typeof s.$ref === 'string') {
    if (resolving.has(s.$ref)) return ANY;
    const target = resolveRef(root, s.$ref);
    resolving.add(s.$ref);
    const type = target === undefined ? ANY : of(target);
    resolving.delete(s.$ref);
    return type;
  }
  if ('const' in s) return literal(s.const);
  if (Array.isArray(s.enum)) return union(s.enum.map(literal));
  const alternatives = Array.isArray(s.anyOf) ? s.anyOf : Array.isArray(s.oneOf) ? s.oneOf : undefined;
  if (alternatives) return union(alternatives.map(of));
  if (Array.isArray(s.type)) return union(s.type.map((type) => of({ ...s, type })));
  switch (s.type) {
    case 'string':
      return { kind: 'primitive', name: s.format === 'date-time' ? 'Date' : 'string' };
    case 'number':
    case 'integer':
      return { kind: 'primitive', name: 'number' };
    case 'boolean':
      return { kind: 'primitive', name: 'boolean' };
    case 'null':
      return { kind: 'primitive', name: 'null' };
    case 'array': {
      // A tuple is checked as an array of any of its members.
      const tuple = Array.isArray(s.prefixItems) ? s.prefixItems : Array.isArray(s.items) ? s.items : undefined;
      return { kind: 'array', of: tuple ? union(tuple.map(of)) : of(s.items) };
    }
    case 'object':
      return objectType(s, of);
    default:
      return ANY;
  }
}

function objectType(s: Record<string, unknown>, of: (node: unknown) => FieldType): FieldType {
  const properties = typeof s.properties === 'object' && s.properties !== null ? (s.properties as Record<string, unknown>) : {};
  const required = new Set(Array.isArray(s.required) ? s.required : []);
  const fields: Field[] = Object.entries(properties).map(([name, p]) => ({ name, type: of(p), optional: !required.has(name) }));
  const extra = s.additionalProperties;
  // Without `additionalProperties: false` (z.looseObject, z.record) other keys are allowed.
  const index = extra === false ? undefined : extra === undefined || extra === true ? ANY : of(extra);
  return { kind: 'object', fields, ...(index ? { index } : {}) };
}

function literal(value: unknown): FieldType {
  if (value === null) return { kind: 'primitive', name: 'null' };
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return { kind: 'literal', value };
  return ANY;
}

function union(of: FieldType[]): FieldType {
  return of.length === 1 ? of[0]! : { kind: 'union', of };
}

/** `#` or `#/definitions/<name>` (`$defs` too) inside `root`. */
function resolveRef(root: unknown, ref: string): unknown {
  if (ref === '#') return root;
  const match = /^#\/(definitions|\$defs)\/(.+)$/.exec(ref);
  const table = match && typeof root === 'object' && root !== null ? (root as Record<string, unknown>)[match[1]!] : undefined;
  return typeof table === 'object' && table !== null ? (table as Record<string, unknown>)[decodeURIComponent(match![2]!)] : undefined;
}
