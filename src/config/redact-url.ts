// The one redaction of secrets inside text: credentials in URLs (rtsp://user:pass@cam), password-like
// parameters (`?password=…`, `&token=…`, GStreamer's `user-pw=…` / `proxy-pw=…`, quoted or not), and,
// when given, literal secret values (a configured password that a decoder may echo in its own words).
// Everything that shows a source, a URL or a decoder's error text (logs, camera state over MQTT,
// /api/status, error messages) goes through redactString. Its own module without imports, so that every
// part (config values, capture, MQTT, downloads) can use it without import cycles.
export const REDACTED = '***';

/** Names of parameters whose values are secrets, in URLs and GStreamer pipelines. */
const SECRET_PARAM =
  /\b((?:user|proxy)-pw|password|passwd|passphrase|pwd|pass|secret|token|access_token|auth|api_?key|sig|signature)=("(?:[^"\\]|\\.)*"|'[^']*'|[^\s!&"';,]*)/gi;

/**
 * Hides URL userinfo, password-like parameters, and every literal in `secrets` (and its percent-encoded
 * form). Literals shorter than 4 characters are ignored: "1" would blank out ordinary text ("401").
 */
export function redactString(s: string, secrets: readonly string[] = []): string {
  let out = s
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/@\s"']*@/gi, `$1${REDACTED}@`)
    .replace(SECRET_PARAM, `$1=${REDACTED}`);
  for (const secret of secrets) {
    if (secret.length < 4) continue;
    for (const form of new Set([secret, encodeURIComponent(secret)])) out = out.split(form).join(REDACTED);
  }
  return out;
}

/** The values of secret parameters in `s` (a source URL or pipeline), for redactString's literal list. */
export function secretParams(s: string): string[] {
  return [...s.matchAll(SECRET_PARAM)].map((m) => (m[2] ?? '').replace(/^["']|["']$/g, '')).filter((v) => v.length > 0);
}

/** Kept for callers of the older name: the same full redaction. */
export const redactUrl = (s: string): string => redactString(s);
