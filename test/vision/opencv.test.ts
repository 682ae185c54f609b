// The OpenCV binding as src/vision/opencv.ts loads it (image files, drawing, tests; never the daemon).
import { describe, expect, it } from 'vitest';
import { cv } from '../../src/vision/opencv.js';
import { annotateFrame } from '../../src/vision/annotate.js';
import { readImage } from '../../src/vision/image.js';
import { sample } from '../helpers/paths.js';

describe('OpenCV binding', () => {
  it('runs without external memory tracking, whose Mat destructor crashed processes while they exited', () => {
    // The core of CI's crash: cv::Mat::release -> v8::Isolate::AdjustAmountOfExternalAllocatedMemory
    // from V8's last garbage collection inside node::IsolateData::~IsolateData.
    expect(cv.isCustomMatAllocatorEnabled()).toBe(false);
    expect(process.env.OPENCV4NODEJS_DISABLE_EXTERNAL_MEM_TRACKING).toBe('1');
  });

  it('reads and annotates a photo with its Mats released right away (the frames own their pixels)', () => {
    const frame = readImage(sample(1));
    const before = Buffer.from(frame.data);
    const box = { x: 10, y: 10, width: 50, height: 50 };
    const drawn = annotateFrame(frame, [{ box, emotion: { label: 'happy', score: 0.9 } }]);
    expect(frame.data.equals(before)).toBe(true);
    expect(drawn.data.equals(before)).toBe(false);
    expect([drawn.width, drawn.height]).toEqual([frame.width, frame.height]);
  });
});
