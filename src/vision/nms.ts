// Greedy non-maximum suppression over axis-aligned boxes.
import type { Rect } from './image.js';

export function iou(a: Rect, b: Rect): number {
  const x0 = Math.max(a.x, b.x);
  const y0 = Math.max(a.y, b.y);
  const x1 = Math.min(a.x + a.width, b.x + b.width);
  const y1 = Math.min(a.y + a.height, b.y + b.height);
  const inter = Math.max(0, x1 - x0) * Math.max(0, y1 - y0);
  const union = a.width * a.height + b.width * b.height - inter;
  return union > 0 ? inter / union : 0;
}

/** Returns the indices kept, best score first. `order` must be sorted by descending score. */
export function nms(boxes: Rect[], order: number[], iouThreshold: number, maxKeep = Infinity): number[] {
  const keep: number[] = [];
  for (const i of order) {
    if (keep.length >= maxKeep) break;
    const b = boxes[i]!;
    if (keep.every((k) => iou(boxes[k]!, b) <= iouThreshold)) keep.push(i);
  }
  return keep;
}
