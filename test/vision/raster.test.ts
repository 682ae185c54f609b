// The analysis path's pixel operations (src/vision/raster.ts) against OpenCV itself, on a real photo:
// crops must be byte-identical to cv.warpAffine's (models were converted, calibrated and trained with
// them), gray identical to cvtColor, and the sharpness filter the same figure.
import { describe, expect, it } from 'vitest';
import { frameToMat, frameToRaster, matToRaster, readImage } from '../../src/vision/image.js';
import { cv } from '../../src/vision/opencv.js';
import { cropFace } from '../../src/vision/preprocess.js';
import {
  flipHorizontal,
  invertAffine,
  laplacianVariance,
  resizeArea,
  rotationMatrix,
  toGray,
  warpAffine,
  type Affine,
  type Raster,
} from '../../src/vision/raster.js';
import { sample } from '../helpers/paths.js';

const frame = readImage(sample(1));
const mat = frameToMat(frame);

function diff(a: Raster, b: Raster): { max: number; differing: number } {
  expect([a.cols, a.rows, a.channels]).toEqual([b.cols, b.rows, b.channels]);
  let max = 0;
  let differing = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = Math.abs(a.data[i]! - b.data[i]!);
    if (d) differing++;
    max = Math.max(max, d);
  }
  return { max, differing };
}

const cvWarp = (m: Affine, w: number, h: number, flags: number): Raster =>
  matToRaster(
    mat.warpAffine(new cv.Mat([m.slice(0, 3), m.slice(3)], cv.CV_64F), new cv.Size(w, h), flags, cv.BORDER_CONSTANT),
  );

describe('warpAffine', () => {
  const inverse = cv.INTER_LINEAR + cv.WARP_INVERSE_MAP;
  it.each([
    ['a face-sized crop, half-pixel centres', [2.6875, 0, 300.84, 0, 2.6875, 80.84] as Affine, 48, 48],
    ['a crop that reaches past the left and top border', [3.1, 0, -40.3, 0, 3.1, -25.7] as Affine, 64, 64],
    [
      'the whole frame to a detector input (non-integer scale)',
      [frame.width / 640, 0, 0.3, 0, frame.width / 640, 0.3] as Affine,
      640,
      640,
    ],
    [
      'the whole frame halved with half-pixel centres (YuNet at fit 960 from 1920 px)',
      [2, 0, 0.5, 0, 2, 0.5] as Affine,
      Math.floor(frame.width / 2),
      Math.floor(frame.height / 2) + 6,
    ],
    [
      'a crop that reaches past the right and bottom border',
      [1.7, 0, frame.width - 50.2, 0, 2.3, frame.height - 61.6] as Affine,
      64,
      64,
    ],
    ['an enlargement (a small face to a 64x64 input)', [0.4, 0, 120.35, 0, 0.45, 90.1] as Affine, 64, 64],
    ['a crop wholly outside the frame', [1, 0, -500.5, 0, 1, -400.5] as Affine, 32, 32],
    [
      'a pure translation (the padded detector-sized copy)',
      [1, 0, 0, 0, 1, 0] as Affine,
      frame.width + 7,
      frame.height + 30,
    ],
  ])('is byte-identical to OpenCV for %s', (_name, m, w, h) => {
    expect(diff(warpAffine(frameToRaster(frame), m, w, h), cvWarp(m, w, h, inverse))).toEqual({ max: 0, differing: 0 });
  });

  it('rotates an aligned face crop as OpenCV does with the forward matrix', () => {
    const rot = rotationMatrix(380, 150, 17.5, 48 / 130);
    rot[2] += 24 - 380;
    rot[5] += 24 - 150;
    const ours = warpAffine(frameToRaster(frame), invertAffine(rot), 48, 48);
    const theirs = cvWarp(rot, 48, 48, cv.INTER_LINEAR);
    // Inverting the matrix in doubles can land a coordinate on the other side of a 1/32 pixel step.
    const d = diff(ours, theirs);
    expect(d.max).toBeLessThanOrEqual(1);
    expect(d.differing).toBeLessThan(ours.data.length / 50);
    // And the crop the classifier takes is that one.
    expect(
      cropFace(frame, { x: 315, y: 85, width: 130, height: 130 }, 48, 48, {
        left: { x: 340, y: 140 },
        right: { x: 420, y: 165.2 },
      }).data.length,
    ).toBe(48 * 48 * 3);
  });
});

describe('gray, mirror, area resize and Laplacian', () => {
  it.each([1, 2, 3])('toGray equals cvtColor(BGR2GRAY) exactly (sample %i)', (i) => {
    const f = readImage(sample(i));
    expect(diff(toGray(frameToRaster(f)), matToRaster(frameToMat(f).cvtColor(cv.COLOR_BGR2GRAY)))).toEqual({
      max: 0,
      differing: 0,
    });
  });

  it('flipHorizontal equals flip(1)', () => {
    expect(diff(flipHorizontal(frameToRaster(frame)), matToRaster(mat.flip(1)))).toEqual({ max: 0, differing: 0 });
  });

  it('resizeArea is within one grey level of INTER_AREA when shrinking', () => {
    const gray = mat
      .cvtColor(cv.COLOR_BGR2GRAY)
      .getRegion(new cv.Rect(300, 80, 131, 127))
      .copy();
    const d = diff(resizeArea(matToRaster(gray), 64, 64), matToRaster(gray.resize(64, 64, 0, 0, cv.INTER_AREA)));
    expect(d.max).toBeLessThanOrEqual(1);
  });

  it('laplacianVariance equals Laplacian(ksize 1) then meanStdDev squared', () => {
    const gray = mat
      .cvtColor(cv.COLOR_BGR2GRAY)
      .getRegion(new cv.Rect(300, 80, 64, 64))
      .copy();
    const sd = gray.laplacian(cv.CV_32F).meanStdDev().stddev.at(0, 0);
    expect(laplacianVariance(matToRaster(gray))).toBeCloseTo(sd * sd, 3);
  });
});
