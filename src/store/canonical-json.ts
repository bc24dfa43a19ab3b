/**
 * Canonical JSON for hashing audit entries (GDPR Art. 5(2) accountability: a hash chain needs one
 * byte form per entry). Object keys sorted (by UTF-16 code units, as Array.prototype.sort does), no
 * whitespace, `undefined` properties omitted; anything JSON cannot carry faithfully (NaN, ±Infinity,
 * bigint, functions, typed arrays, Dates) is refused rather than silently changed, so the same entry
 * always hashes the same (in the spirit of RFC 8785 JCS for the value types used here).
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export function canonicalJson(value: unknown): string {
  return write(value, '$');
}

function write(value: unknown, where: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`${where}: ${value} has no JSON form`);
      return JSON.stringify(Object.is(value, -0) ? 0 : value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v, i) => write(v, `${where}[${i}]`)).join(',')}]`;
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) throw new TypeError(`${where}: only plain objects and arrays are allowed`);
      const entries = Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${write(v, `${where}.${k}`)}`).join(',')}}`;
    }
    default:
      throw new TypeError(`${where}: a ${typeof value} has no JSON form`);
  }
}
