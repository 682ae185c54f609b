// The loaded configuration as the rest of the agent sees it: plain, fully defaulted, validated and
// frozen (readonly so the compiler agrees). Optional values are null, never missing.
//
// Derived from the schema, never written beside it: AgentConfig is ConfigValues<ConfigTree>, so a key
// exists here exactly when configTree() (schema.ts) declares it, with the type its ValueType checks.
// What each key means is in its doc string there (and in docs/config.md, generated from it).
import type { ConfigTree } from './schema.js';
import type { ConfigValues } from './values.js';

export type AgentConfig = ConfigValues<ConfigTree>;

export type { CameraConfig, CameraKind, Roi } from './cameras.js';
export type { ExecutionProvider } from '../models/providers.js';
export type LogLevel = AgentConfig['log']['level'];
/** models.update.*: remote model updates (src/updates/updates.ts). */
export type ModelUpdateConfig = AgentConfig['models']['update'];
