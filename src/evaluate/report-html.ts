// Self-contained HTML reports: inline CSS and SVG only, no scripts, no external assets, so the file
// can be attached to a release ticket or opened offline. All text is escaped, including labels and
// model names that come from manifests or command lines.
import type { DetectionEvaluation } from './detection.js';
import type { EmotionReport } from './metrics.js';

export interface ReportMeta {
  modelName: string;
  modelVersion?: string;
  /** Description of the evaluation data (path, split, ...). */
  data: string;
  /** Timestamp text; left to the caller so rendering stays pure. */
  generatedAt?: string;
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Safe for element text and double- or single-quoted attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

const PALETTE = [
  '#d62728',
  '#8c564b',
  '#9467bd',
  '#2ca02c',
  '#1f77b4',
  '#ff7f0e',
  '#7f7f7f',
  '#17becf',
  '#bcbd22',
  '#e377c2',
];
const colour = (i: number): string => PALETTE[i % PALETTE.length] as string;
const fmt = (v: number | null, digits = 3): string => (v === null || !Number.isFinite(v) ? 'n/a' : v.toFixed(digits));
const pct = (v: number): string => `${(v * 100).toFixed(1)}%`;
const n1 = (v: number): string => v.toFixed(1);

const CSS = `body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1100px}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:4px 10px;text-align:right}
th:first-child,td:first-child{text-align:left}dl{display:grid;grid-template-columns:max-content auto;gap:4px 16px}
dt{font-weight:600}svg{display:block;margin:1em 0;font-size:12px}`;

function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${CSS}</style></head>
<body>
${body}
</body></html>
`;
}

function summary(meta: ReportMeta, rows: [string, string][]): string {
  const all: [string, string][] = [
    ['Model', meta.modelName],
    ['Version', meta.modelVersion ?? 'unknown'],
    ['Data', meta.data],
    ...(meta.generatedAt === undefined ? [] : ([['Generated', meta.generatedAt]] as [string, string][])),
    ...rows,
  ];
  return `<dl>${all.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('')}</dl>`;
}

interface Series {
  name: string;
  points: readonly [number, number][];
}

/** Unit-square line chart (x and y in [0, 1]) with axes, grid, optional chance diagonal and legend. */
function lineChart(
  title: string,
  xLabel: string,
  yLabel: string,
  series: readonly Series[],
  diagonal: boolean,
): string {
  const S = 360;
  const L = 60;
  const T = 30;
  const legendW = 260;
  const W = L + S + 20 + legendW;
  const H = T + S + 50;
  const px = (x: number): string => n1(L + x * S);
  const py = (y: number): string => n1(T + (1 - y) * S);
  const parts: string[] = [`<title>${escapeHtml(title)}</title>`];
  for (let t = 0; t <= 5; t++) {
    const v = t / 5;
    parts.push(
      `<line x1="${px(v)}" y1="${py(0)}" x2="${px(v)}" y2="${py(1)}" stroke="#eee"/>`,
      `<line x1="${px(0)}" y1="${py(v)}" x2="${px(1)}" y2="${py(v)}" stroke="#eee"/>`,
      `<text x="${px(v)}" y="${n1(T + S + 16)}" text-anchor="middle">${v.toFixed(1)}</text>`,
      `<text x="${n1(L - 6)}" y="${n1(T + (1 - v) * S + 4)}" text-anchor="end">${v.toFixed(1)}</text>`,
    );
  }
  parts.push(
    `<rect x="${L}" y="${T}" width="${S}" height="${S}" fill="none" stroke="#444"/>`,
    `<text x="${n1(L + S / 2)}" y="${n1(T + S + 38)}" text-anchor="middle">${escapeHtml(xLabel)}</text>`,
    `<text transform="translate(16 ${n1(T + S / 2)}) rotate(-90)" text-anchor="middle">${escapeHtml(yLabel)}</text>`,
    `<text x="${n1(L + S / 2)}" y="18" text-anchor="middle" font-weight="600">${escapeHtml(title)}</text>`,
  );
  if (diagonal)
    parts.push(`<line x1="${px(0)}" y1="${py(0)}" x2="${px(1)}" y2="${py(1)}" stroke="#999" stroke-dasharray="4 4"/>`);
  series.forEach((s, i) => {
    const pts = s.points.map(([x, y]) => `${px(x)},${py(y)}`).join(' ');
    if (pts !== '') parts.push(`<polyline fill="none" stroke="${colour(i)}" stroke-width="2" points="${pts}"/>`);
    const ly = T + 10 + i * 20;
    parts.push(
      `<rect x="${L + S + 20}" y="${ly - 9}" width="14" height="10" fill="${colour(i)}"/>`,
      `<text x="${L + S + 40}" y="${ly}">${escapeHtml(s.name)}</text>`,
    );
  });
  return `<svg class="chart" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img">${parts.join('')}</svg>`;
}

/** Heat map coloured by the row-normalised rate; each cell shows the count and the row %. */
function confusionSvg(
  labels: readonly string[],
  counts: readonly (readonly number[])[],
  norm: readonly (readonly number[])[],
): string {
  const C = 64;
  const L = 100;
  const T = 100;
  const k = labels.length;
  const W = L + k * C + 10;
  const H = T + k * C + 10;
  const parts: string[] = [
    '<title>Confusion matrix (rows: true class, columns: predicted class)</title>',
    `<text x="${n1(L + (k * C) / 2)}" y="14" text-anchor="middle" font-weight="600">predicted</text>`,
    `<text transform="translate(14 ${n1(T + (k * C) / 2)}) rotate(-90)" text-anchor="middle" font-weight="600">true</text>`,
  ];
  labels.forEach((name, i) => {
    const esc = escapeHtml(name);
    parts.push(
      `<text transform="translate(${n1(L + i * C + C / 2)} ${T - 6}) rotate(-45)">${esc}</text>`,
      `<text x="${L - 6}" y="${n1(T + i * C + C / 2 + 4)}" text-anchor="end">${esc}</text>`,
    );
  });
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      const v = norm[i]?.[j] ?? 0;
      const c = counts[i]?.[j] ?? 0;
      // White -> dark blue; light text on dark cells.
      const fill = `rgb(${Math.round(255 - 224 * v)},${Math.round(255 - 136 * v)},${Math.round(255 - 75 * v)})`;
      const ink = v > 0.5 ? '#fff' : '#222';
      const x = L + j * C;
      const y = T + i * C;
      parts.push(
        `<rect x="${x}" y="${y}" width="${C}" height="${C}" fill="${fill}" stroke="#fff"/>`,
        `<text x="${x + C / 2}" y="${y + 28}" text-anchor="middle" fill="${ink}" font-weight="600">${c}</text>`,
        `<text x="${x + C / 2}" y="${y + 46}" text-anchor="middle" fill="${ink}">${pct(v)}</text>`,
      );
    }
  }
  return `<svg class="confusion" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img">${parts.join('')}</svg>`;
}

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const tr = (cells: readonly string[], tag: string): string =>
    `<tr>${cells.map((c) => `<${tag}>${escapeHtml(c)}</${tag}>`).join('')}</tr>`;
  return `<table><thead>${tr(head, 'th')}</thead><tbody>${rows.map((r) => tr(r, 'td')).join('')}</tbody></table>`;
}

export function renderEmotionReportHtml(report: EmotionReport, meta: ReportMeta): string {
  const { labels } = report;
  const head = summary(meta, [
    ['Samples', String(report.samples)],
    ['Accuracy', fmt(report.accuracy)],
    ['Macro-F1 (all classes)', fmt(report.macroF1)],
    ['Weighted F1', fmt(report.weightedF1)],
    ['Macro ROC AUC', fmt(report.rocAuc.macro)],
    ['ms / face', report.msPerFace === null ? 'not measured' : report.msPerFace.toFixed(2)],
  ]);
  const perClass = table(
    ['class', 'precision', 'recall', 'F1', 'support', 'ROC AUC'],
    labels.map((l) => {
      const m = report.perClass[l];
      return [
        l,
        fmt(m?.precision ?? null),
        fmt(m?.recall ?? null),
        fmt(m?.f1 ?? null),
        String(m?.support ?? 0),
        fmt(report.rocAuc[l] ?? null),
      ];
    }),
  );
  const roc = lineChart(
    'One-vs-rest ROC',
    'false positive rate',
    'true positive rate',
    labels.map((l) => ({
      name: `${l} (AUC ${fmt(report.rocAuc[l] ?? null)})`,
      points: (report.roc[l] ?? []).map((p): [number, number] => [p.fpr, p.tpr]),
    })),
    true,
  );
  const title = `Expression model report: ${meta.modelName}`;
  return page(
    title,
    `<h1>${escapeHtml(title)}</h1>
${head}
<h2>Per class</h2>
<p>Ratios with a zero denominator are shown as 0; macro-F1 averages all classes, including any absent from the data.</p>
${perClass}
<h2>Confusion matrix</h2>
${confusionSvg(labels, report.confusion.counts, report.confusion.normalized)}
<h2>ROC curves</h2>
<p>AUC is n/a for a class with no positive or no negative samples.</p>
${roc}`,
  );
}

export function renderDetectorReportHtml(ev: DetectionEvaluation, meta: ReportMeta): string {
  const head = summary(meta, [
    ['Images', String(ev.images)],
    [`GT faces (height >= ${ev.minFace} px, valid)`, String(ev.gtFaces)],
    ['Ignored GT faces', String(ev.ignoredFaces)],
    [`AP @ IoU ${ev.iou}`, fmt(ev.ap50)],
    [`Recall @ score ${ev.scoreThreshold}`, fmt(ev.recall)],
    [`Precision @ score ${ev.scoreThreshold}`, fmt(ev.precision)],
    [`FP / image @ score ${ev.scoreThreshold}`, fmt(ev.fpPerImage)],
  ]);
  const pr = lineChart(
    'Precision / recall',
    'recall',
    'precision',
    [{ name: `AP ${fmt(ev.ap50)}`, points: ev.pr.map((p): [number, number] => [p.recall, p.precision]) }],
    false,
  );
  const title = `Face detector report: ${meta.modelName}`;
  return page(title, `<h1>${escapeHtml(title)}</h1>\n${head}\n<h2>PR curve</h2>\n${pr}`);
}
