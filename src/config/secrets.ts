// Secrets from files: every key named `<name>File` is read from disk into its sibling `<name>`
// (cameras[].passwordFile → cameras[].password, later mqtt.passwordFile → mqtt.password). Files keep
// secrets out of the environment (visible in /proc, `systemctl show`) and out of the config file.
// systemd's LoadCredential= puts them in $CREDENTIALS_DIRECTORY, so relative paths resolve there.
import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { isFileKey } from './values.js';

/** Reads every `...File` key under `node` (in place); problems are pushed as `<key.path>: <problem>`. */
export function readSecretFiles(node: unknown, env: NodeJS.ProcessEnv, problems: string[], at = ''): void {
  if (Array.isArray(node)) {
    node.forEach((item, i) => readSecretFiles(item, env, problems, `${at}[${i}]`));
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const o = node as Record<string, unknown>;
  for (const [k, v] of Object.entries(o)) {
    const path = at ? `${at}.${k}` : k;
    const target = k.slice(0, -'File'.length);
    if (isFileKey(k) && typeof v === 'string' && v !== '' && target in o) {
      const file = secretPath(v, env);
      o[k] = file;
      const secret = readSecret(file, v, env, path, problems);
      if (secret !== undefined) o[target] = secret;
    } else {
      readSecretFiles(v, env, problems, path);
    }
  }
}

function secretPath(p: string, env: NodeJS.ProcessEnv): string {
  if (isAbsolute(p)) return p;
  const dir = env.CREDENTIALS_DIRECTORY;
  return dir ? join(dir, p) : resolve(p);
}

function readSecret(
  file: string,
  given: string,
  env: NodeJS.ProcessEnv,
  key: string,
  problems: string[],
): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const where = isAbsolute(given)
      ? ''
      : env.CREDENTIALS_DIRECTORY
        ? ' (relative to $CREDENTIALS_DIRECTORY)'
        : ' (relative to the working directory: $CREDENTIALS_DIRECTORY is not set)';
    const why =
      code === 'ENOENT'
        ? 'secret file not found'
        : code === 'EACCES'
          ? 'secret file not readable (permission denied)'
          : code === 'EISDIR'
            ? 'secret file is a directory'
            : `cannot read secret file (${code ?? String(err)})`;
    problems.push(`${key}: ${why}: ${file}${where}`);
    return undefined;
  }
  // Editors and `echo` add a final newline; it is never part of the secret. Only one, so a secret may end in whitespace.
  const secret = text.replace(/\r?\n$/, '');
  if (secret === '') {
    problems.push(`${key}: secret file is empty: ${file}`);
    return undefined;
  }
  return secret;
}
