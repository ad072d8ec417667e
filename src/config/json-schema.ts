import type { FieldType, Field } from './model-types';
import type { ModelDefinition } from './nango-yaml';

/** A JSON Schema (draft 7) node, as far as models need one. */
export type JsonSchema = { [key: string]: unknown };

export const JSON_SCHEMA_DRAFT = 'http://json-schema.org/draft-07/schema#';

/**
 * A JSON Schema with one definition per model, references between models as
 * `#/definitions/<Model>`. What `.nango/schema.json` holds and what `GET /scripts/config` gives per
 * script (`json_schema`). Objects are closed (`additionalProperties: false`) unless they declare
 * `__string`, as TypeScript interfaces are.
 *
 * @example
 * modelsJsonSchema(config.models.values()).definitions.Issue // { type: 'object', properties: {...}, required: [...] }
 */
export function modelsJsonSchema(models: Iterable<ModelDefinition>): { $schema: string; definitions: Record<string, JsonSchema> } {
  const definitions: Record<string, JsonSchema> = {};
  for (const model of models) {
    definitions[model.name] = fieldTypeSchema(model.type ?? { kind: 'object', fields: model.fields, ...(model.index ? { index: model.index } : {}) });
  }
  return { $schema: JSON_SCHEMA_DRAFT, definitions };
}

/** The JSON Schema of one field type. */
export function fieldTypeSchema(type: FieldType): JsonSchema {
  switch (type.kind) {
    case 'primitive':
      switch (type.name) {
        case 'Date':
          return { type: 'string', format: 'date-time' };
        case 'any':
        case 'undefined':
          return {};
        case 'object':
          return { type: 'object' };
        default:
          return { type: type.name };
      }
    case 'literal':
      return { type: typeof type.value, const: type.value };
    case 'array':
      return { type: 'array', items: fieldTypeSchema(type.of) };
    case 'union': {
      // `undefined` has no JSON form: `X | undefined` is just X (optional fields are not required).
      const members = type.of.filter((t) => !(t.kind === 'primitive' && t.name === 'undefined'));
      if (members.length === 1) return fieldTypeSchema(members[0]!);
      if (members.length && members.every((t) => t.kind === 'literal')) {
        const kinds = [...new Set(members.map((t) => typeof (t as { value: unknown }).value))];
        return { type: kinds.length === 1 ? kinds[0] : kinds, enum: members.map((t) => (t as { value: unknown }).value) };
      }
      return { anyOf: members.map(fieldTypeSchema) };
    }
    case 'ref':
      return { $ref: `#/definitions/${type.model}` };
    case 'object':
      return objectSchema(type.fields, type.index);
  }
}

function objectSchema(fields: Field[], index: FieldType | undefined): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const field of fields) properties[field.name] = fieldTypeSchema(field.type);
  const required = fields.filter((f) => !f.optional).map((f) => f.name);
  return {
    type: 'object',
    properties,
    ...(required.length ? { required } : {}),
    additionalProperties: index ? fieldTypeSchema(index) : false,
  };
}
