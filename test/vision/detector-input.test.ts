// Detector input for dynamic-size models (resize 'fit') and the native planar (NCHW) conversion,
// against hand-computed values and against rastersToTensor's reference loop.
import { describe, expect, it } from 'vitest';
import type { InputSpec } from '../../src/models/manifest.js';
import { cropResize, frameToRaster, type Frame } from '../../src/vision/image.js';
import { planarApplies, planarTensor } from '../../src/vision/planar.js';
import { frameToDetectorInput, rastersToTensor } from '../../src/vision/preprocess.js';

/** A frame whose pixel (x, y) is B = x, G = y, R = 100. */
function gradient(w: number, h: number): Frame {
  const data = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set([x % 256, y % 256, 100], (y * w + x) * 3);
  return { data, width: w, height: h };
}

const fit: InputSpec = {
  name: 'input',
  shape: [-1, 3, -1, -1],
  layout: 'NCHW',
  colour: 'bgr',
  width: 64,
  height: 64,
  normalization: { scale: 1, mean: [0], std: [1] },
  resize: 'fit',
  sizeMultiple: 32,
};

describe("resize 'fit'", () => {
  it('keeps the aspect, pads to the size multiple, and maps back to frame pixels', () => {
    // 100x50 into 64x64: factor 0.64 -> 64x32 exactly.
    const { tensor, mapping } = frameToDetectorInput(gradient(100, 50), fit);
    expect(tensor.dims).toEqual([1, 3, 32, 64]);
    expect(mapping).toEqual({ scaleX: 100, scaleY: 50, offsetX: 0, offsetY: 0 });
  });

  it('pads a size that is not a multiple with black at the bottom/right', () => {
    // 100x40 -> factor 0.64 -> 64x25.6, padded to 64x32: rows 26..31 are outside the frame.
    const { tensor, mapping } = frameToDetectorInput(gradient(100, 40), fit);
    expect(tensor.dims).toEqual([1, 3, 32, 64]);
    expect(mapping.scaleY).toBeCloseTo(50, 10);
    const d = tensor.data as Float32Array;
    const red = (x: number, y: number): number => d[2 * 32 * 64 + y * 64 + x]!;
    expect(red(10, 5)).toBeCloseTo(100, 3);
    expect(red(10, 31)).toBe(0);
  });

  it('maps a region of interest back with its offset', () => {
    const { mapping } = frameToDetectorInput(gradient(200, 100), fit, { x: 50, y: 20, width: 100, height: 50 });
    expect(mapping).toEqual({ scaleX: 100, scaleY: 50, offsetX: 50, offsetY: 20 });
  });
});

describe("the capture's detector-sized copy", () => {
  // 200x100 into 100x100 (factor 0.5): a half-size copy has exactly the resolution needed. Made here
  // with the same bilinear resize, the input from the copy must equal the input from the frame.
  const frame = gradient(200, 100);
  const half = cropResize(frame, { x: 0, y: 0, width: 200, height: 100 }, 100, 50);
  const withCopy: Frame = { ...frame, detectorCopy: { data: Buffer.from(half.data), width: 100, height: 50 } };
  const spec: InputSpec = { ...fit, width: 100, height: 100 };

  it('is read instead of the frame when it has the resolution the input needs', () => {
    const a = frameToDetectorInput(frame, spec);
    const b = frameToDetectorInput(withCopy, spec);
    expect(b.tensor.dims).toEqual([1, 3, 64, 128]);
    expect(b.mapping).toEqual(a.mapping);
    expect(Array.from(b.tensor.data as Float32Array)).toEqual(Array.from(a.tensor.data as Float32Array));
    // It really was the copy: a marked copy pixel shows up in the input.
    const marked: Frame = {
      ...withCopy,
      detectorCopy: { ...withCopy.detectorCopy!, data: Buffer.from(half.data).fill(7, 0, 3) },
    };
    expect((frameToDetectorInput(marked, spec).tensor.data as Float32Array)[0]).toBe(7);
  });

  it('is ignored when it is too small (a region of interest needs more pixels than it has)', () => {
    const roi = { x: 50, y: 20, width: 100, height: 50 };
    const marked: Frame = {
      ...withCopy,
      detectorCopy: { ...withCopy.detectorCopy!, data: Buffer.alloc(half.data.length, 7) },
    };
    const a = frameToDetectorInput(frame, spec, roi);
    const b = frameToDetectorInput(marked, spec, roi);
    expect(Array.from(b.tensor.data as Float32Array)).toEqual(Array.from(a.tensor.data as Float32Array));
  });
});

describe('planarTensor', () => {
  it('gives exactly what rastersToTensor gives, for bgr and rgb with normalisation', () => {
    const mat = frameToRaster(gradient(37, 23));
    for (const colour of ['bgr', 'rgb'] as const) {
      const spec: InputSpec = {
        ...fit,
        colour,
        width: 37,
        height: 23,
        shape: [1, 3, 23, 37],
        resize: 'stretch',
        normalization: { scale: 1 / 255, mean: [0.5], std: [0.25] },
      };
      expect(planarApplies(spec)).toBe(true);
      const a = planarTensor(mat, spec);
      const b = rastersToTensor([mat], spec);
      expect(a.dims).toEqual(b.dims);
      const x = a.data as Float32Array;
      const y = b.data as Float32Array;
      for (let i = 0; i < x.length; i++) expect(x[i]).toBeCloseTo(y[i]!, 5);
    }
  });

  it('a reused tensor larger than the picture: the picture in the corner, black (as the model sees it) right and below, nothing of the last frame', () => {
    const mat = frameToRaster(gradient(37, 23));
    const spec: InputSpec = {
      ...fit,
      width: 40,
      height: 32,
      shape: [1, 3, 32, 40],
      normalization: { scale: 1 / 255, mean: [0.5], std: [0.25] },
    };
    const stale = new Float32Array(3 * 40 * 32).fill(123); // what a reused buffer held before
    const t = planarTensor(mat, spec, 40, 32, stale);
    expect(t.data).toBe(stale);
    const fresh = planarTensor(mat, spec, 40, 32).data as Float32Array;
    expect(Array.from(stale)).toEqual(Array.from(fresh));
    const black = Math.fround(-0.5 / 0.25);
    for (let c = 0; c < 3; c++) {
      const at = (x: number, y: number): number => stale[c * 40 * 32 + y * 40 + x]!;
      expect([at(37, 0), at(39, 22), at(0, 23), at(39, 31)]).toEqual([black, black, black, black]);
      expect(at(36, 22)).not.toBe(black);
    }
    expect(stale.includes(123)).toBe(false);
  });

  it('does not apply to gray, NHWC or per-channel normalisation', () => {
    expect(planarApplies({ ...fit, colour: 'gray' })).toBe(false);
    expect(planarApplies({ ...fit, layout: 'NHWC' })).toBe(false);
    expect(planarApplies({ ...fit, normalization: { scale: 1, mean: [1, 2, 3], std: [1] } })).toBe(false);
  });
});
