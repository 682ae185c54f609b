// "Looks at the kiosk": a face whose head pose is within limits around the pose the camera sees when a
// person looks at the screen. Pure (no OpenCV), so the configuration can import the defaults.
import type { HeadPose } from './head-pose.js';

export interface AttentionOptions {
  /** |yaw - yawOffsetDeg| and |pitch - pitchOffsetDeg| at most these (degrees): looking. */
  maxYawDeg: number;
  maxPitchDeg: number;
  /**
   * Head pose of someone looking at the screen's centre, as the camera sees it: 0/0 for a camera on
   * the screen; a camera above the screen sees a viewer looking down (pitch > 0), one to the left of
   * the screen (as the viewer sees it) sees them turned towards the image's right (yaw > 0).
   */
  yawOffsetDeg: number;
  pitchOffsetDeg: number;
  /** Looking this long in all makes a person a viewer. */
  minLookS: number;
}

export const DEFAULT_ATTENTION: AttentionOptions = {
  maxYawDeg: 30,
  maxPitchDeg: 20,
  yawOffsetDeg: 0,
  pitchOffsetDeg: 0,
  minLookS: 2,
};

/** Whether a face with this pose looks at the kiosk; a face without a pose (no landmarks) never does. */
export function isLooking(pose: HeadPose | undefined, a: AttentionOptions): boolean {
  return (
    pose !== undefined &&
    Math.abs(pose.yaw - a.yawOffsetDeg) <= a.maxYawDeg &&
    Math.abs(pose.pitch - a.pitchOffsetDeg) <= a.maxPitchDeg
  );
}
