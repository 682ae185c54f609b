// models.update.trustedKeys: a list of Ed25519 public keys. Each is checked when the configuration loads,
// so a mistyped key stops the start with its index instead of silently refusing every update later.
import { parsePublicKey } from '../models/signing.js';
import { parseJson } from './json.js';
import type { ValueType } from './values.js';

export const keyList: ValueType<readonly string[]> = {
  describe: 'array of public keys (base64 of 32 bytes, or PEM)',
  check: (v) => {
    if (!Array.isArray(v)) return 'must be an array of public keys';
    for (const [i, k] of v.entries()) {
      if (typeof k !== 'string') return `[${i}]: must be a string`;
      try {
        parsePublicKey(k);
      } catch (err) {
        return `[${i}]: ${(err as Error).message}`;
      }
    }
    return undefined;
  },
  // Environment: a JSON array, or keys separated by commas or whitespace (base64 has neither).
  fromString: (s) => {
    const t = s.trim();
    if (t.startsWith('[')) {
      const r = parseJson(t);
      return r.ok ? r.value : s;
    }
    return t === '' ? [] : t.split(/[\s,]+/);
  },
};
