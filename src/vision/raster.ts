// The pixel operations of the analysis path, in plain TypeScript: crops (an affine warp with bilinear
// sampling), gray conversion, a mirror, an area resize and a Laplacian. OpenCV's Node binding did
// these before; loading it maps about 100 MB of shared libraries (GDAL, GStreamer, GTK…) into the
// daemon for operations on face-sized images. The one large resize, frame to detector input, is done
// by FFmpeg in the capture (a detector-sized copy of each frame), so nothing here touches a full frame
// per pixel when the capture provides that copy.
//
// The warp reproduces OpenCV's fixed-point arithmetic (coordinates in 1/32 pixel, 15-bit weights), so
// crops are byte-identical to cv.warpAffine's and models see what they were converted and trained with.

export interface Raster {
  /** Row-major, channels interleaved (BGR for 3), no row padding. */
  data: Uint8Array;
  cols: number;
  rows: number;
  channels: 1 | 3;
}

/** A 2x3 affine matrix, row-major: [a, b, c, d, e, f] maps (x, y) to (a x + b y + c, d x + e y + f). */
export type Affine = [number, number, number, number, number, number];

/** OpenCV's cvRound: to nearest, ties to even. */
function cvRound(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** OpenCV's invertAffineTransform. */
export function invertAffine(m: Affine): Affine {
  let det = m[0] * m[4] - m[1] * m[3];
  det = det !== 0 ? 1 / det : 0;
  const a = m[4] * det;
  const b = -m[1] * det;
  const d = -m[3] * det;
  const e = m[0] * det;
  return [a, b, -a * m[2] - b * m[5], d, e, -d * m[2] - e * m[5]];
}

/** OpenCV's getRotationMatrix2D: rotation by `angleDeg` (counter-clockwise) and scale about a centre. */
export function rotationMatrix(cx: number, cy: number, angleDeg: number, scale: number): Affine {
  const rad = (angleDeg * Math.PI) / 180;
  const alpha = Math.cos(rad) * scale;
  const beta = Math.sin(rad) * scale;
  return [alpha, beta, (1 - alpha) * cx - beta * cy, -beta, alpha, beta * cx + (1 - alpha) * cy];
}

const AB_SCALE = 1024; // OpenCV's AB_BITS = 10
const ROUND_DELTA = 16; // AB_SCALE / INTER_TAB_SIZE / 2

/**
 * out(x, y) = src(inverse · (x, y)) with bilinear sampling; pixels outside `src` read as 0 (OpenCV's
 * warpAffine with INTER_LINEAR | WARP_INVERSE_MAP and BORDER_CONSTANT).
 */
export function warpAffine(src: Raster, inverse: Affine, outW: number, outH: number): Raster {
  const { cols: W, rows: H, channels: C, data } = src;
  const out = new Uint8Array(outW * outH * C);
  const [a, b, c, d, e, f] = inverse;
  // A pure translation by whole pixels (a detector-sized copy padded to the model's stride): rows copy.
  if (a === 1 && b === 0 && d === 0 && e === 1 && Number.isInteger(c) && Number.isInteger(f)) {
    for (let y = 0; y < outH; y++) {
      const sy = y + f;
      if (sy < 0 || sy >= H) continue;
      const x0 = Math.max(0, -c);
      const x1 = Math.min(outW, W - c);
      if (x1 > x0) out.set(data.subarray((sy * W + x0 + c) * C, (sy * W + x1 + c) * C), (y * outW + x0) * C);
    }
    return { data: out, cols: outW, rows: outH, channels: C };
  }
  if (b === 0 && d === 0) return warpAxisAligned(src, a, c, e, f, outW, outH, out);
  const adelta = new Int32Array(outW);
  const bdelta = new Int32Array(outW);
  for (let x = 0; x < outW; x++) {
    adelta[x] = cvRound(a * x * AB_SCALE);
    bdelta[x] = cvRound(d * x * AB_SCALE);
  }
  const stride = W * C;
  let o = 0;
  for (let y = 0; y < outH; y++) {
    const X0 = cvRound((b * y + c) * AB_SCALE) + ROUND_DELTA;
    const Y0 = cvRound((e * y + f) * AB_SCALE) + ROUND_DELTA;
    for (let x = 0; x < outW; x++) {
      // Coordinates in 1/32 pixel; the fraction picks the weights, as in OpenCV's interpolation table.
      const X = (X0 + adelta[x]!) >> 5;
      const Y = (Y0 + bdelta[x]!) >> 5;
      const x0 = X >> 5;
      const y0 = Y >> 5;
      const ax = X & 31;
      const ay = Y & 31;
      const w00 = (32 - ax) * (32 - ay) * 32;
      const w01 = ax * (32 - ay) * 32;
      const w10 = (32 - ax) * ay * 32;
      const w11 = ax * ay * 32;
      const in0 = y0 >= 0 && y0 < H;
      const in1 = y0 + 1 >= 0 && y0 + 1 < H;
      const c0 = x0 >= 0 && x0 < W;
      const c1 = x0 + 1 >= 0 && x0 + 1 < W;
      const p = y0 * stride + x0 * C;
      if (in0 && in1 && c0 && c1) {
        for (let k = 0; k < C; k++) {
          const q = p + k;
          out[o++] =
            (w00 * data[q]! + w01 * data[q + C]! + w10 * data[q + stride]! + w11 * data[q + stride + C]! + 16384) >> 15;
        }
      } else if (!(in0 || in1) || !(c0 || c1)) {
        o += C;
      } else {
        edgePixel(src, p, [w00, w01, w10, w11], [in0 && c0, in0 && c1, in1 && c0, in1 && c1], out, o);
        o += C;
      }
    }
  }
  return { data: out, cols: outW, rows: outH, channels: C };
}

/**
 * A pixel whose 2x2 source block is partly outside the frame: the outside neighbours count as black
 * (BORDER_CONSTANT), the inside ones with their usual weights. `p`: the block's top-left byte offset.
 */
function edgePixel(src: Raster, p: number, w: number[], inside: boolean[], out: Uint8Array, o: number): void {
  const { data, channels: C } = src;
  const stride = src.cols * C;
  const offsets = [0, C, stride, stride + C];
  for (let k = 0; k < C; k++) {
    let v = 16384;
    for (let n = 0; n < 4; n++) if (inside[n]) v += w[n]! * data[p + offsets[n]! + k]!;
    out[o + k] = v >> 15;
  }
}

/**
 * warpAffine for a matrix without rotation or shear (every resize and box crop): the same fixed-point
 * coordinates and weights as the general loop, worked out once per column and once per row instead of
 * per pixel, so the result is the same byte for byte. A 1920x1280 photo to 960x640: 7.1 ms against
 * 10.1 ms here. (The detector's exact 2x shrink no longer comes here: src/vision/halve.ts.)
 */
function warpAxisAligned(
  src: Raster,
  a: number,
  c: number,
  e: number,
  f: number,
  outW: number,
  outH: number,
  out: Uint8Array,
): Raster {
  const { cols: W, rows: H, channels: C, data } = src;
  const stride = W * C;
  // Per column: the left source pixel's byte offset and the horizontal fraction (1/32 pixel), as
  // X = (X0 + adelta[x]) >> 5 in the general loop (with b = 0, X0 is the same for every row).
  const X0 = cvRound(c * AB_SCALE) + ROUND_DELTA;
  const xs = new Int32Array(outW);
  const axs = new Int32Array(outW);
  let first = outW; // columns [first, last) have both source columns inside the frame
  let last = 0;
  for (let x = 0; x < outW; x++) {
    const X = (X0 + cvRound(a * x * AB_SCALE)) >> 5;
    const x0 = X >> 5;
    xs[x] = x0;
    axs[x] = X & 31;
    if (x0 >= 0 && x0 + 1 < W) {
      first = Math.min(first, x);
      last = x + 1;
    }
  }
  for (let y = 0; y < outH; y++) {
    const Y = (cvRound((e * y + f) * AB_SCALE) + ROUND_DELTA) >> 5; // bdelta is 0 when d = 0
    const y0 = Y >> 5;
    const ay = Y & 31;
    const in0 = y0 >= 0 && y0 < H;
    const in1 = y0 + 1 >= 0 && y0 + 1 < H;
    if (!in0 && !in1) continue; // all black
    const row = y * outW * C;
    const interior = in0 && in1;
    for (let x = 0; x < outW; x++) {
      const x0 = xs[x]!;
      const ax = axs[x]!;
      const w00 = (32 - ax) * (32 - ay) * 32;
      const w01 = ax * (32 - ay) * 32;
      const w10 = (32 - ax) * ay * 32;
      const w11 = ax * ay * 32;
      const p = y0 * stride + x0 * C;
      const o = row + x * C;
      if (interior && x >= first && x < last) {
        if (C === 3) {
          const q = p + stride;
          out[o] = (w00 * data[p]! + w01 * data[p + 3]! + w10 * data[q]! + w11 * data[q + 3]! + 16384) >> 15;
          out[o + 1] =
            (w00 * data[p + 1]! + w01 * data[p + 4]! + w10 * data[q + 1]! + w11 * data[q + 4]! + 16384) >> 15;
          out[o + 2] =
            (w00 * data[p + 2]! + w01 * data[p + 5]! + w10 * data[q + 2]! + w11 * data[q + 5]! + 16384) >> 15;
        } else {
          out[o] =
            (w00 * data[p]! + w01 * data[p + 1]! + w10 * data[p + stride]! + w11 * data[p + stride + 1]! + 16384) >> 15;
        }
        continue;
      }
      const c0 = x0 >= 0 && x0 < W;
      const c1 = x0 + 1 >= 0 && x0 + 1 < W;
      if (c0 || c1) edgePixel(src, p, [w00, w01, w10, w11], [in0 && c0, in0 && c1, in1 && c0, in1 && c1], out, o);
    }
  }
  return { data: out, cols: outW, rows: outH, channels: C };
}

/** BGR to gray with OpenCV's fixed-point weights (cvtColor COLOR_BGR2GRAY: 15-bit); gray passes through. */
export function toGray(src: Raster): Raster {
  if (src.channels === 1) return src;
  const n = src.cols * src.rows;
  const out = new Uint8Array(n);
  const d = src.data;
  for (let i = 0, j = 0; i < n; i++, j += 3)
    out[i] = (d[j]! * 3735 + d[j + 1]! * 19235 + d[j + 2]! * 9798 + 16384) >> 15;
  return { data: out, cols: src.cols, rows: src.rows, channels: 1 };
}

/** Mirror image (left-right). */
export function flipHorizontal(src: Raster): Raster {
  const { cols: W, rows: H, channels: C, data } = src;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < H; y++) {
    const row = y * W * C;
    for (let x = 0; x < W; x++) {
      const s = row + x * C;
      const t = row + (W - 1 - x) * C;
      for (let k = 0; k < C; k++) out[t + k] = data[s + k]!;
    }
  }
  return { data: out, cols: W, rows: H, channels: C };
}

/** The pixels of `rect` (whole pixels, inside the raster). */
export function region(src: Raster, x: number, y: number, w: number, h: number): Raster {
  const C = src.channels;
  const out = new Uint8Array(w * h * C);
  for (let r = 0; r < h; r++)
    out.set(src.data.subarray(((y + r) * src.cols + x) * C, ((y + r) * src.cols + x + w) * C), r * w * C);
  return { data: out, cols: w, rows: h, channels: C };
}

/**
 * Area-average resize of a gray raster (OpenCV's INTER_AREA when shrinking: each output pixel is the
 * mean of the source area it covers, partial pixels weighted). Enlarging falls back to bilinear.
 */
export function resizeArea(src: Raster, outW: number, outH: number): Raster {
  if (src.channels !== 1) throw new Error('resizeArea: expected a gray raster');
  if (src.cols < outW || src.rows < outH) {
    const sx = src.cols / outW;
    const sy = src.rows / outH;
    return warpAffine(src, [sx, 0, 0.5 * sx - 0.5, 0, sy, 0.5 * sy - 0.5], outW, outH);
  }
  const spans = (n: number, m: number): { i: number; w: number }[][] => {
    const s = n / m;
    return Array.from({ length: m }, (_, o) => {
      const lo = o * s;
      const hi = lo + s;
      const out: { i: number; w: number }[] = [];
      for (let i = Math.floor(lo); i < Math.min(n, Math.ceil(hi)); i++)
        out.push({ i, w: (Math.min(hi, i + 1) - Math.max(lo, i)) / s });
      return out;
    });
  };
  const xs = spans(src.cols, outW);
  const ys = spans(src.rows, outH);
  const out = new Uint8Array(outW * outH);
  for (let oy = 0; oy < outH; oy++) {
    for (let ox = 0; ox < outW; ox++) {
      let v = 0;
      for (const yy of ys[oy]!) {
        const row = yy.i * src.cols;
        for (const xx of xs[ox]!) v += yy.w * xx.w * src.data[row + xx.i]!;
      }
      out[oy * outW + ox] = Math.min(255, cvRound(v));
    }
  }
  return { data: out, cols: outW, rows: outH, channels: 1 };
}

/**
 * Variance of the 4-neighbour Laplacian of a gray raster, borders reflected without repeating the edge
 * (OpenCV's Laplacian with ksize 1 and BORDER_DEFAULT, then meanStdDev squared).
 */
export function laplacianVariance(src: Raster): number {
  if (src.channels !== 1) throw new Error('laplacianVariance: expected a gray raster');
  const { cols: W, rows: H, data } = src;
  const reflect = (i: number, n: number): number => (n === 1 ? 0 : i < 0 ? -i : i >= n ? 2 * n - 2 - i : i);
  let sum = 0;
  let sq = 0;
  for (let y = 0; y < H; y++) {
    const up = reflect(y - 1, H) * W;
    const down = reflect(y + 1, H) * W;
    const row = y * W;
    for (let x = 0; x < W; x++) {
      const v =
        data[row + reflect(x - 1, W)]! +
        data[row + reflect(x + 1, W)]! +
        data[up + x]! +
        data[down + x]! -
        4 * data[row + x]!;
      sum += v;
      sq += v * v;
    }
  }
  const n = W * H;
  const mean = sum / n;
  return Math.max(0, sq / n - mean * mean);
}
