// deploy/systemd/emotion-agent.service: checked by systemd's own tools (verify, security) and its
// environment loaded by the real configuration loader.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { mallocHint } from '../../src/cli/run.js';
import { ROOT } from '../helpers/paths.js';

const UNIT = join(ROOT, 'deploy', 'systemd', 'emotion-agent.service');
const tmp = mkdtempSync(join(tmpdir(), 'ea-unit-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/**
 * `systemd-analyze verify` fails when ExecStart's binary is not executable (the script it runs is only an
 * argument and is not checked). The unit names /usr/bin/node, as NodeSource installs it and as
 * install.sh rewrites it to whatever node it finds, so the copy verified here names the node running
 * this test. Under its own name: verify derives the unit type from the file name.
 */
function verifiable(text: string, name = 'emotion-agent.service'): string {
  const file = join(tmp, name);
  writeFileSync(file, text.replace(/^ExecStart=\/usr\/bin\/node /m, `ExecStart=${process.execPath} `));
  return file;
}

function verify(file: string): { code: number | null; output: string } {
  // --man=no: the Documentation= link is a file: URL, not a man page.
  const r = spawnSync('systemd-analyze', ['verify', '--man=no', file], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

/** Every `Key=value` of the unit, in order (keys repeat: Environment=, DeviceAllow=). */
function entries(text: string): [string, string][] {
  return text
    .split('\n')
    .filter((l) => /^[A-Za-z]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]);
}

describe('emotion-agent.service', () => {
  const text = readFileSync(UNIT, 'utf8');

  it('passes systemd-analyze verify without a single warning', () => {
    expect(verify(verifiable(text))).toEqual({ code: 0, output: '' });
  });

  it('verify does catch mistakes (the check above can fail)', () => {
    const typo = verify(verifiable(text.replace('ProtectSystem=strict', 'ProtectSytem=strict'), 'typo.service'));
    expect(typo.output).toMatch(/Unknown key name 'ProtectSytem'|Unknown key 'ProtectSytem'/);
    const missing = verify(
      verifiable(text.replace(/^ExecStart=\/usr\/bin\/node /m, 'ExecStart=/nonexistent/node '), 'missing.service'),
    );
    expect(missing.code).not.toBe(0);
  });

  it('is hardened: systemd-analyze security rates its exposure 3.0 or lower', () => {
    const r = spawnSync('systemd-analyze', ['security', '--offline=yes', '--no-pager', verifiable(text)], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    const m = /Overall exposure level for emotion-agent\.service: ([\d.]+)/.exec(r.stdout);
    expect(m, r.stdout + r.stderr).not.toBeNull();
    expect(Number(m![1])).toBeLessThanOrEqual(3.0);
  });

  it('is a notify service with a watchdog that the agent can feed, and keeps the JIT working', () => {
    const e = entries(text);
    const get = (k: string): string[] => e.filter(([key]) => key === k).map(([, v]) => v);
    expect(get('Type')).toEqual(['notify']);
    // systemd-notify (a child) sends the messages; NotifyAccess=main would drop them.
    expect(get('NotifyAccess')).toEqual(['all']);
    expect(get('WatchdogSec')).toHaveLength(1);
    expect(get('Restart')).toEqual(['always']);
    expect(get('User')).toEqual(['emotion-agent']);
    expect(get('DeviceAllow')).toContain('char-video4linux rw');
    expect(get('MemoryDenyWriteExecute')).toEqual([]);
  });

  it('its environment is a valid configuration that writes only into the StateDirectory', () => {
    const env: Record<string, string> = {};
    for (const [k, v] of entries(text)) {
      if (k === 'Environment') env[v.slice(0, v.indexOf('='))] = v.slice(v.indexOf('=') + 1);
    }
    expect(env.EMOTION_AGENT_CONFIG).toBe('/etc/emotion-agent/agent.json');
    // As systemd would run it: the example configuration install.sh puts there, its camera password as
    // a credential.
    const creds = join(tmp, 'credentials');
    mkdirSync(creds, { recursive: true });
    writeFileSync(join(creds, 'entrance.pass'), 'secret-pass\n');
    const cfg = loadConfig({
      env: { ...env, EMOTION_AGENT_CONFIG: join(ROOT, 'config', 'example.json'), CREDENTIALS_DIRECTORY: creds },
    });
    const state = '/var/lib/emotion-agent/';
    expect(cfg.outbox.path.startsWith(state)).toBe(true);
    expect(cfg.models.update.dir.startsWith(state)).toBe(true);
    expect(cfg.log.pretty).toBe(false);
    // The daemon's own hint (src/cli/run.ts) stays quiet under the unit: glibc's threshold is pinned.
    expect(env.MALLOC_MMAP_THRESHOLD_).toBe('131072');
    expect(mallocHint(env, 'linux')).toBeNull();
    expect(mallocHint({}, 'linux')).toMatch(/MALLOC_MMAP_THRESHOLD_ is not set/);
  });
});
