// Where the shipped bundles live, and which one each task uses by default (models/defaults.json).
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Task } from './manifest.js';

/** The package root: src/models and dist/models both sit two levels below it. */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const MODELS_DIR = join(PACKAGE_ROOT, 'models');

export function defaultBundleDir(task: Task): string {
  const defaults = JSON.parse(readFileSync(join(MODELS_DIR, 'defaults.json'), 'utf8')) as Record<Task, string>;
  return join(MODELS_DIR, defaults[task]);
}

export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}
