// Secrets out of configuration objects printed or sent: values of secret-named keys, and every string
// through the one text redaction (redact-url.ts: URL credentials, user-pw=…, ?password=…).
import { REDACTED, redactString, redactUrl } from './redact-url.js';
import { isSecretName } from './values.js';

export { REDACTED, redactString, redactUrl };

/**
 * A deep copy with secrets replaced by "***": keys matching /password|secret|token|key$/i (unless unset)
 * and URL credentials in every string. `...File` keys stay: they are paths, and which file was used is
 * what an operator needs to see.
 */
export function redactConfig<T>(cfg: T): T {
  return redact(cfg, '') as T;
}

function redact(v: unknown, name: string): unknown {
  if (isSecretName(name) && v !== null && v !== undefined) return REDACTED;
  if (typeof v === 'string') return redactString(v);
  if (Array.isArray(v)) return v.map((x) => redact(x, ''));
  if (typeof v === 'object' && v !== null) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, redact(x, k)]));
  }
  return v;
}
