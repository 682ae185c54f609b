// deploy/systemd/install.sh and uninstall.sh for real, into a throwaway root: a temporary folder holding
// copies of this machine's account files (what a debootstrap root has), so useradd/usermod/userdel
// --prefix and systemctl --root work on it exactly as on a box, and the host is never touched.
// Under --root the script installs no Debian packages and runs no build: it copies this (built) checkout.
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/paths.js';

const INSTALL = join(ROOT, 'deploy', 'systemd', 'install.sh');
const UNINSTALL = join(ROOT, 'deploy', 'systemd', 'uninstall.sh');
const tmp = mkdtempSync(join(tmpdir(), 'ea-install-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function sh(cmd: string, args: string[]): { code: number | null; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

function makeRoot(name: string): string {
  const root = join(tmp, name);
  mkdirSync(join(root, 'etc'), { recursive: true });
  // The shadow files are readable by root only; useradd needs them, a dry run does not.
  const files = process.getuid?.() === 0 ? ['passwd', 'group', 'shadow', 'gshadow'] : ['passwd', 'group'];
  for (const f of files) copyFileSync(join('/etc', f), join(root, 'etc', f));
  return root;
}

/** Every path under `dir` with its size and mode: what "nothing changed" compares. */
function snapshot(dir: string): string {
  return sh('find', [dir, '-printf', '%p %s %m\n']).out.split('\n').sort().join('\n');
}

const entry = (root: string, file: string, name: string): string[] | undefined =>
  readFileSync(join(root, 'etc', file), 'utf8')
    .split('\n')
    .map((l) => l.split(':'))
    .find((f) => f[0] === name);

describe('install.sh and uninstall.sh', () => {
  it('are clean under shellcheck, with the balena helpers and the setup and demo-media scripts', () => {
    const scripts = [
      INSTALL,
      UNINSTALL,
      join(ROOT, 'deploy', 'balena', 'start.sh'),
      join(ROOT, 'deploy', 'balena', 'assemble.sh'),
      join(ROOT, 'scripts', 'setup.sh'),
      join(ROOT, 'scripts', 'make-demo-media.sh'),
    ];
    expect(sh('shellcheck', scripts)).toEqual({ code: 0, out: '' });
  });

  it('--dry-run prints every action and changes nothing', () => {
    const root = makeRoot('dry');
    const before = snapshot(root);
    const r = sh(INSTALL, ['--dry-run', '--root', root]);
    expect(r.code, r.out).toBe(0);
    expect(snapshot(root)).toBe(before);
    for (const action of [
      '+ useradd --prefix',
      `+ install -m 0640 -o 0 -g emotion-agent ${ROOT}/config/example.json ${root}/etc/emotion-agent/agent.json`,
      `+ install -D -m 0644`,
      `+ systemctl --root=${root} enable emotion-agent.service`,
    ]) {
      expect(r.out).toContain(action);
    }
    // Without --root it would build with scripts/setup.sh first (still changing nothing here).
    const host = sh(INSTALL, ['--dry-run']);
    expect(host.code, host.out).toBe(0);
    expect(host.out).toMatch(/^\+ bash \S+\/scripts\/setup\.sh --quiet/m);
  });

  // useradd --prefix and the chown to root need root, as a real install does.
  describe.skipIf(process.getuid?.() !== 0)(
    'into a throwaway root (no apt, no build: the checkout as built; needs root)',
    () => {
      let root: string;
      let first: { code: number | null; out: string };
      let hostPasswd: string;
      beforeAll(() => {
        hostPasswd = readFileSync('/etc/passwd', 'utf8');
        root = makeRoot('box');
        first = sh(INSTALL, ['--root', root]);
      }, 300_000);
      const at = (p: string): string => join(root, p);

      it('adds the system user, with the video group, to the root only', () => {
        expect(first.code, first.out).toBe(0);
        const user = entry(root, 'passwd', 'emotion-agent');
        expect(user?.[5]).toBe('/var/lib/emotion-agent');
        expect(user?.[6]).toBe('/usr/sbin/nologin');
        expect(entry(root, 'group', 'video')?.[3]?.split(',')).toContain('emotion-agent');
        // The host's own account file is untouched.
        expect(readFileSync('/etc/passwd', 'utf8')).toBe(hostPasswd);
      });

      it('lays out the application, configuration, credentials, state and an enabled unit', () => {
        const gid = Number(entry(root, 'group', 'emotion-agent')?.[2]);
        const uid = Number(entry(root, 'passwd', 'emotion-agent')?.[2]);
        const conf = statSync(at('etc/emotion-agent/agent.json'));
        expect([conf.mode & 0o777, conf.uid, conf.gid]).toEqual([0o640, 0, gid]);
        expect(readFileSync(at('etc/emotion-agent/agent.json'), 'utf8')).toBe(
          readFileSync(join(ROOT, 'config', 'example.json'), 'utf8'),
        );
        for (const c of ['mqtt-password', 'http-token']) {
          const s = statSync(at(`etc/emotion-agent/credentials/${c}`));
          expect([s.mode & 0o777, s.uid, s.size]).toEqual([0o600, 0, 0]);
        }
        const state = statSync(at('var/lib/emotion-agent'));
        expect([state.mode & 0o777, state.uid, state.gid]).toEqual([0o750, uid, gid]);
        expect(readlinkSync(at('usr/local/bin/emotion-agent'))).toBe('/opt/emotion-agent/bin/emotion-agent.js');
        expect(readlinkSync(at('etc/systemd/system/multi-user.target.wants/emotion-agent.service'))).toBe(
          '/etc/systemd/system/emotion-agent.service',
        );
        const unit = readFileSync(at('etc/systemd/system/emotion-agent.service'), 'utf8');
        expect(unit).toMatch(/^ExecStart=\/\S+\/node \/opt\/emotion-agent\/bin\/emotion-agent\.js run$/m);
        expect(sh('systemd-analyze', ['verify', '--man=no', at('etc/systemd/system/emotion-agent.service')])).toEqual({
          code: 0,
          out: '',
        });
        // Production packages only, and ONNX Runtime's binaries for this platform only.
        expect(existsSync(at('opt/emotion-agent/node_modules/vitest'))).toBe(false);
        expect(existsSync(at('opt/emotion-agent/node_modules/onnxruntime-node/bin/napi-v6/win32'))).toBe(false);
      });

      it('the installed copy runs on its own: it analyses the demo clip from the production packages', () => {
        const app = at('opt/emotion-agent');
        const r = spawnSync(
          process.execPath,
          [
            join(app, 'bin', 'emotion-agent.js'),
            'analyze',
            join(app, 'var', 'demo', 'demo.mp4'),
            '--max-frames',
            '2',
            '--json',
          ],
          { cwd: tmp, encoding: 'utf8', timeout: 120_000 },
        );
        expect(r.status, r.stderr).toBe(0);
        const frames = r.stdout
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { faces: unknown[] });
        expect(frames).toHaveLength(2);
        expect(frames[0]!.faces.length).toBeGreaterThan(0);
      });

      it('a second run upgrades in place and never overwrites the configuration or a credential', () => {
        writeFileSync(
          at('etc/emotion-agent/agent.json'),
          '{ "cameras": [ { "id": "mine", "source": "/dev/video0" } ] }\n',
        );
        writeFileSync(at('etc/emotion-agent/credentials/mqtt-password'), 'hunter22\n');
        writeFileSync(at('opt/emotion-agent/stale-file'), 'from an older version');
        const again = sh(INSTALL, ['--root', root]);
        expect(again.code, again.out).toBe(0);
        expect(again.out).toContain('keeping the existing');
        expect(again.out).toContain('unit unchanged');
        expect(again.out).not.toContain('+ useradd');
        expect(again.out).not.toContain('+ usermod');
        expect(readFileSync(at('etc/emotion-agent/agent.json'), 'utf8')).toContain('"mine"');
        expect(readFileSync(at('etc/emotion-agent/credentials/mqtt-password'), 'utf8')).toBe('hunter22\n');
        expect(readFileSync(at('etc/passwd'), 'utf8').match(/^emotion-agent:/gm)).toHaveLength(1);
        // The application is replaced whole: nothing stale, nothing half-staged.
        expect(existsSync(at('opt/emotion-agent/stale-file'))).toBe(false);
        expect(existsSync(at('opt/emotion-agent.new')) || existsSync(at('opt/emotion-agent.old'))).toBe(false);
      }, 300_000);

      it('uninstall keeps configuration, state and user; --purge removes them', () => {
        const keep = sh(UNINSTALL, ['--root', root]);
        expect(keep.code, keep.out).toBe(0);
        for (const gone of [
          'opt/emotion-agent',
          'etc/systemd/system/emotion-agent.service',
          'etc/systemd/system/multi-user.target.wants/emotion-agent.service',
        ]) {
          expect(existsSync(at(gone)), gone).toBe(false);
        }
        expect(() => lstatSync(at('usr/local/bin/emotion-agent'))).toThrow();
        expect(readFileSync(at('etc/emotion-agent/agent.json'), 'utf8')).toContain('"mine"');
        expect(existsSync(at('var/lib/emotion-agent'))).toBe(true);
        expect(entry(root, 'passwd', 'emotion-agent')).toBeDefined();

        const purge = sh(UNINSTALL, ['--root', root, '--purge']);
        expect(purge.code, purge.out).toBe(0);
        expect(existsSync(at('etc/emotion-agent'))).toBe(false);
        expect(existsSync(at('var/lib/emotion-agent'))).toBe(false);
        expect(entry(root, 'passwd', 'emotion-agent')).toBeUndefined();
        expect(entry(root, 'group', 'emotion-agent')).toBeUndefined();
      });
    },
  );
});
