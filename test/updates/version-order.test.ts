// The downgrade rule (src/updates/version-order.ts): semantic version order, and when a lower version may replace a higher one.
import { describe, expect, it } from 'vitest';
import { compareVersions, downgradeRefusal } from '../../src/updates/version-order.js';

describe('version order', () => {
  it('orders semantic versions numerically, pre-releases before their release, build metadata ignored', () => {
    const sorted = [
      '0.9.0',
      '1.0.0-alpha',
      '1.0.0-alpha.1',
      '1.0.0-alpha.beta',
      '1.0.0-beta.2',
      '1.0.0-beta.11',
      '1.0.0-rc.1',
      '1.0.0',
      '1.2.0',
      '1.10.0',
      '2.0.0',
    ];
    for (let i = 1; i < sorted.length; i++)
      expect(compareVersions(sorted[i - 1]!, sorted[i]!), `${sorted[i - 1]} < ${sorted[i]}`).toBe(-1);
    expect(compareVersions('1.3.2+build.5', '1.3.2')).toBe(0);
    expect(compareVersions('unknown', '1.0.0')).toBeNull();
  });

  it('refuses a lower version unless both the signed manifest and the command allow it', () => {
    expect(downgradeRefusal('1.3.3', '1.3.2', false, false)).toBeNull();
    expect(downgradeRefusal('1.3.2', '1.3.2', false, false)).toBeNull();
    expect(downgradeRefusal('1.2.0', '1.3.2', false, false)).toMatch(
      /1\.2\.0 is lower than the serving 1\.3\.2.*args\.allowDowngrade.*signed manifest/,
    );
    expect(downgradeRefusal('1.2.0', '1.3.2', true, false)).toMatch(/command does not say/);
    expect(downgradeRefusal('1.2.0', '1.3.2', false, true)).toMatch(/signed manifest does not carry/);
    expect(downgradeRefusal('1.2.0', '1.3.2', true, true)).toBeNull();
  });
});
