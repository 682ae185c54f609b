// URL credentials out of anything shown: its own module, without imports, so that every part (config
// values, capture, MQTT, downloads) can use it without import cycles.
export const REDACTED = '***';

/** Hides the userinfo (user:pass@) of every URL in a string: rtsp://user:pass@cam → rtsp://***@cam. */
export function redactUrl(s: string): string {
  return s.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/@\s"']*@/gi, `$1${REDACTED}@`);
}
