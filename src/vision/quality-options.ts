// The quality gate's settings (src/vision/quality.ts), apart from the OpenCV code so that the
// configuration, which the daemon's main thread loads, does not load OpenCV.

export interface QualityOptions {
  /** Faces lower than this (frame pixels) are not classified. */
  minFaceSize: number;
  /** Variance of the Laplacian of the face at 64x64 gray below this: too blurred. 0 = no check. */
  minSharpness: number;
  /** |yaw| above this (degrees): turned too far. */
  maxYawDeg: number;
  /** |pitch| above this (degrees). */
  maxPitchDeg: number;
}

// Sharpness 40: on the face-api sample photos sharp faces score 195-1243, the same faces blurred by a
// Gaussian kernel of 1/16 of the face height 42-189, of 1/8 of it 15-60 (about half kept back), of 1/4
// of it all kept back (test/vision/quality.test.ts).
export const DEFAULT_QUALITY: QualityOptions = { minFaceSize: 48, minSharpness: 40, maxYawDeg: 45, maxPitchDeg: 35 };

export type SkipReason = 'small' | 'blurred' | 'turned';
