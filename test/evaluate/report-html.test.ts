import { describe, expect, it } from 'vitest';
import { evaluateDetections, type ImageGT } from '../../src/evaluate/detection.js';
import { emotionReport, EMOTION_LABELS } from '../../src/evaluate/metrics.js';
import { escapeHtml, renderDetectorReportHtml, renderEmotionReportHtml } from '../../src/evaluate/report-html.js';

const EVIL = '<script>alert("x")</script>&\'';

function report(): ReturnType<typeof emotionReport> {
  const samples = Array.from({ length: 70 }, (_, i) => {
    const label = i % 7;
    const probs = new Array<number>(7).fill(0.05);
    probs[i % 5 === 0 ? (label + 1) % 7 : label] = 0.7;
    return { label, probs };
  });
  return emotionReport(samples, { msPerFace: 4.25 });
}

describe('renderEmotionReportHtml', () => {
  const html = renderEmotionReportHtml(report(), {
    modelName: EVIL,
    modelVersion: '1.2.0',
    data: 'fer2013 PublicTest',
    generatedAt: '2024-01-01',
  });

  it('is a self-contained page with both SVG charts', () => {
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html.match(/<svg /g)).toHaveLength(2);
    expect(html).toContain('class="confusion"');
    expect(html).toContain('class="chart"');
    expect(html.match(/<polyline /g)).toHaveLength(7); // one ROC curve per class
    expect(html).not.toMatch(/<script|<link|<img|src=|https?:/i);
    expect(html).toContain('4.25');
    expect(html).toContain('1.2.0');
    for (const l of EMOTION_LABELS) expect(html).toContain(`${l} (AUC `);
  });

  it('shows counts and row percentages in the heat map', () => {
    // Class 0: samples 0,7,...,63 (10); i%5===0 for i=0,35 -> 2 predicted as disgust, 8 correct.
    expect(html).toContain('>8</text>');
    expect(html).toContain('>80.0%</text>');
    expect(html).toContain('>20.0%</text>');
  });

  it('escapes a malicious model name everywhere', () => {
    expect(html).not.toContain(EVIL);
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;');
  });

  it('escapes labels too', () => {
    const r = emotionReport(
      [
        { label: 0, probs: [0.9, 0.1] },
        { label: 1, probs: [0.2, 0.8] },
      ],
      { msPerFace: null, labels: ['<b>', 'ok'] },
    );
    const h = renderEmotionReportHtml(r, { modelName: 'm', data: 'd' });
    expect(h).not.toContain('<b>');
    expect(h).toContain('&lt;b&gt;');
    expect(h).toContain('not measured');
  });
});

describe('renderDetectorReportHtml', () => {
  it('renders the PR curve and escapes text', () => {
    const gt: ImageGT[] = [
      {
        image: 'a',
        width: 100,
        height: 100,
        faces: [
          {
            box: [0, 0, 50, 50],
            blur: 0,
            expression: 0,
            illumination: 0,
            invalid: false,
            occlusion: 0,
            pose: 0,
            easy: 1,
            medium: 1,
            hard: 1,
          },
        ],
      },
    ];
    const ev = evaluateDetections(gt, new Map([['a', [{ box: [0, 0, 50, 50], score: 0.9 }]]]));
    const html = renderDetectorReportHtml(ev, { modelName: EVIL, data: 'WIDER val <small>' });
    expect(html.match(/<svg /g)).toHaveLength(1);
    expect(html).toContain('<polyline ');
    expect(html).toContain('AP 1.000');
    expect(html).not.toContain(EVIL);
    expect(html).toContain('WIDER val &lt;small&gt;');
    expect(escapeHtml(`a&b<c>"d"'e'`)).toBe('a&amp;b&lt;c&gt;&quot;d&quot;&#39;e&#39;');
  });
});
