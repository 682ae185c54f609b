// The daemon's configuration. Sources, lowest to highest precedence: the schema's defaults (the demo),
// a JSON file (--config, or $EMOTION_AGENT_CONFIG), environment variables EMOTION_AGENT_<SECTION>_<KEY>,
// command-line overrides, and last the secrets read from `...File` keys. Any problem stops the start
// with exit code 78 (EX_CONFIG) and a list of every problem, each naming its key: the person reading it
// is often editing a kiosk's config remotely, one round trip per mistake is expensive.
import convict from 'convict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseCameras } from './cameras.js';
import { parseJson } from './json.js';
import { configTree } from './schema.js';
import { readSecretFiles } from './secrets.js';
import type { AgentConfig } from './types.js';
import {
  configKeys,
  envName,
  isSecretName,
  Key,
  shown,
  type ConfigValues,
  type Tree,
  type ValueType,
} from './values.js';

export type * from './types.js';
export { configSchemaDoc, renderConfigMarkdown, type ConfigKeyDoc } from './doc.js';
export { redactConfig, redactString } from './redact.js';

/** sysexits.h EX_CONFIG: systemd and balena show it, and it tells "fix the config" from "crashed". */
export const EX_CONFIG = 78;

/** Carries its exit code like the command line's CliError, without config depending on the command line. */
export class ConfigError extends Error {
  readonly exitCode = EX_CONFIG;

  constructor(
    readonly problems: readonly string[],
    source?: string,
  ) {
    super(`invalid configuration${source ? ` (${source})` : ''}:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadOptions {
  /** JSON config file; default $EMOTION_AGENT_CONFIG; none = defaults and environment only. */
  file?: string;
  /** Default process.env. Also read: EMOTION_AGENT_CONFIG, CREDENTIALS_DIRECTORY. */
  env?: NodeJS.ProcessEnv;
  /** Command-line overrides by dotted key, e.g. { 'log.level': 'debug' }; strings are parsed like env vars. */
  argvOverrides?: Record<string, unknown>;
}

export function loadConfig(opts: LoadOptions = {}): AgentConfig {
  const env = opts.env ?? process.env;
  const tree = configTree();
  const file = opts.file ?? (env.EMOTION_AGENT_CONFIG || undefined);
  const source = file ? resolve(file) : undefined;
  const problems: string[] = [];

  // args: [] because convict otherwise reads process.argv itself; the CLI passes argvOverrides.
  const conf = convict(convictSchema(tree), { env, args: [] });
  if (source) conf.load(checkShape(readConfigFile(source), tree, '', problems));
  for (const [key, value] of Object.entries(opts.argvOverrides ?? {})) {
    try {
      conf.set(key, value);
    } catch {
      problems.push(`${key}: unknown key`); // set() walks into a scalar: a path below a leaf
    }
  }
  try {
    conf.validate({ allowed: 'strict' });
  } catch (err) {
    problems.push(...inSchemaOrder(convictProblems((err as Error).message), tree));
  }
  problems.push(...unknownEnvVars(tree, env));

  const props = conf.getProperties();
  // convict checked the cameras array as one value (its problems came through above) but kept it as
  // given: parsing fills each camera's defaults and resolves kind "auto".
  const cfg: AgentConfig = { ...props, cameras: parseCameras(props.cameras).cameras };
  readSecretFiles(cfg, env, problems); // fills secrets in, in place: cfg is not frozen yet
  problems.push(...crossChecks(cfg));
  if (problems.length > 0) throw new ConfigError(problems, source);
  return deepFreeze(cfg);
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError([
      `${path}: ${code === 'ENOENT' ? 'config file not found' : `cannot read the config file (${code ?? String(err)})`}`,
    ]);
  }
  if (text.trim() === '') return {}; // an empty file is "no settings", as in convict
  const r = parseJson(text);
  if (!r.ok) throw new ConfigError([`${path}:${r.line}:${r.column}: invalid JSON: ${r.problem}`]);
  if (typeof r.value !== 'object' || r.value === null || Array.isArray(r.value)) {
    throw new ConfigError([`${path}: must hold a JSON object, e.g. { "cameras": [ … ] }`]);
  }
  return r.value as Record<string, unknown>;
}

/**
 * What convict reports badly, checked first: a section given as a scalar ("log": "debug") and an
 * object where a value belongs. convict would call both "missing" plus unknown keys. Such entries are
 * removed after reporting, so convict sees only shapes it understands.
 */
function checkShape(obj: Record<string, unknown>, tree: Tree, at: string, problems: string[]): Record<string, unknown> {
  for (const [k, v] of Object.entries(obj)) {
    const spec = tree[k];
    const path = at ? `${at}.${k}` : k;
    if (spec === undefined) continue; // unknown: convict's strict validation reports it
    const isObj = typeof v === 'object' && v !== null && !Array.isArray(v);
    if (!(spec instanceof Key)) {
      if (isObj) checkShape(v as Record<string, unknown>, spec, path, problems);
      else {
        problems.push(`${path}: must be an object with the keys ${Object.keys(spec).join(', ')}`);
        delete obj[k];
      }
    } else if (isObj) {
      const problem = spec.type.check(v) ?? 'must not be an object';
      // The cameras' check names its key itself; the others get it here, with the value unless secret.
      problems.push(
        problem.startsWith(`${path}:`) ? problem : `${path}: ${problem}${isSecretName(k) ? '' : ` (got ${shown(v)})`}`,
      );
      delete obj[k];
    }
  }
  return obj;
}

/** The tree as convict's schema, typed with the values it loads, so getProperties() returns AgentConfig. */
function convictSchema<T extends Tree>(tree: T, path: string[] = []): convict.Schema<ConfigValues<T>> {
  const out: Record<string, unknown> = {};
  for (const [k, spec] of Object.entries(tree)) {
    const p = [...path, k];
    out[k] =
      spec instanceof Key
        ? {
            doc: spec.doc,
            format: convictFormat(spec.type),
            default: spec.defaultValue,
            env: envName(p),
            sensitive: isSecretName(k) || k === 'cameras',
          }
        : convictSchema(spec, p);
  }
  return out as convict.Schema<ConfigValues<T>>;
}

/** Registers the type as a convict format named after its description (formats are global in convict). */
function convictFormat(type: ValueType): string {
  const name = `emotion-agent: ${type.describe}`;
  convict.addFormat({
    name,
    validate: (v: unknown, schema: convict.SchemaObj) => {
      const problem = type.check(v);
      if (problem) throw new Error(schema.sensitive ? problem : `${problem} (got ${shown(v)})`);
    },
    coerce: (s: string) => type.fromString(s),
  });
  return name;
}

/** convict's validate() throws one message, a line per problem; this puts each in `<key>: <problem>` form. */
function convictProblems(message: string): string[] {
  return message.split('\n').map((line) => {
    const undeclared = /^configuration param '(.+)' not declared in the schema$/.exec(line);
    if (undeclared) return `${undeclared[1]}: unknown key`;
    const missing = /^configuration param '(.+)' missing from config/.exec(line);
    if (missing) return `${missing[1]}: missing (its section was given as something other than an object)`;
    // Our formats say the value themselves (or not, for secrets); the cameras' lines carry their own paths.
    return line.replace(/: value was .*$/, '').replace(/^cameras: (?=cameras[[:])/, '');
  });
}

/** convict reports breadth-first (cameras before log.level); the file's order reads better. Unknown keys last. */
function inSchemaOrder(problems: string[], tree: Tree): string[] {
  const keys = configKeys(tree).map((p) => p.join('.'));
  const rank = (problem: string): number => {
    const i = keys.findIndex((k) => problem.startsWith(`${k}:`) || problem.startsWith(`${k}[`));
    return i < 0 ? keys.length : i;
  };
  return problems
    .map((p, i) => ({ p, r: rank(p), i }))
    .sort((a, b) => a.r - b.r || a.i - b.i)
    .map((x) => x.p);
}

/**
 * A mistyped variable (EMOTION_AGENT_LOG_LEVL) would otherwise be ignored without a word. Only names
 * under a known section are checked, so other EMOTION_AGENT_* variables (EMOTION_AGENT_CACHE) stay free.
 */
function unknownEnvVars(tree: Tree, env: NodeJS.ProcessEnv): string[] {
  const known = new Set(configKeys(tree).map((p) => envName(p)));
  const sections = Object.keys(tree).map((s) => envName([s]));
  return Object.keys(env)
    .filter((name) => !known.has(name) && sections.some((s) => name.startsWith(`${s}_`)))
    .map(
      (name) =>
        `${name}: unknown environment variable, no configuration key has this name${name.startsWith('EMOTION_AGENT_CAMERAS_') ? ' (per-camera keys go in the EMOTION_AGENT_CAMERAS JSON array)' : ''}`,
    );
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

/** Rules that span keys, which convict's per-key formats cannot express. */
function crossChecks(cfg: AgentConfig): string[] {
  const problems: string[] = [];
  // Off loopback the page would show the counts (and, with preview, camera images) to the whole LAN.
  if (cfg.http.enabled && !isLoopback(cfg.http.host) && !cfg.http.token) {
    problems.push(
      `http.token: required when http.host is ${cfg.http.host} (not loopback): set http.tokenFile, or bind 127.0.0.1`,
    );
  }
  return problems;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
