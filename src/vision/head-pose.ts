// Head pose (yaw, pitch, roll in degrees) from the five YuNet landmarks, by a calibrated geometric
// estimate rather than a PnP fit: five points and an unknown camera give PnP little to work with,
// while the nose tip's offset from the eye-mouth frame is a direct, cheap and stable cue.
//
// Model: a generic face whose frontal 5-point layout is the common alignment template (eyes, nose tip,
// mouth corners of the 112x112 ArcFace reference; nose tip 0.495 of the eye-to-mouth distance below the
// eyes, centred) and whose nose tip stands NOSE_DEPTH eye distances in front of the eye/mouth plane.
// Turning the head by yaw moves the projected nose sideways by depth * sin(yaw) while the eye distance
// shrinks by cos(yaw): offset / eyeDistance = depth * tan(yaw). Pitch works the same way along the
// eye-to-mouth line. Roll is the angle of the eye line. Accuracy is that of the generic face: a few
// degrees near frontal, coarser past ~45 degrees, which is enough to tell "looking" from "turned away".
import type { Point } from './preprocess.js';

export interface HeadPose {
  /** Positive when the face turns towards the image's right (the person's left). */
  yaw: number;
  /** Positive when the face looks down. */
  pitch: number;
  /** Positive when the head tilts clockwise in the image (the eye on the image's right is lower). */
  roll: number;
}

export interface FiveLandmarks {
  leftEye: Point;
  rightEye: Point;
  noseTip: Point;
  mouthLeft: Point;
  mouthRight: Point;
}

// ArcFace 112x112 template: eyes (38.29, 51.70) (73.53, 51.50), nose (56.03, 71.74), mouth
// (41.55, 92.37) (70.73, 92.20): the nose 0.495 of the eye-to-mouth distance below the eye line,
// and the mouth 1.154 eye distances below the eyes.
const FRONTAL_NOSE_DOWN = 0.495;
const EYE_TO_MOUTH = 1.154;
// Nose tip depth in front of the eye/mouth plane, in eye distances (anthropometric average ~0.5).
const NOSE_DEPTH = 0.5;

const DEG = 180 / Math.PI;

export function landmarksOf(l: Record<string, Point> | undefined): FiveLandmarks | undefined {
  if (!l?.leftEye || !l.rightEye || !l.noseTip || !l.mouthLeft || !l.mouthRight) return undefined;
  return {
    leftEye: l.leftEye,
    rightEye: l.rightEye,
    noseTip: l.noseTip,
    mouthLeft: l.mouthLeft,
    mouthRight: l.mouthRight,
  };
}

export function headPose(p: FiveLandmarks): HeadPose {
  const ex = (p.leftEye.x + p.rightEye.x) / 2;
  const ey = (p.leftEye.y + p.rightEye.y) / 2;
  const roll = Math.atan2(p.rightEye.y - p.leftEye.y, p.rightEye.x - p.leftEye.x);
  // De-roll about the eye midpoint: u along the eye line, v down the face.
  const c = Math.cos(roll);
  const s = Math.sin(roll);
  const local = (q: Point): { u: number; v: number } => ({
    u: (q.x - ex) * c + (q.y - ey) * s,
    v: -(q.x - ex) * s + (q.y - ey) * c,
  });
  const nose = local(p.noseTip);
  const ml = local(p.mouthLeft);
  const mr = local(p.mouthRight);
  const mouth = { u: (ml.u + mr.u) / 2, v: (ml.v + mr.v) / 2 };
  // The eye distance shrinks with yaw; the eye-to-mouth distance with pitch. Each axis is measured in
  // the span that the other rotation leaves alone, so a turned face does not read as tilted.
  const eyeDist = Math.hypot(p.rightEye.x - p.leftEye.x, p.rightEye.y - p.leftEye.y);
  const faceLen = mouth.v > 0 ? mouth.v : EYE_TO_MOUTH * eyeDist;
  // The midline at the nose's height runs from the eye midpoint (u = 0) to the mouth midpoint.
  const midU = (mouth.u * nose.v) / faceLen;
  // Yaw: at yaw t the projected eye distance is cos(t) and the nose offset depth * sin(t) (both in
  // frontal eye distances), so their ratio is depth * tan(t).
  const yaw = Math.atan((nose.u - midU) / eyeDist / NOSE_DEPTH);
  // Pitch: same along the face, in units of the frontal eye-to-mouth span.
  const pitch = Math.atan((nose.v / faceLen - FRONTAL_NOSE_DOWN) * (EYE_TO_MOUTH / NOSE_DEPTH));
  return { yaw: yaw * DEG, pitch: pitch * DEG, roll: roll * DEG };
}
