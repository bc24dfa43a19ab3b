/**
 * A small JSON Schema checker for the subset the OpenAPI document uses ($ref, type, properties,
 * required, additionalProperties, items, enum, const, anyOf, oneOf, allOf, minimum/maximum,
 * pattern). Enough to prove real responses match the documented shapes; returns the mismatches.
 */
import { expect } from 'vitest';
import { openApiDocument } from '../../src/http/openapi.js';

type Schema = Record<string, unknown>;

const apiDocument = JSON.parse(JSON.stringify(openApiDocument)) as { components: { schemas: Record<string, unknown> } };

/** Asserts that `body` matches the service's OpenAPI component schema `name` (mismatches listed on failure). */
export function expectDocumented(name: string, body: unknown): void {
  expect(checkSchema(apiDocument, { $ref: `#/components/schemas/${name}` }, body), name).toEqual([]);
}

export function checkSchema(doc: { components: { schemas: Record<string, unknown> } }, schema: unknown, value: unknown, at = '$'): string[] {
  const s = resolve(doc, schema);
  const errors: string[] = [];
  if ('$ref' in s) return checkSchema(doc, s, value, at);
  if (s.anyOf || s.oneOf) {
    const options = (s.anyOf ?? s.oneOf) as unknown[];
    const results = options.map((o) => checkSchema(doc, o, value, at));
    const passing = results.filter((r) => r.length === 0).length;
    if (passing === 0) return [`${at}: matches none of ${options.length} alternatives (${results.map((r) => r[0]).join(' | ')})`];
    if (s.oneOf && passing > 1) return [`${at}: matches ${passing} oneOf alternatives`];
    return [];
  }
  if (s.allOf) {
    const parts = (s.allOf as unknown[]).map((p) => resolve(doc, p));
    for (const p of parts) errors.push(...checkSchema(doc, { ...p, additionalProperties: true }, value, at));
    // Unknown properties: not in any part.
    if (isObject(value)) {
      const known = new Set(parts.flatMap((p) => Object.keys((p.properties as Schema | undefined) ?? {})));
      for (const k of Object.keys(value)) if (!known.has(k)) errors.push(`${at}.${k}: not documented`);
    }
    return errors;
  }
  if ('const' in s && value !== s.const) errors.push(`${at}: expected ${JSON.stringify(s.const)}`);
  if (s.enum && !(s.enum as unknown[]).includes(value)) errors.push(`${at}: ${JSON.stringify(value)} not in enum`);
  switch (s.type) {
    case 'object': {
      if (!isObject(value)) return [`${at}: expected object`];
      const props = (s.properties as Record<string, unknown> | undefined) ?? {};
      for (const r of (s.required as string[] | undefined) ?? []) if (!(r in value)) errors.push(`${at}.${r}: required but missing`);
      for (const [k, v] of Object.entries(value)) {
        if (k in props) errors.push(...checkSchema(doc, props[k], v, `${at}.${k}`));
        else if (s.additionalProperties === false) errors.push(`${at}.${k}: not documented`);
        else if (isObject(s.additionalProperties)) errors.push(...checkSchema(doc, s.additionalProperties, v, `${at}.${k}`));
      }
      break;
    }
    case 'array':
      if (!Array.isArray(value)) return [`${at}: expected array`];
      value.forEach((v, i) => errors.push(...checkSchema(doc, s.items, v, `${at}[${i}]`)));
      if (typeof s.minItems === 'number' && value.length < s.minItems) errors.push(`${at}: fewer than ${s.minItems} items`);
      break;
    case 'string':
      if (typeof value !== 'string') return [`${at}: expected string, got ${JSON.stringify(value)}`];
      if (typeof s.pattern === 'string' && !new RegExp(s.pattern).test(value)) errors.push(`${at}: does not match ${s.pattern}`);
      if (s.format === 'date-time' && Number.isNaN(Date.parse(value))) errors.push(`${at}: not a date-time`);
      break;
    case 'integer':
    case 'number':
      if (typeof value !== 'number' || (s.type === 'integer' && !Number.isInteger(value))) return [`${at}: expected ${String(s.type)}, got ${JSON.stringify(value)}`];
      if (typeof s.minimum === 'number' && value < s.minimum) errors.push(`${at}: below ${s.minimum}`);
      if (typeof s.maximum === 'number' && value > s.maximum) errors.push(`${at}: above ${s.maximum}`);
      break;
    case 'boolean':
      if (typeof value !== 'boolean') return [`${at}: expected boolean`];
      break;
    case 'null':
      if (value !== null) return [`${at}: expected null`];
      break;
    default:
  }
  return errors;
}

function resolve(doc: { components: { schemas: Record<string, unknown> } }, schema: unknown): Schema {
  let s = schema as Schema;
  while (typeof s.$ref === 'string') {
    const name = s.$ref.replace('#/components/schemas/', '');
    const target = doc.components.schemas[name];
    if (target === undefined) throw new Error(`unresolved $ref ${s.$ref}`);
    s = target as Schema;
  }
  return s;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
