// AgentConfig is derived from the schema (src/config/types.ts), not written beside it. The type checks
// below run in `npm run typecheck` (test/ is part of it): they fail to compile when the derivation goes
// wrong (a key typed any, a lost literal union); the runtime test checks that what loadConfig returns
// has the schema's keys, no more, no fewer.
import { describe, expect, it } from 'vitest';
import {
  loadConfig,
  type AgentConfig,
  type CameraConfig,
  type CameraKind,
  type ExecutionProvider,
} from '../../src/config/index.js';
import { CAMERA_FIELDS } from '../../src/config/cameras.js';
import { configTree } from '../../src/config/schema.js';
import { configKeys } from '../../src/config/values.js';

/** true when A and B are the same type (not merely assignable), readonly modifiers included. */
type Equals<A, B> = (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;

/** Compile-time only: each line fails `tsc` when the derived type is not the one stated. */
export const typeChecks = [
  true satisfies Equals<AgentConfig['mqtt']['protocolVersion'], 4 | 5>,
  true satisfies Equals<AgentConfig['inference']['provider'], ExecutionProvider>,
  true satisfies Equals<AgentConfig['log']['pretty'], 'auto' | boolean>,
  true satisfies Equals<AgentConfig['device']['id'], string | null>,
  true satisfies Equals<AgentConfig['models']['update']['trustedKeys'], readonly string[]>,
  true satisfies Equals<AgentConfig['cameras'], readonly CameraConfig[]>,
  // "auto" is resolved while loading: it never reaches the agent.
  true satisfies Equals<CameraConfig['kind'], CameraKind>,
  true satisfies Equals<
    CameraConfig['roi'],
    { readonly x: number; readonly y: number; readonly width: number; readonly height: number } | null
  >,
  true satisfies Equals<
    AgentConfig['http'],
    {
      readonly enabled: boolean;
      readonly host: string;
      readonly port: number;
      readonly token: string | null;
      readonly maxEventStreams: number;
      readonly tokenFile: string | null;
    }
  >,
];

// @ts-expect-error a key the schema does not declare is not in the type
export const unknownKey = (cfg: AgentConfig): unknown => cfg.log.levl;

/** Dotted paths of the leaves of a loaded value (arrays are leaves, as in the schema). */
function leafPaths(v: unknown, at: string[] = []): string[] {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return [at.join('.')];
  return Object.entries(v).flatMap(([k, x]) => leafPaths(x, [...at, k]));
}

describe("AgentConfig is the schema's", () => {
  it("loadConfig returns exactly the schema's keys, and each camera exactly CAMERA_FIELDS'", () => {
    const cfg = loadConfig({ env: {} });
    expect(leafPaths(cfg).sort()).toEqual(
      configKeys(configTree())
        .map((p) => p.join('.'))
        .sort(),
    );
    expect(leafPaths(cfg.cameras[0]).sort()).toEqual(
      configKeys(CAMERA_FIELDS)
        .map((p) => p.join('.'))
        .sort(),
    );
  });
});
