// Shared test locations: npm-shipped sample photos (real people) and the read-only shared data.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const SAMPLES = join(ROOT, 'node_modules', '@vladmandic', 'face-api', 'demo');
export const sample = (i: number): string => join(SAMPLES, `sample${i}.jpg`);
export const SHARED = resolve(ROOT, '..', 'shared', 'data');
export const hasShared = existsSync(SHARED);
export const MODELS = join(ROOT, 'models');

/** tsx's loader, for `node --import <TSX>` children that run the TypeScript sources. */
export const TSX = pathToFileURL(join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
