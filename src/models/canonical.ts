// Canonical JSON: the exact bytes a bundle signature covers. A manifest may be pretty-printed, re-indented
// or have its keys reordered by a tool in transit; its meaning, and so its signature, must not change.
// Rules (docs/models.md): object keys sorted by UTF-16 code units, no whitespace, strings and numbers as
// ECMAScript JSON.stringify writes them (the same choices as RFC 8785 for the values manifests hold),
// UTF-8 bytes. Values JSON cannot represent (undefined, functions, NaN, Infinity) are refused, not dropped.

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`canonical JSON: ${value} is not representable`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
  }
  throw new TypeError(`canonical JSON: a ${typeof value} is not representable`);
}

export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(canonicalJson(value), 'utf8');
}
