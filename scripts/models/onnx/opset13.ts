// Raises an opset-11 graph to opset 13 (the lowest our quantizer writes: per-channel
// DequantizeLinear). Only the ops whose signature changed between 11 and 13 and that our YuNet graphs
// use need rewriting; any other op with a changed signature is refused rather than silently kept.
import { decodeModel, encodeModel, tensorProto } from './builder.js';

// Ops whose opset-13 definition reads the same inputs and attributes as the opset-11 one (checked
// against the ONNX operator changelog for the ops YuNet contains).
const UNCHANGED = new Set(['Conv', 'Relu', 'MaxPool', 'Resize', 'Add', 'Transpose', 'Shape', 'Gather', 'Concat', 'Reshape', 'Sigmoid']);

export function upgradeOpset11To13(bytes: Uint8Array): Uint8Array {
  const model = decodeModel(bytes);
  const entry = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  const version = Number(entry?.version ?? 0);
  if (version >= 13) return bytes;
  if (version !== 11 || !entry) throw new Error(`opset upgrade: the graph is opset ${version}, only 11 -> 13 is supported`);
  const graph = model.graph!;
  for (const node of graph.node ?? []) {
    if (node.opType === 'Unsqueeze') {
      // Opset 13 moved Unsqueeze's `axes` from an attribute to a second (int64) input.
      const attrs = node.attribute ?? [];
      const axes = attrs.find((a) => a.name === 'axes');
      if (!axes) throw new Error(`opset upgrade: Unsqueeze ${node.name} has no axes attribute`);
      const name = `${node.name ?? node.output![0]}_axes`;
      const values = (axes.ints ?? []).map((v) => BigInt(Number(v)));
      graph.initializer!.push(tensorProto(name, BigInt64Array.from(values), [values.length]));
      node.input = [...(node.input ?? []), name];
      node.attribute = attrs.filter((a) => a !== axes);
    } else if (!UNCHANGED.has(node.opType ?? '')) {
      throw new Error(`opset upgrade: op ${node.opType} (${node.name}) is not known to be unchanged from opset 11 to 13`);
    }
  }
  entry.version = 13;
  return encodeModel(model);
}
