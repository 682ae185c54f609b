// ONNX Runtime execution providers the agent knows: the one list behind inference.provider (the
// config schema and the docs generated from it), the --provider option of analyze and evaluate, and
// the fallback chain of session creation (bundle.ts).

/** From the most general to the most specialised: each falls back to those before it. */
export const EXECUTION_PROVIDERS = ['cpu', 'cuda', 'tensorrt'] as const;
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];

/** Present in every ONNX Runtime build: the default, and where every fallback chain ends. */
export const CPU_PROVIDER: ExecutionProvider = EXECUTION_PROVIDERS[0];

/**
 * The providers to list for `ep`, best first (tensorrt → cuda → cpu). Falling back to the CPU keeps a
 * box without a working GPU stack analysing instead of crashing.
 */
export function providerChain(ep: ExecutionProvider): ExecutionProvider[] {
  return EXECUTION_PROVIDERS.slice(0, EXECUTION_PROVIDERS.indexOf(ep) + 1).reverse();
}
