// Checks a value against the subset of JSON Schema the OpenAPI document uses (type, enum,
// required, properties, additionalProperties, items, $ref): the tests hold real answers to it.
type Schema = Record<string, unknown>;

export function schemaErrors(value: unknown, schema: Schema, doc: Schema, where = '$'): string[] {
  const ref = schema['$ref'];
  if (typeof ref === 'string') {
    const name = ref.replace('#/components/schemas/', '');
    const target = ((doc['components'] as Schema)['schemas'] as Record<string, Schema>)[name];
    return target ? schemaErrors(value, target, doc, where) : [`${where}: unknown $ref ${ref}`];
  }
  const errs: string[] = [];
  const types = schema['type'] === undefined ? [] : ([] as string[]).concat(schema['type'] as string | string[]);
  const typeOf = (v: unknown) =>
    v === null ? 'null' : Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : typeof v;
  const t = typeOf(value);
  if (types.length && !types.some((x) => x === t || (x === 'number' && t === 'integer'))) {
    return [`${where}: ${t}, not ${types.join('|')}`];
  }
  const en = schema['enum'] as unknown[] | undefined;
  if (en && !en.includes(value)) errs.push(`${where}: ${JSON.stringify(value)} not in ${JSON.stringify(en)}`);
  if (t === 'object') {
    const obj = value as Record<string, unknown>;
    for (const k of (schema['required'] as string[] | undefined) ?? [])
      if (!(k in obj)) errs.push(`${where}.${k}: missing`);
    const props = (schema['properties'] as Record<string, Schema> | undefined) ?? {};
    for (const [k, v] of Object.entries(obj)) {
      if (props[k]) errs.push(...schemaErrors(v, props[k], doc, `${where}.${k}`));
      else if (schema['additionalProperties'] === false) errs.push(`${where}.${k}: not in the schema`);
    }
  }
  if (t === 'array' && schema['items']) {
    (value as unknown[]).forEach((v, i) => {
      errs.push(...schemaErrors(v, schema['items'] as Schema, doc, `${where}[${i}]`));
    });
  }
  return errs;
}

/** The schema of the answer to METHOD PATH (a template path) with STATUS, from the document. */
export function responseSchema(doc: Schema, method: string, path: string, status: number): Schema | null {
  const op = (doc['paths'] as Record<string, Record<string, Schema>>)[path]?.[method.toLowerCase()];
  const res = (op?.['responses'] as Record<string, Schema> | undefined)?.[String(status)];
  const content = res?.['content'] as Record<string, Schema> | undefined;
  return (content?.['application/json']?.['schema'] as Schema | undefined) ?? null;
}
