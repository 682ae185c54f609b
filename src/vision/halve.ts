// The detector input of a 2x shrink (a 1920 px photo, or a 1080p frame without FFmpeg's detector copy,
// to YuNet's 960 px input) in one pass from the frame's bytes to the float tensor.
import * as ort from 'onnxruntime-node';
import type { InputSpec } from '../models/manifest.js';
import { tensorBuffer } from './planar.js';
import type { Raster } from './raster.js';

/**
 * planarTensor(cropResize(img, {ox, oy, 2 * width, 2 * height}, width, height)) without the 8-bit image
 * in between: with half-pixel centres and exactly half the scale, every bilinear weight is a quarter, so
 * output pixel (x, y) is the rounded mean (s + 2) >> 2 of the 2x2 block at (ox + 2x, oy + 2y), pixels
 * past the image counting as black (BORDER_CONSTANT). Same values, float for float (a test compares the
 * two on odd-sized photos); 1920x1280 to 960x640 takes 3.9-4.0 ms here against 9.0-9.5 for the two steps.
 */
export function halvedPlanarTensor(
  img: Raster,
  spec: InputSpec,
  ox: number,
  oy: number,
  width: number,
  height: number,
  out?: Float32Array,
): ort.Tensor {
  if (img.channels !== 3)
    throw new Error(`halvedPlanarTensor: expected a 3-channel BGR image, got ${img.channels} channel(s)`);
  if (!Number.isInteger(ox) || !Number.isInteger(oy) || ox < 0 || oy < 0)
    throw new Error(`halvedPlanarTensor: the source origin must be whole non-negative pixels, got ${ox},${oy}`);
  // As planarTensor: float32 factors, the same double v * a + b stored.
  const a = Math.fround(spec.normalization.scale / (spec.normalization.std[0] ?? 1));
  const b = Math.fround(-(spec.normalization.mean[0] ?? 0) / (spec.normalization.std[0] ?? 1));
  const plane = width * height;
  const t = tensorBuffer(3 * plane, out);
  const [o0, o1, o2] = spec.colour === 'rgb' ? [2 * plane, plane, 0] : [0, plane, 2 * plane];
  const planes: Planes = [t.subarray(o0, o0 + plane), t.subarray(o1, o1 + plane), t.subarray(o2, o2 + plane)];
  const { data: d, cols: W, rows: H } = img;
  // Output columns [0, full) read two source columns inside the image, [full, cols) one; the same for
  // rows. Blocks with a column or row outside are the edges, done pixel by pixel below.
  const full = Math.max(0, Math.min(width, (W - ox) >> 1));
  const cols = Math.max(0, Math.min(width, Math.ceil((W - ox) / 2)));
  const twoRows = Math.max(0, Math.min(height, (H - oy) >> 1));
  const rows = Math.max(0, Math.min(height, Math.ceil((H - oy) / 2)));
  const start = (oy * W + ox) * 3;
  const stride = W * 3;
  const words = full >> 1; // pairs of output pixels the word loop does
  if (LITTLE_ENDIAN && (d.byteOffset + start) % 4 === 0 && stride % 4 === 0 && words > 0 && twoRows > 0) {
    // Words from output (0, 0)'s block on (the frame itself may start at any byte of its buffer).
    const u32 = new Uint32Array(d.buffer, d.byteOffset + start, (d.length - start) >> 2);
    halveWords(u32, stride >> 2, planes, width, words, twoRows, a, b);
    halveBytes(d, start + 12 * words, stride, planes, width, 2 * words, full, twoRows, a, b);
  } else {
    halveBytes(d, start, stride, planes, width, 0, full, twoRows, a, b);
  }
  const black = 0 * a + b; // never -0
  for (let y = 0; y < rows; y++) {
    for (let x = y < twoRows ? full : 0; x < cols; x++) {
      const i = y * width + x;
      for (let c = 0; c < 3; c++) planes[c]![i] = edgeMean(img, ox + 2 * x, oy + 2 * y, c) * a + b;
    }
    if (cols < width) for (const p of planes) p.fill(black, y * width + cols, (y + 1) * width);
  }
  for (const p of planes) p.fill(black, rows * width);
  return new ort.Tensor('float32', t, [1, 3, height, width]);
}

type Planes = [Float32Array, Float32Array, Float32Array];

/** halveWords reads bytes in little-endian order (x86 and ARM boxes are; anything else takes the bytes). */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

// The hot loops do interior blocks only (no bounds or edge tests inside); halveWords does most of them
// and halveBytes the rest, or all of them when the rows are not 4-byte aligned.

/**
 * Output columns [x0, x1) of rows [0, rows): byte by byte. `start`: byte offset of output (0, 0)'s
 * block (x0 is added here).
 */
function halveBytes(
  d: Uint8Array,
  start: number,
  stride: number,
  [p0, p1, p2]: Planes,
  width: number,
  x0: number,
  x1: number,
  rows: number,
  a: number,
  b: number,
): void {
  for (let y = 0; y < rows; y++) {
    let i = y * width + x0;
    const end = y * width + x1;
    for (let j = start + 2 * y * stride, l = j + stride; i < end; i++, j += 6, l += 6) {
      p0[i] = ((d[j]! + d[j + 3]! + d[l]! + d[l + 3]! + 2) >> 2) * a + b;
      p1[i] = ((d[j + 1]! + d[j + 4]! + d[l + 1]! + d[l + 4]! + 2) >> 2) * a + b;
      p2[i] = ((d[j + 2]! + d[j + 5]! + d[l + 2]! + d[l + 5]! + 2) >> 2) * a + b;
    }
  }
}

/**
 * Output columns [0, 2 * pairs) of rows [0, rows), `u` starting at output (0, 0)'s block, two pixels
 * at a time from three 32-bit words per
 * source row (4 pixels, 12 bytes), adding the upper and lower row's bytes in 16-bit lanes: 3.3 ms
 * against 4.8 for halveBytes on a 960x640 output here. Words are little-endian: w0 = B0 G0 R0 B1,
 * w1 = G1 R1 B2 G2, w2 = R2 B3 G3 R3; the masks split each into its even and odd bytes.
 */
function halveWords(
  u: Uint32Array,
  stride: number,
  [p0, p1, p2]: Planes,
  width: number,
  pairs: number,
  rows: number,
  a: number,
  b: number,
): void {
  for (let y = 0; y < rows; y++) {
    let i = y * width;
    const end = i + 2 * pairs;
    for (let j = 2 * y * stride, l = j + stride; i < end; i += 2, j += 3, l += 3) {
      const u0 = u[j]!;
      const u1 = u[j + 1]!;
      const u2 = u[j + 2]!;
      const v0 = u[l]!;
      const v1 = u[l + 1]!;
      const v2 = u[l + 2]!;
      const e0 = (u0 & 0xff00ff) + (v0 & 0xff00ff); // B0 | R0
      const n0 = ((u0 >>> 8) & 0xff00ff) + ((v0 >>> 8) & 0xff00ff); // G0 | B1
      const e1 = (u1 & 0xff00ff) + (v1 & 0xff00ff); // G1 | B2
      const n1 = ((u1 >>> 8) & 0xff00ff) + ((v1 >>> 8) & 0xff00ff); // R1 | G2
      const e2 = (u2 & 0xff00ff) + (v2 & 0xff00ff); // R2 | G3
      const n2 = ((u2 >>> 8) & 0xff00ff) + ((v2 >>> 8) & 0xff00ff); // B3 | R3
      p0[i] = (((e0 & 0xffff) + (n0 >>> 16) + 2) >> 2) * a + b;
      p1[i] = (((n0 & 0xffff) + (e1 & 0xffff) + 2) >> 2) * a + b;
      p2[i] = (((e0 >>> 16) + (n1 & 0xffff) + 2) >> 2) * a + b;
      p0[i + 1] = (((e1 >>> 16) + (n2 & 0xffff) + 2) >> 2) * a + b;
      p1[i + 1] = (((n1 >>> 16) + (e2 >>> 16) + 2) >> 2) * a + b;
      p2[i + 1] = (((e2 & 0xffff) + (n2 >>> 16) + 2) >> 2) * a + b;
    }
  }
}

/** The rounded mean of channel c over the 2x2 block at (sx, sy), pixels outside the image black. */
function edgeMean(img: Raster, sx: number, sy: number, c: number): number {
  let s = 2;
  for (let v = sy; v < Math.min(sy + 2, img.rows); v++)
    for (let u = sx; u < Math.min(sx + 2, img.cols); u++) s += img.data[(v * img.cols + u) * 3 + c]!;
  return s >> 2;
}
