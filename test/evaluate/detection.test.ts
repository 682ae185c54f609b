import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  averagePrecision,
  evaluateDetections,
  iou,
  matchImage,
  parseBoxesJsonl,
  parseBoxesJsonlText,
  type Box,
  type Detection,
  type GtFace,
  type ImageGT,
} from '../../src/evaluate/detection.js';

const face = (box: Box, invalid = false): GtFace => ({
  box,
  blur: 0,
  expression: 0,
  illumination: 0,
  invalid,
  occlusion: 0,
  pose: 0,
  easy: 1,
  medium: 1,
  hard: 1,
});

/*
 * Hand-made scene, minFace = 40, IoU 0.5:
 * Image A: g1 [0,0,100,100]; g2 [200,0,50,50]; g3 [400,0,60,30] -> height 30 < 40: IGNORED
 *   d1 [0,0,100,100]   .9  -> TP (g1)
 *   d2 [5,5,100,100]   .8  -> IoU with g1 = 95*95/(2*10000-9025) = 9025/10975 = .822, but g1 is taken:
 *                             DUPLICATE -> FP
 *   d3 [400,0,60,30]   .7  -> only overlaps the ignored g3 -> dropped (neither TP nor FP)
 *   d4 [200,0,50,50]   .3  -> TP (g2), below the .5 operating threshold
 * Image B: g4 [10,10,80,80]; g5 [100,100,50,50] invalid=1 -> IGNORED
 *   d5 [10,10,80,80]   .6  -> TP (g4)
 *   d6 [300,300,40,40] .2  -> low-score FP
 * Image C: no faces.  d7 [0,0,50,50] .85 -> FP
 *
 * Counted GT faces = 3 (g1, g2, g4). Ranked detections (d3 excluded):
 *   score  TP/FP  cumTP cumFP  precision  recall
 *   .9     TP     1     0      1          1/3
 *   .85    FP     1     1      1/2        1/3
 *   .8     FP     1     2      1/3        1/3
 *   .6     TP     2     2      1/2        2/3
 *   .3     TP     3     2      3/5        1
 *   .2     FP     3     3      1/2        1
 * Interpolated precision (max to the right): recall step 0->1/3 at 1, 1/3->2/3 at 3/5, 2/3->1 at 3/5.
 * AP = 1/3*1 + 1/3*3/5 + 1/3*3/5 = 1/3 + 2/5 = 11/15.
 * At score >= .5: TP = 2 (d1, d5), FP = 2 (d7, d2) -> recall 2/3, precision 1/2, FP/image 2/3.
 */
const GT: ImageGT[] = [
  {
    image: 'images/a/1.jpg',
    width: 640,
    height: 480,
    faces: [face([0, 0, 100, 100]), face([200, 0, 50, 50]), face([400, 0, 60, 30])],
  },
  { image: 'images/b/2.jpg', width: 640, height: 480, faces: [face([10, 10, 80, 80]), face([100, 100, 50, 50], true)] },
  { image: 'images/c/3.jpg', width: 640, height: 480, faces: [] },
];
const PREDS = new Map<string, Detection[]>([
  [
    'images/a/1.jpg',
    [
      { box: [5, 5, 100, 100], score: 0.8 },
      { box: [200, 0, 50, 50], score: 0.3 },
      { box: [0, 0, 100, 100], score: 0.9 },
      { box: [400, 0, 60, 30], score: 0.7 },
    ],
  ],
  [
    'images/b/2.jpg',
    [
      { box: [10, 10, 80, 80], score: 0.6 },
      { box: [300, 300, 40, 40], score: 0.2 },
    ],
  ],
  ['images/c/3.jpg', [{ box: [0, 0, 50, 50], score: 0.85 }]],
]);

describe('evaluateDetections', () => {
  it('reproduces the hand-computed AP and operating point', () => {
    expect(iou([0, 0, 100, 100], [5, 5, 100, 100])).toBeCloseTo(9025 / 10975, 12);
    const ev = evaluateDetections(GT, PREDS, { iou: 0.5, minFace: 40 });
    expect(ev.ap50).toBeCloseTo(11 / 15, 12);
    expect(ev.gtFaces).toBe(3);
    expect(ev.ignoredFaces).toBe(2);
    expect(ev.images).toBe(3);
    expect(ev.detections).toBe(6);
    expect(ev.ignoredDetections).toBe(1);
    expect(ev.tp).toBe(2);
    expect(ev.fp).toBe(2);
    expect(ev.recall).toBeCloseTo(2 / 3, 12);
    expect(ev.precision).toBeCloseTo(1 / 2, 12);
    expect(ev.fpPerImage).toBeCloseTo(2 / 3, 12);
    expect(ev.pr.map((p) => p.threshold)).toEqual([0.9, 0.85, 0.8, 0.6, 0.3, 0.2]);
    expect(ev.pr[4]).toMatchObject({ recall: 1, precision: 3 / 5 });
  });

  it('minScore drops the low-score FP without changing AP here; the threshold moves the operating point', () => {
    const ev = evaluateDetections(GT, PREDS, { minFace: 40, minScore: 0.25 });
    expect(ev.detections).toBe(5);
    expect(ev.ap50).toBeCloseTo(11 / 15, 12);
    const low = evaluateDetections(GT, PREDS, { minFace: 40, scoreThreshold: 0.1 });
    expect(low.recall).toBe(1);
    expect(low.fpPerImage).toBe(1);
  });

  it('with minFace 0 the small face counts, and its detection becomes a TP', () => {
    // g3 now counted: 4 GT. Ranked: .9 TP, .85 FP, .8 FP, .7 TP, .6 TP, .3 TP, .2 FP
    // P/R: 1/(1/4), 1/2, 1/3, 2/4(2/4), 3/5(3/4), 4/6(1), 4/7(1)
    // Envelope: step to 1/4 at 1; to 2/4, 3/4 and 1 at 2/3 -> AP = 1/4 + 3/4 * 2/3 = 3/4
    const ev = evaluateDetections(GT, PREDS, { minFace: 0 });
    expect(ev.gtFaces).toBe(4);
    expect(ev.ignoredDetections).toBe(0);
    expect(ev.ap50).toBeCloseTo(3 / 4, 12);
  });

  it('defaults to the kiosk minimum face height of 40 px', () => {
    expect(evaluateDetections(GT, PREDS).minFace).toBe(40);
  });

  it('AP is null without GT faces; unknown and duplicate images are errors', () => {
    const ev = evaluateDetections([GT[2] as ImageGT], new Map([['images/c/3.jpg', [{ box: [0, 0, 9, 9], score: 1 }]]]));
    expect(ev.ap50).toBeNull();
    expect(ev.fpPerImage).toBe(1);
    expect(() => evaluateDetections(GT, new Map([['images/x.jpg', []]]))).toThrow(/images\/x\.jpg/);
    expect(() => evaluateDetections([GT[2] as ImageGT, GT[2] as ImageGT], new Map())).toThrow(/twice/);
  });

  it('tied scores give one PR point (AP independent of tie order)', () => {
    const gt: ImageGT[] = [{ image: 'i', width: 100, height: 100, faces: [face([0, 0, 50, 50])] }];
    const a = evaluateDetections(
      gt,
      new Map([
        [
          'i',
          [
            { box: [60, 60, 40, 40] as Box, score: 0.5 },
            { box: [0, 0, 50, 50] as Box, score: 0.5 },
          ],
        ],
      ]),
      { minFace: 0 },
    );
    // One group at .5: TP 1, FP 1 -> (recall 1, precision 1/2) -> AP 1/2, whatever the order.
    expect(a.pr).toEqual([{ recall: 1, precision: 0.5, threshold: 0.5 }]);
    expect(a.ap50).toBe(0.5);
  });
});

describe('matching details', () => {
  it('a detection takes the unmatched GT with the highest IoU', () => {
    const faces = [face([0, 0, 100, 100]), face([10, 0, 100, 100])];
    // d overlaps face 1 best (IoU 1); the next detection then gets face 0.
    const out = matchImage(
      faces,
      [
        { box: [10, 0, 100, 100], score: 0.9 },
        { box: [0, 0, 100, 100], score: 0.8 },
      ],
      0.5,
      0,
    );
    expect(out).toEqual(['tp', 'tp']);
  });

  it('averagePrecision makes precision monotone (VOC 2010+)', () => {
    expect(
      averagePrecision([
        { recall: 0.5, precision: 0.5 },
        { recall: 1, precision: 1 },
      ]),
    ).toBe(1);
    expect(averagePrecision([])).toBe(0);
  });

  it('iou of disjoint or degenerate boxes is 0', () => {
    expect(iou([0, 0, 10, 10], [10, 0, 10, 10])).toBe(0);
    expect(iou([0, 0, 0, 10], [0, 0, 0, 10])).toBe(0);
  });
});

describe('parseBoxesJsonl', () => {
  const dir = mkdtempSync(join(tmpdir(), 'boxes-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const row = '[10, 20, 30, 40, 0, 0, 0, 0, 0, 0, 1, 1, 0]';

  it('parses a valid file, skipping blank lines', () => {
    const p = join(dir, 'ok.jsonl');
    writeFileSync(
      p,
      `{"image":"images/0--Parade/a.jpg","width":640,"height":480,"faces":[${row}]}\n\n{"image":"images/1/b.jpg","width":10,"height":10,"faces":[]}\r\n`,
    );
    const gt = parseBoxesJsonl(p);
    expect(gt).toHaveLength(2);
    expect(gt[0]?.faces[0]).toMatchObject({ box: [10, 20, 30, 40], invalid: false, easy: 1, hard: 0 });
  });

  it.each([
    ['not json', 'invalid JSON'],
    ['[1,2]', 'expected a JSON object'],
    ['{"width":1,"height":1,"faces":[]}', '"image"'],
    ['{"image":"x","width":0,"height":1,"faces":[]}', '"width"'],
    ['{"image":"x","width":1,"height":1}', '"faces"'],
    ['{"image":"x","width":1,"height":1,"faces":[[1,2,3,4]]}', 'faces[0] must be an array of 13'],
  ])('names file and line for %s', (bad, msg) => {
    const p = join(dir, 'bad.jsonl');
    writeFileSync(p, `{"image":"ok","width":1,"height":1,"faces":[]}\n${bad}\n`);
    expect(() => parseBoxesJsonl(p)).toThrow(`${p}:2: `);
    expect(() => parseBoxesJsonl(p)).toThrow(msg);
  });

  it('names a missing file', () => {
    expect(() => parseBoxesJsonl(join(dir, 'nope.jsonl'))).toThrow(/nope\.jsonl/);
    expect(parseBoxesJsonlText('', 'empty')).toEqual([]);
  });
});
