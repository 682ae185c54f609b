// Preprocessing against hand-computed values: colour order, layout, normalisation, letterbox mapping,
// crops past the frame border, and the two bilinear sampling grids.
import { describe, expect, it } from 'vitest';
import type { InputSpec } from '../../src/models/manifest.js';
import { cropResize, frameToRaster, type Frame } from '../../src/vision/image.js';
import { faceCropRect, frameToDetectorInput, rastersToTensor } from '../../src/vision/preprocess.js';

/** A frame whose pixel (x, y) is B = x, G = y, R = 100. */
function gradient(w: number, h: number): Frame {
  const data = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set([x, y, 100], (y * w + x) * 3);
  return { data, width: w, height: h };
}

const spec = (over: Partial<InputSpec>): InputSpec => ({
  name: 'input',
  shape: [1, 2, 2, 3],
  layout: 'NHWC',
  colour: 'rgb',
  width: 2,
  height: 2,
  normalization: { scale: 1, mean: [0, 0, 0], std: [1, 1, 1] },
  ...over,
});

describe('rastersToTensor', () => {
  const frame = gradient(2, 2);
  it('NHWC rgb reads B,G,R frames as R,G,B', () => {
    const t = rastersToTensor([frameToRaster(frame)], spec({}));
    expect(t.dims).toEqual([1, 2, 2, 3]);
    // pixel (1,0): B=1 G=0 R=100 -> [100, 0, 1]
    expect(Array.from(t.data as Float32Array).slice(3, 6)).toEqual([100, 0, 1]);
  });

  it('NCHW bgr with per-channel normalisation', () => {
    const t = rastersToTensor(
      [frameToRaster(frame), frameToRaster(frame)],
      spec({
        layout: 'NCHW',
        colour: 'bgr',
        shape: [2, 3, 2, 2],
        normalization: { scale: 0.5, mean: [1, 0, 0], std: [2, 1, 4] },
      }),
    );
    expect(t.dims).toEqual([2, 3, 2, 2]);
    const d = Array.from(t.data as Float32Array);
    // channel B over pixels (0,0),(1,0),(0,1),(1,1): ((x*0.5) - 1) / 2
    expect(d.slice(0, 4)).toEqual([-0.5, -0.25, -0.5, -0.25]);
    // channel R: 100*0.5/4
    expect(d.slice(8, 12)).toEqual([12.5, 12.5, 12.5, 12.5]);
    // the second image of the batch is identical
    expect(d.slice(12, 24)).toEqual(d.slice(0, 12));
  });

  it('gray uses one channel', () => {
    const g = { data: Buffer.alloc(12, 200), width: 2, height: 2 };
    const t = rastersToTensor(
      [frameToRaster(g)],
      spec({ colour: 'gray', shape: [1, 2, 2, 1], normalization: { scale: 1 / 255, mean: [0.5], std: [0.5] } }),
    );
    expect(t.dims).toEqual([1, 2, 2, 1]);
    for (const v of t.data as Float32Array) expect(v).toBeCloseTo((200 / 255 - 0.5) / 0.5, 5);
  });

  it('refuses a wrongly sized image', () => {
    expect(() => rastersToTensor([frameToRaster(gradient(3, 2))], spec({}))).toThrow(/3x2, expected 2x2/);
  });
});

describe('cropResize', () => {
  it('fills the part of a crop outside the frame with black', () => {
    const m = cropResize(
      { data: Buffer.alloc(4 * 4 * 3, 255), width: 4, height: 4 },
      { x: -4, y: 0, width: 8, height: 4 },
      8,
      4,
    );
    const d = m.data;
    expect(d[0]).toBe(0); // left half: outside
    expect(d[(0 * 8 + 6) * 3]).toBe(255); // right half: inside
  });

  it('tf-legacy samples at dst * scale, half-pixel at (dst + 0.5) * scale - 0.5', () => {
    const f = gradient(8, 1);
    // Downscale 8 -> 4 along x. legacy: x_src = 0,2,4,6; half-pixel: 0.5,2.5,4.5,6.5.
    const legacy = cropResize(f, { x: 0, y: 0, width: 8, height: 1 }, 4, 1, 'tf-legacy').data;
    const half = cropResize(f, { x: 0, y: 0, width: 8, height: 1 }, 4, 1, 'half-pixel').data;
    expect([0, 1, 2, 3].map((i) => legacy[i * 3])).toEqual([0, 2, 4, 6]);
    // 0.5 -> 0.5 rounds to 0 or 1 in OpenCV's fixed point: accept either, but it must differ from legacy somewhere.
    expect([0, 1, 2, 3].map((i) => Math.abs(half[i * 3]! - [0.5, 2.5, 4.5, 6.5][i]!))).toEqual([0.5, 0.5, 0.5, 0.5]);
  });
});

describe('frameToDetectorInput', () => {
  it('letterbox pads at the bottom/right and maps normalised coordinates by the square side', () => {
    const f = gradient(200, 100);
    const { tensor, mapping } = frameToDetectorInput(
      f,
      spec({ width: 4, height: 4, shape: [1, 4, 4, 3], resize: 'letterbox' }),
    );
    expect(mapping).toEqual({ scaleX: 200, scaleY: 200, offsetX: 0, offsetY: 0 });
    const d = tensor.data as Float32Array;
    // bottom rows are padding (black), top rows are image (R = 100)
    expect(d[(3 * 4 + 0) * 3]).toBe(0);
    expect(d[0]).toBe(100);
  });

  it('stretch maps each axis by its own size, offset by the region of interest', () => {
    const { mapping } = frameToDetectorInput(gradient(200, 100), spec({ width: 4, height: 4, shape: [1, 4, 4, 3] }), {
      x: 20,
      y: 10,
      width: 100,
      height: 50,
    });
    expect(mapping).toEqual({ scaleX: 100, scaleY: 50, offsetX: 20, offsetY: 10 });
  });
});

describe('faceCropRect', () => {
  it('adds the margin on every side and squares about the centre', () => {
    expect(faceCropRect({ x: 100, y: 100, width: 100, height: 200 }, 0.25, true)).toEqual({
      x: 0,
      y: 50,
      width: 300,
      height: 300,
    });
    expect(faceCropRect({ x: 100, y: 100, width: 100, height: 200 }, 0, false)).toEqual({
      x: 100,
      y: 100,
      width: 100,
      height: 200,
    });
  });
});
