// The fused 2x shrink into the detector tensor (src/vision/halve.ts) against the two steps it replaces,
// cropResize (byte-identical to OpenCV's warp, test/vision/raster.test.ts) then planarTensor, on real
// photos and on odd sizes, offsets and alignments that reach every path (32-bit words, bytes, edges).
import { describe, expect, it } from 'vitest';
import { readBundle } from '../../src/models/bundle.js';
import { defaultBundleDir } from '../../src/models/defaults.js';
import type { InputSpec } from '../../src/models/manifest.js';
import { halvedPlanarTensor } from '../../src/vision/halve.js';
import { cropResize, readImage, type Frame } from '../../src/vision/image.js';
import { planarTensor } from '../../src/vision/planar.js';
import { frameToDetectorInput } from '../../src/vision/preprocess.js';
import type { Raster } from '../../src/vision/raster.js';
import { sample } from '../helpers/paths.js';

// The shipped YuNet bundle's input: BGR 0-255, fit 960, padded to multiples of 32.
const yunet: InputSpec = readBundle(defaultBundleDir('face-detector')).manifest.input;
const rgbNormalised: InputSpec = {
  ...yunet,
  colour: 'rgb',
  normalization: { scale: 1 / 255, mean: [0.5], std: [0.25] },
};

/** The two-step reference: the 8-bit bilinear warp, then the planar conversion. */
function twoSteps(img: Raster, spec: InputSpec, ox: number, oy: number, w: number, h: number): Float32Array {
  const mat = cropResize(img, { x: ox, y: oy, width: 2 * w, height: 2 * h }, w, h, 'half-pixel');
  return planarTensor(mat, spec, w, h).data as Float32Array;
}

/** Random pixels (seeded), placed `shift` bytes into their buffer so rows may not be 4-byte aligned. */
function noise(cols: number, rows: number, shift = 0, seed = 7): Raster {
  const buf = new Uint8Array(cols * rows * 3 + shift);
  let s = seed;
  for (let i = 0; i < buf.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    buf[i] = s >>> 24;
  }
  return { data: buf.subarray(shift), cols, rows, channels: 3 };
}

function mismatches(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let n = 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) n++;
  return n;
}

describe('halvedPlanarTensor', () => {
  it('equals cropResize + planarTensor on real 1920 px photos, padded to the stride below', () => {
    for (const i of [1, 2, 3]) {
      const f = readImage(sample(i));
      const img: Raster = { data: f.data, cols: f.width, rows: f.height, channels: 3 };
      const h = Math.ceil(f.height / 2 / 32) * 32; // 1367 rows -> 704: an odd last row, then black
      const fused = halvedPlanarTensor(img, yunet, 0, 0, 960, h).data as Float32Array;
      expect(mismatches(fused, twoSteps(img, yunet, 0, 0, 960, h))).toBe(0);
    }
  });

  it('equals the two steps on odd sizes, offsets and unaligned rows, bgr and rgb with normalisation', () => {
    // [cols, rows, byte shift, ox, oy, out w, out h]: even and odd sizes; a shift of 0 reaches the word
    // loop (rows 4-byte aligned), 1-3 the byte loop; outputs wider/taller than the picture get padding.
    const cases = [
      [64, 48, 0, 0, 0, 32, 24],
      [67, 49, 0, 0, 0, 40, 32],
      [68, 50, 1, 0, 0, 34, 25],
      [68, 50, 0, 2, 4, 30, 20],
      [68, 50, 0, 1, 3, 40, 30],
      [68, 50, 1, 1, 0, 30, 20], // the frame 1 byte into its buffer, its block 3: aligned words again
      [20, 10, 3, 5, 1, 16, 8],
      [9, 7, 0, 0, 0, 8, 8],
      [20, 12, 0, 0, 14, 8, 4], // a region below the picture: all black
      [20, 12, 0, 24, 0, 8, 4], // right of it
    ];
    for (const [cols, rows, shift, ox, oy, w, h] of cases as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ][]) {
      const img = noise(cols, rows, shift);
      for (const spec of [yunet, rgbNormalised]) {
        const fused = halvedPlanarTensor(img, spec, ox, oy, w, h).data as Float32Array;
        expect(mismatches(fused, twoSteps(img, spec, ox, oy, w, h)), `${cols}x${rows}+${shift} at ${ox},${oy}`).toBe(0);
      }
    }
  });

  it('writes a longer reused buffer through a view of its start, leaving nothing of the last frame', () => {
    const img = noise(67, 49);
    const stale = new Float32Array(3 * 40 * 40).fill(-7); // no pixel maps to -7
    const t = halvedPlanarTensor(img, yunet, 0, 0, 40, 32, stale);
    const data = t.data as Float32Array;
    expect(data.buffer).toBe(stale.buffer);
    expect(data.length).toBe(3 * 40 * 32);
    expect(data.includes(-7)).toBe(false);
    expect(mismatches(data, twoSteps(img, yunet, 0, 0, 40, 32))).toBe(0);
  });

  it('rejects a gray image and a fractional origin', () => {
    expect(() => halvedPlanarTensor({ ...noise(8, 8), channels: 1 }, yunet, 0, 0, 4, 4)).toThrow(/3-channel/);
    expect(() => halvedPlanarTensor(noise(8, 8), yunet, 0.5, 0, 4, 4)).toThrow(/whole/);
  });
});

describe('frameToDetectorInput on a 2x shrink', () => {
  it('gives what the general resample gives, for a whole photo and a region of interest at whole pixels', () => {
    const f: Frame = readImage(sample(2)); // 1920x1367: fit 960 is exactly half, 960x704 with padding
    const img: Raster = { data: f.data, cols: f.width, rows: f.height, channels: 3 };
    const whole = frameToDetectorInput(f, yunet);
    expect(whole.tensor.dims).toEqual([1, 3, 704, 960]);
    expect(mismatches(whole.tensor.data as Float32Array, twoSteps(img, yunet, 0, 0, 960, 704))).toBe(0);
    // A 1920 px wide region starting at row 101: half again, from an odd origin row.
    const roi = { x: 0, y: 101, width: 1920, height: 1000 };
    const part = frameToDetectorInput(f, yunet, roi);
    expect(part.tensor.dims).toEqual([1, 3, 512, 960]);
    expect(part.mapping).toEqual({ scaleX: 1920, scaleY: 1024, offsetX: 0, offsetY: 101 });
    expect(mismatches(part.tensor.data as Float32Array, twoSteps(img, yunet, 0, 101, 960, 512))).toBe(0);
  });
});
