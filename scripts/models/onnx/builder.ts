// A small, deterministic ONNX graph builder on top of onnx-proto (protobufjs static code).
// Deterministic on purpose: re-running a conversion must give byte-identical files, so nothing here
// depends on time, randomness or object-key order we do not control (nodes and initializers keep
// insertion order; attributes are written in the order given).
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
export type OnnxModel = InstanceType<typeof onnx.ModelProto>;
export const DataType = onnx.TensorProto.DataType;

export type TensorData = Float32Array | Int32Array | BigInt64Array | Int8Array | Uint8Array;

/** Attribute values are tagged so ints and floats never get confused (1 vs 1.0). */
export type Attr =
  | { t: 'int'; v: number }
  | { t: 'ints'; v: number[] }
  | { t: 'float'; v: number }
  | { t: 'floats'; v: number[] }
  | { t: 'string'; v: string };

export const int = (v: number): Attr => ({ t: 'int', v });
export const ints = (v: number[]): Attr => ({ t: 'ints', v });
export const float = (v: number): Attr => ({ t: 'float', v });
export const floats = (v: number[]): Attr => ({ t: 'floats', v });
export const str = (v: string): Attr => ({ t: 'string', v });

function dataTypeOf(data: TensorData): number {
  if (data instanceof Float32Array) return DataType.FLOAT;
  if (data instanceof Int32Array) return DataType.INT32;
  if (data instanceof BigInt64Array) return DataType.INT64;
  if (data instanceof Int8Array) return DataType.INT8;
  return DataType.UINT8;
}

function attrProto(name: string, a: Attr): InstanceType<typeof onnx.AttributeProto> {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.t) {
    case 'int': return onnx.AttributeProto.create({ name, type: T.INT, i: a.v });
    case 'ints': return onnx.AttributeProto.create({ name, type: T.INTS, ints: a.v });
    case 'float': return onnx.AttributeProto.create({ name, type: T.FLOAT, f: a.v });
    case 'floats': return onnx.AttributeProto.create({ name, type: T.FLOATS, floats: a.v });
    case 'string': return onnx.AttributeProto.create({ name, type: T.STRING, s: new TextEncoder().encode(a.v) });
  }
}

/** A tensor as raw little-endian bytes, the compact form ONNX Runtime reads fastest. */
export function tensorProto(name: string, data: TensorData, dims: number[]): InstanceType<typeof onnx.TensorProto> {
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new Error(`initializer ${name}: ${data.length} values for dims [${dims.join(',')}]`);
  const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  return onnx.TensorProto.create({ name, dims, dataType: dataTypeOf(data), rawData: raw });
}

function valueInfo(name: string, dims: (number | string)[], elemType: number): InstanceType<typeof onnx.ValueInfoProto> {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
}

export interface ModelMeta {
  producerName: string;
  producerVersion: string;
  docString: string;
  opset?: number;
  metadata?: Record<string, string>;
}

export class GraphBuilder {
  readonly nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  readonly initializers: InstanceType<typeof onnx.TensorProto>[] = [];
  private readonly inputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private readonly outputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private readonly names = new Set<string>();
  private counter = 0;

  constructor(readonly name: string) {}

  /** A fresh tensor name with a readable prefix (stable: a plain counter). */
  fresh(prefix: string): string {
    let n: string;
    do n = `${prefix}__${this.counter++}`; while (this.names.has(n));
    this.names.add(n);
    return n;
  }

  input(name: string, dims: (number | string)[], elemType: number = DataType.FLOAT): string {
    this.names.add(name);
    this.inputs.push(valueInfo(name, dims, elemType));
    return name;
  }

  output(name: string, dims: (number | string)[], elemType: number = DataType.FLOAT): string {
    this.outputs.push(valueInfo(name, dims, elemType));
    return name;
  }

  initializer(name: string, data: TensorData, dims: number[]): string {
    this.names.add(name);
    this.initializers.push(tensorProto(name, data, dims));
    return name;
  }

  /** Adds a node; returns its (first) output name. Output names default to fresh ones. */
  node(opType: string, inputs: string[], attrs: Record<string, Attr> = {}, outputs?: string[], name?: string): string {
    const outs = outputs ?? [this.fresh(opType.toLowerCase())];
    for (const o of outs) this.names.add(o);
    this.nodes.push(onnx.NodeProto.create({
      opType,
      input: inputs,
      output: outs,
      name: name ?? outs[0],
      attribute: Object.entries(attrs).map(([k, v]) => attrProto(k, v)),
    }));
    return outs[0] ?? '';
  }

  build(meta: ModelMeta): OnnxModel {
    return onnx.ModelProto.create({
      irVersion: 8,
      producerName: meta.producerName,
      producerVersion: meta.producerVersion,
      docString: meta.docString,
      opsetImport: [{ domain: '', version: meta.opset ?? 13 }],
      metadataProps: Object.entries(meta.metadata ?? {}).map(([key, value]) => ({ key, value })),
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
  }
}

export function encodeModel(model: OnnxModel): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}

export function decodeModel(bytes: Uint8Array): OnnxModel {
  return onnx.ModelProto.decode(bytes);
}
