// Secrets out of anything printed or logged: values of secret-named keys, credentials in URLs
// (rtsp://user:pass@cam), and password-like parameters (GStreamer's user-pw=…, ?password=… in URLs).
import { REDACTED, redactUrl } from './redact-url.js';
import { isSecretName } from './values.js';

export { REDACTED, redactUrl };

/** Hides URL userinfo and password parameters inside a string (a source URL, a pipeline, an error message). */
export function redactString(s: string): string {
  return redactUrl(s)
    .replace(/\b(user-pw|password|passwd|pwd|pass)=[^\s!&"']*/gi, `$1=${REDACTED}`);
}

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
