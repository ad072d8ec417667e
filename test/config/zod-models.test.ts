import { z } from 'zod';
import { modelsJsonSchema } from '../../src/config/json-schema';
import { modelFromJsonSchema } from '../../src/config/zod-models';

/** The JSON Schema Nango's CLI makes of a zod model. */
const jsonOf = (schema: z.ZodType) => z.toJSONSchema(schema, { target: 'draft-7', unrepresentable: 'any' });

describe('modelFromJsonSchema', () => {
  it('turns an object schema into fields, optional where not required', () => {
    const model = modelFromJsonSchema('Issue', jsonOf(z.object({ id: z.string(), count: z.number().int().optional(), state: z.enum(['open', 'closed']), body: z.string().nullable() })));
    expect(model).toEqual({
      name: 'Issue',
      fields: [
        { name: 'id', type: { kind: 'primitive', name: 'string' }, optional: false },
        { name: 'count', type: { kind: 'primitive', name: 'number' }, optional: true },
        { name: 'state', type: { kind: 'union', of: [{ kind: 'literal', value: 'open' }, { kind: 'literal', value: 'closed' }] }, optional: false },
        { name: 'body', type: { kind: 'union', of: [{ kind: 'primitive', name: 'string' }, { kind: 'primitive', name: 'null' }] }, optional: false },
      ],
    });
  });

  it('keeps arrays, nested objects, records and loose objects, and comes back to the same JSON Schema', () => {
    const schema = z.object({ id: z.string(), tags: z.array(z.object({ name: z.string() })), extra: z.record(z.string(), z.number()), raw: z.looseObject({ a: z.boolean() }) });
    const model = modelFromJsonSchema('Thing', jsonOf(schema));
    const back = modelsJsonSchema([model]).definitions.Thing as { properties: Record<string, unknown> };
    expect(back.properties.tags).toEqual({ type: 'array', items: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'], additionalProperties: false } });
    expect(back.properties.extra).toEqual({ type: 'object', properties: {}, additionalProperties: { type: 'number' } });
    expect(back.properties.raw).toEqual({ type: 'object', properties: { a: { type: 'boolean' } }, required: ['a'], additionalProperties: {} });
  });

  it('gives a model that is not an object its type, and follows recursive references without looping', () => {
    expect(modelFromJsonSchema('Out', jsonOf(z.array(z.string())))).toEqual({ name: 'Out', fields: [], type: { kind: 'array', of: { kind: 'primitive', name: 'string' } } });
    interface Node {
      id: string;
      children: Node[];
    }
    const node: z.ZodType<Node> = z.lazy(() => z.object({ id: z.string(), children: z.array(node) }));
    const model = modelFromJsonSchema('Node', jsonOf(node));
    expect(model.fields.map((f) => f.name)).toEqual(['id', 'children']);
    // The reference is followed once, then is any where it recurs.
    const children = model.fields[1]!.type as { kind: 'array'; of: { kind: 'object'; fields: Array<{ name: string; type: unknown }> } };
    expect(children.of.fields.map((f) => f.name)).toEqual(['id', 'children']);
    expect(children.of.fields[1]!.type).toEqual({ kind: 'array', of: { kind: 'primitive', name: 'any' } });
  });

  it('reads z.date() as Nango writes it (a date-time string) as a Date field', () => {
    expect(modelFromJsonSchema('D', { type: 'object', properties: { at: { type: 'string', format: 'date-time' } }, required: ['at'], additionalProperties: false }).fields[0]!.type).toEqual({
      kind: 'primitive',
      name: 'Date',
    });
  });
});
