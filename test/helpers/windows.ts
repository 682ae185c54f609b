// A plausible closed aggregate window, number i of a camera (one minute each).
import type { AggregateWindow } from '../../src/aggregate/window.js';

export const testWindow = (i: number, cameraId = 'cam1'): AggregateWindow => ({
  cameraId,
  start: new Date(i * 60_000).toISOString(),
  end: new Date((i + 1) * 60_000).toISOString(),
  startMs: i * 60_000,
  endMs: (i + 1) * 60_000,
  partial: false,
  framesAnalysed: 600,
  framesDropped: 0,
  faceDetections: 12,
  people: 3,
  newPeople: 1,
  emotions: { angry: 0, disgust: 0, fear: 0, happy: 2, sad: 0, surprise: 0, neutral: 1 },
  meanProbabilities: [0.01, 0, 0.02, 0.6, 0.05, 0.02, 0.3],
  withheld: false,
  dwell: { count: 1, meanS: 12.5, p50S: 12.5, p90S: 12.5 },
  notClassified: 0,
  skippedFaces: { small: 1, blurred: 0, turned: 2 },
  viewers: 1,
  passersBy: 2,
  lookTime: { count: 1, meanS: 4.2, p50S: 4.2, p90S: 4.2 },
  viewerEmotions: null,
});
