// The dependency-rule checker (scripts/check-cycles.ts) on small made-up trees: it must see every
// form of import, find cycles between folders and between files, and flag imports of the root.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkLayers, cyclesOf, importsOf, readSources } from '../../scripts/check-cycles.js';
import { ROOT } from '../helpers/paths.js';

describe('importsOf', () => {
  it('sees value, type-only, re-export, dynamic and import-type references', () => {
    const text = [
      "import { a } from './a.js';",
      "import type { B } from '../b/b.js';",
      "export { c } from './c.js';",
      "export type * from './d.js';",
      "const e = await import('./e.js');",
      "let f: import('./f.js').F;",
      "import g = require('./g.js');",
      "import 'node:fs';",
    ].join('\n');
    expect(importsOf('x/x.ts', text).map((r) => r.spec)).toEqual([
      './a.js',
      '../b/b.js',
      './c.js',
      './d.js',
      './e.js',
      './f.js',
      './g.js',
      'node:fs',
    ]);
    expect(importsOf('x/x.ts', text)[1]).toEqual({ spec: '../b/b.js', line: 2 });
  });
});

describe('cyclesOf', () => {
  it('returns each strongly connected component of two or more nodes, and self-loops', () => {
    const g = new Map([
      ['a', new Set(['b'])],
      ['b', new Set(['c'])],
      ['c', new Set(['a'])],
      ['d', new Set(['d', 'a'])],
      ['e', new Set<string>()],
    ]);
    expect(cyclesOf(g)).toEqual([['a', 'b', 'c'], ['d']]);
  });
});

describe('checkLayers', () => {
  it('accepts a layered tree', () => {
    const files = new Map([
      ['app.ts', "import { x } from './low/x.js'; import { y } from './high/y.js';"],
      ['high/y.ts', "import type { X } from '../low/x.js';"],
      ['low/x.ts', "import { z } from './z.js';"],
      ['low/z.ts', "import { readFileSync } from 'node:fs';"],
      ['cli/run.ts', "import { x } from '../app.js';"],
    ]);
    expect(checkLayers(files)).toEqual([]);
  });

  it('reports a type-only cycle between folders, a cycle between files, and a folder importing the root', () => {
    const files = new Map([
      ['app.ts', ''],
      ['low/x.ts', "import type { Y } from '../high/y.js';"],
      ['high/y.ts', "import { x } from '../low/x.js';\nimport { a } from './a.js';"],
      ['high/a.ts', "import type { Y } from './y.js';\nimport { r } from '../app.js';"],
      ['low/c.ts', "import { Run } from '../cli/run.js';"],
    ]);
    const problems = checkLayers(files);
    expect(problems).toContain('high/a.ts:2 imports the composition root app.js');
    expect(problems).toContain('low/c.ts:1 imports the composition root cli/run.js');
    expect(problems).toContain(
      'folder cycle high <-> low, through:\n  high -> low (high/y.ts:1…)\n  low -> high (low/x.ts:1…)',
    );
    expect(problems).toContain('file cycle high/a <-> high/y');
    expect(problems).toHaveLength(4);
  });

  it('holds for src/ itself (what `npm run check:cycles` checks)', () => {
    expect(checkLayers(readSources(join(ROOT, 'src')))).toEqual([]);
  });
});
