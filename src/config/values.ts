// Value types of configuration keys. One description per type serves three readers: the operator
// (docs/config.md, `config --schema`), convict (the description is the registered format's name), and
// the error messages. Each type also knows how to read its value from an environment variable, strictly:
// convict's own coercions accept "5abc" as 5 and "no" as true, which hides typos on a kiosk.
import { redactString } from './redact-url.js';

/** `T` is the type of a value that passes check(): the loaded configuration's types are derived from it (ConfigValues). */
export interface ValueType<T = unknown> {
  /** Human description, e.g. "integer ≥ 0"; also the convict format name. */
  readonly describe: string;
  /** A problem ("must be …"), or undefined when the value is valid. */
  check(v: unknown): string | undefined;
  /** Text (env var, or a string in a JSON file) → value. Text that does not parse is returned as is, so check() reports it. */
  fromString(s: string): unknown;
  /** Never set: carries T for the compiler only. */
  readonly valueType?: T;
}

const identity = (s: string): unknown => s;

function range(min: number | undefined, max: number | undefined, minExclusive: boolean): string {
  if (min !== undefined && max !== undefined) return minExclusive ? `> ${min} and ≤ ${max}` : `${min}..${max}`;
  if (min !== undefined) return minExclusive ? `> ${min}` : `≥ ${min}`;
  return max !== undefined ? `≤ ${max}` : '';
}

/** N narrows the type where the range is a set of codes (mqtt.protocolVersion: int<4 | 5>(4, 5)). */
export function int<N extends number = number>(min?: number, max?: number): ValueType<N> {
  const describe = `integer ${range(min, max, false)}`.trim();
  return {
    describe,
    check: (v) =>
      typeof v === 'number' && Number.isInteger(v) && (min === undefined || v >= min) && (max === undefined || v <= max)
        ? undefined
        : `must be an ${describe}`,
    fromString: (s) => (/^\s*[+-]?\d+\s*$/.test(s) ? Number(s) : s),
  };
}

export function num(opts: { min?: number; max?: number; minExclusive?: boolean } = {}): ValueType<number> {
  const { min, max, minExclusive = false } = opts;
  const describe = `number ${range(min, max, minExclusive)}`.trim();
  return {
    describe,
    check: (v) =>
      typeof v === 'number' &&
      Number.isFinite(v) &&
      (min === undefined || (minExclusive ? v > min : v >= min)) &&
      (max === undefined || v <= max)
        ? undefined
        : `must be a ${describe}`,
    fromString: (s) => (s.trim() !== '' && Number.isFinite(Number(s)) ? Number(s) : s),
  };
}

const TRUE = ['true', '1', 'yes', 'on'];
const FALSE = ['false', '0', 'no', 'off'];
function boolFromString(s: string): unknown {
  const t = s.trim().toLowerCase();
  return TRUE.includes(t) ? true : FALSE.includes(t) ? false : s;
}

export const bool: ValueType<boolean> = {
  describe: 'boolean',
  check: (v) => (typeof v === 'boolean' ? undefined : 'must be true or false'),
  fromString: boolFromString,
};

export function oneOf<const V extends readonly string[]>(values: V): ValueType<V[number]> {
  return {
    describe: `one of: ${values.join(', ')}`,
    check: (v) => (typeof v === 'string' && values.includes(v) ? undefined : `must be one of: ${values.join(', ')}`),
    fromString: identity,
  };
}

/** "auto", true or false (log.pretty): a boolean that may also be left to detection. */
export const autoBool: ValueType<'auto' | boolean> = {
  describe: 'auto, true or false',
  check: (v) => (v === 'auto' || typeof v === 'boolean' ? undefined : 'must be "auto", true or false'),
  fromString: (s) => (s.trim().toLowerCase() === 'auto' ? 'auto' : boolFromString(s)),
};

/** A non-empty string, optionally matching a pattern (described in words by `what`). */
export function str(pattern?: RegExp, what?: string): ValueType<string> {
  const describe = pattern ? `string matching ${pattern.source}` : 'non-empty string';
  return {
    describe,
    check: (v) => {
      if (typeof v !== 'string' || v === '') return 'must be a non-empty string';
      return pattern && !pattern.test(v) ? `must match ${pattern.source}${what ? ` (${what})` : ''}` : undefined;
    },
    fromString: identity,
  };
}

/** The type, or null (unset). An empty environment variable means unset: that is how env files clear a value. */
export function optional<T>(t: ValueType<T>): ValueType<T | null> {
  return {
    describe: `${t.describe}, or null`,
    check: (v) => (v === null ? undefined : t.check(v)),
    fromString: (s) => (s.trim() === '' ? null : t.fromString(s)),
  };
}

/** A configuration key: its type, default and documentation. `required` keys (camera id, source) have no default. */
export class Key<T = unknown> {
  constructor(
    readonly type: ValueType<T>,
    readonly defaultValue: unknown,
    readonly doc: string,
    readonly opts: { required?: boolean; env?: boolean } = {},
  ) {}
}

/** A section of keys, nested as in the JSON file. */
export interface Tree {
  readonly [name: string]: Key | Tree;
}

/**
 * The values a tree of keys loads into: each Key<T> becomes a readonly T, each section an object of
 * its keys. AgentConfig and CameraConfig are this over the schema, so a key exists in the type exactly
 * when it exists in the schema, with the type its ValueType checks.
 */
export type ConfigValues<T extends Tree> = {
  readonly [K in keyof T]: T[K] extends Key<infer V> ? V : T[K] extends Tree ? ConfigValues<T[K]> : never;
};

/** Dotted paths of every key in the tree, in order. */
export function configKeys(tree: Tree, path: string[] = []): string[][] {
  return Object.entries(tree).flatMap(([k, spec]) =>
    spec instanceof Key ? [[...path, k]] : configKeys(spec, [...path, k]),
  );
}

/** Names that hold secrets: redacted when printed, and their values never appear in error messages. */
export const SECRET_NAME = /password|secret|token|key$/i;
/** Keys ending in "File" name a file that holds the sibling key's value (a secret): paths, not secrets. */
export const isFileKey = (name: string): boolean => name.endsWith('File') && name.length > 4;
export const isSecretName = (name: string): boolean => SECRET_NAME.test(name) && !isFileKey(name);

/** `inference.flipTta` → `EMOTION_AGENT_INFERENCE_FLIP_TTA`. */
export function envName(path: readonly string[]): string {
  return ['EMOTION_AGENT', ...path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase())].join('_');
}

/** A value quoted for an error message, short, with URL credentials hidden. */
export function shown(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  const safe = redactString(s);
  return safe.length > 80 ? `${safe.slice(0, 77)}...` : safe;
}
