import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  LABEL_SYNONYMS,
  labelForFolder,
  loadClassFolders,
  loadFer2013Csv,
  readLinesSync,
} from '../../src/evaluate/datasets.js';

const root = mkdtempSync(join(tmpdir(), 'evalds-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function tree(name: string, files: string[]): string {
  const dir = join(root, name);
  for (const f of files) {
    mkdirSync(join(dir, f, '..'), { recursive: true });
    writeFileSync(join(dir, f), 'x');
  }
  return dir;
}

describe('loadClassFolders', () => {
  it('maps synonyms case-insensitively, filters extensions, recurses, sorts', () => {
    const dir = tree('ok', [
      'Happy/b.JPG',
      'happiness/a.png',
      'Anger/z.jpeg',
      'scared/sub/c.webp',
      'neutral/d.bmp',
      'neutral/notes.txt',
      'neutral/.hidden.jpg',
      'README.md',
      '.cache/x.jpg',
    ]);
    const got = loadClassFolders(dir);
    expect(got).toEqual([
      { path: join(dir, 'Anger/z.jpeg'), label: 0 },
      { path: join(dir, 'Happy/b.JPG'), label: 3 },
      { path: join(dir, 'happiness/a.png'), label: 3 },
      { path: join(dir, 'neutral/d.bmp'), label: 6 },
      { path: join(dir, 'scared/sub/c.webp'), label: 2 },
    ]);
  });

  it('every synonym maps to a canonical label; calm is not accepted', () => {
    expect(labelForFolder(' Surprised ')).toBe(5);
    expect(labelForFolder('DISGUSTED')).toBe(1);
    expect(labelForFolder('joy')).toBe(3);
    expect(labelForFolder('calm')).toBeUndefined();
    expect(labelForFolder('constructor')).toBeUndefined();
    expect(new Set(Object.values(LABEL_SYNONYMS))).toEqual(new Set([0, 1, 2, 3, 4, 5, 6]));
  });

  it('missing folder error names it', () => {
    const missing = join(root, 'does-not-exist');
    expect(() => loadClassFolders(missing)).toThrow(missing);
  });

  it('unknown class folder error names it and lists accepted names', () => {
    const dir = tree('unknown', ['happy/a.jpg', 'Contempt/b.jpg']);
    expect(() => loadClassFolders(dir)).toThrow(/unknown class folder 'Contempt'/);
    expect(() => loadClassFolders(dir)).toThrow(/accepted names.*angry, anger, disgust/);
    expect(loadClassFolders(dir, { ignoreFolders: ['contempt'] })).toHaveLength(1);
  });

  it('a dataset without images is an error', () => {
    const dir = tree('empty', ['sad/readme.txt']);
    expect(() => loadClassFolders(dir)).toThrow(dir);
  });
});

const pix = (v: number): string => new Array<string>(2304).fill(String(v)).join(' ');

describe('loadFer2013Csv', () => {
  function csv(name: string, body: string): string {
    const p = join(root, name);
    writeFileSync(p, body);
    return p;
  }

  it('parses rows, filters by usage, keeps line numbers', () => {
    const p = csv(
      'fer.csv',
      `emotion,pixels,Usage\r\n0,${pix(0)},Training\r\n3,${pix(255)},PublicTest\r\n6,"${pix(7)}",PrivateTest\r\n`,
    );
    const all = loadFer2013Csv(p);
    expect(all.map((s) => [s.label, s.usage, s.line])).toEqual([
      [0, 'Training', 2],
      [3, 'PublicTest', 3],
      [6, 'PrivateTest', 4],
    ]);
    expect(all[1]?.pixels).toBeInstanceOf(Uint8Array);
    expect(all[1]?.pixels.length).toBe(2304);
    expect(all[1]?.pixels.every((v) => v === 255)).toBe(true);
    expect(all[2]?.pixels[2303]).toBe(7);
    const pub = loadFer2013Csv(p, { usage: 'PublicTest' });
    expect(pub).toHaveLength(1);
    expect(pub[0]).toMatchObject({ label: 3, width: 48, height: 48 });
  });

  it.each([
    ['emotion index out of range', `7,${pix(1)},Training`, /emotion '7'/],
    ['non-numeric emotion', `x,${pix(1)},Training`, /emotion 'x'/],
    ['too few pixels', `1,1 2 3,Training`, /expected 2304 pixels, found 3/],
    ['pixel > 255', `1,${pix(256)},Training`, /> 255/],
    ['bad character', `1,${pix(1).replace('1', '1.5')},Training`, /unexpected character/],
    ['unknown usage', `1,${pix(1)},Validation`, /Usage 'Validation'/],
    ['missing field', `1,${pix(1)}`, /expected 3 fields, found 2/],
  ])('malformed row (%s) names file and line', (_what, row, msg) => {
    const p = csv('bad.csv', `emotion,pixels,Usage\n0,${pix(0)},Training\n${row}\n`);
    expect(() => loadFer2013Csv(p)).toThrow(`${p}:3: `);
    expect(() => loadFer2013Csv(p)).toThrow(msg);
  });

  it('bad header, empty file and missing file name the file', () => {
    const h = csv('hdr.csv', 'label,data\n');
    expect(() => loadFer2013Csv(h)).toThrow(`${h}:1: expected header`);
    const e = csv('empty.csv', '');
    expect(() => loadFer2013Csv(e)).toThrow(`${e}: empty file`);
    const m = join(root, 'missing.csv');
    expect(() => loadFer2013Csv(m)).toThrow(m);
  });

  it('reads lines across chunk boundaries, including multi-byte characters', () => {
    const p = csv('lines.txt', 'héllo\r\nwörld\n\nlast');
    expect([...readLinesSync(p, 3)]).toEqual(['héllo', 'wörld', '', 'last']);
  });
});
