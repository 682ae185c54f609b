// `emotion-agent run` as a real process: the demo default, SIGTERM mid-window, configuration errors,
// and `config --print/--schema`.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, TSX } from './helpers/paths.js';

const CLI = join(ROOT, 'src', 'cli.ts');
const tmp = mkdtempSync(join(tmpdir(), 'ea-run-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The environment without any EMOTION_AGENT_* setting of the developer's shell. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('EMOTION_AGENT_')));
  // Any free port for the health endpoint: a developer's running agent may hold 8090.
  return { ...env, EMOTION_AGENT_HTTP_PORT: '0', ...extra };
}

function cli(
  args: string[],
  env: NodeJS.ProcessEnv = cleanEnv(),
): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', TSX, CLI, ...args], {
    cwd: tmp,
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The demo daemon, once its camera streams and `settleMs` more have passed (frames being analysed). */
async function demoStreaming(
  logLevel: string,
  settleMs: number,
): Promise<{ child: ChildProcess; out: { stdout: string; stderr: string }; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, ['--import', TSX, CLI, 'run', '--log-level', logLevel], {
    cwd: tmp,
    env: cleanEnv({ EMOTION_AGENT_INFERENCE_THREADS: '1' }),
  });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d: Buffer) => {
    out.stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    out.stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const t0 = Date.now();
  while (!out.stderr.includes('"state":"streaming"') && Date.now() - t0 < 60_000)
    await new Promise((r) => setTimeout(r, 200));
  await new Promise((r) => setTimeout(r, settleMs));
  return { child, out, exited };
}

/** A count over all the windows a run printed. */
function sum<K extends string>(windows: Record<K, number>[], key: K): number {
  return windows.reduce((n, w) => n + w[key], 0);
}

describe('emotion-agent run', () => {
  it('with no configuration runs the demo, and SIGTERM mid-window flushes a partial window and exits 0 within 10 s', async () => {
    const { child, out, exited } = await demoStreaming('info', 3000);
    const stderr = out.stderr;
    expect(stderr).toContain('emotion-agent demo: no configuration given');
    const tKill = Date.now();
    child.kill('SIGTERM');
    const code = await exited;
    expect(code).toBe(0);
    expect(Date.now() - tKill).toBeLessThan(10_000);
    const windows = out.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map(
        (l) => JSON.parse(l) as { cameraId: string; partial: boolean; framesAnalysed: number; faceDetections: number },
      );
    const last = windows.at(-1)!;
    expect(last.cameraId).toBe('demo');
    expect(last.partial).toBe(true);
    // Summed: windows are aligned to the minute, so one may have closed a moment before the kill,
    // leaving the partial window only a frame or two.
    expect(sum(windows, 'framesAnalysed')).toBeGreaterThan(5);
    expect(sum(windows, 'faceDetections')).toBeGreaterThan(5);
    expect(out.stderr).toContain('"msg":"agent stopped"');
  }, 90_000);

  it("analyses without ever loading OpenCV (its ~100 MB of shared libraries stay out of the daemon), the detector reading the capture's copy", async () => {
    const { child, out, exited } = await demoStreaming('debug', 4000);
    const maps = readFileSync(`/proc/${child.pid}/maps`, 'utf8');
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    // Faces were found in those seconds (the demo clip has them), from the capture's copy...
    expect(out.stderr).toMatch(/"msg":"detector copy size"/);
    const windows = out.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { framesAnalysed: number; faceDetections: number });
    expect(sum(windows, 'framesAnalysed')).toBeGreaterThan(5); // every window of the run (see above)
    expect(sum(windows, 'faceDetections')).toBeGreaterThan(5);
    // ...and neither the binding nor any OpenCV library was ever mapped into the process.
    expect(maps).toContain('libonnxruntime');
    expect(maps).not.toMatch(/opencv/i);
  }, 90_000);

  it('a bad configuration stops the start with exit 78, naming every key at fault', () => {
    const file = join(tmp, 'bad.json');
    writeFileSync(
      file,
      JSON.stringify({
        inference: { threads: -1 },
        cameras: [{ id: 'Front Door', source: 'rtsp://x/y', fps: 0 }],
        colour: 'red',
      }),
    );
    const r = cli(['run', '--config', file]);
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/inference\.threads/);
    expect(r.stderr).toMatch(/cameras\[0\]\.id/);
    expect(r.stderr).toMatch(/cameras\[0\]\.fps/);
    expect(r.stderr).toMatch(/colour/);
  });

  it('a gstreamer camera without width/height is refused at validation (exit 78, naming the keys), not at run time', () => {
    const file = join(tmp, 'gst.json');
    writeFileSync(file, JSON.stringify({ cameras: [{ id: 'jetson', source: 'videotestsrc ! videoconvert' }] }));
    const r = cli(['run', '--config', file]);
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/cameras\[0\]\.width: required \(> 0\) for gstreamer sources/);
    expect(r.stderr).toMatch(/cameras\[0\]\.height/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
    expect(cli(['config', '--print', '--config', file]).code).toBe(78);
  });

  it('a missing configuration file is named (exit 78)', () => {
    const r = cli(['run', '--config', 'nope.json']);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('nope.json');
  });

  it('config --print shows the effective configuration with secrets redacted', () => {
    const secret = join(tmp, 'cam.pass');
    writeFileSync(secret, 'hunter22\n');
    const file = join(tmp, 'cams.json');
    writeFileSync(
      file,
      JSON.stringify({
        cameras: [
          { id: 'door', source: 'rtsp://10.0.0.5/s1', username: 'viewer', passwordFile: secret },
          { id: 'hall', source: 'rtsp://admin:letmein99@10.0.0.6/s1' },
        ],
      }),
    );
    const r = cli(['config', '--print', '--config', file]);
    expect(r.code).toBe(0);
    const cfg = JSON.parse(r.stdout) as { cameras: { id: string; password: string | null; source: string }[] };
    expect(cfg.cameras[0]!.password).toBe('***');
    expect(r.stdout).not.toContain('hunter22');
    expect(r.stdout).not.toContain('letmein99');
  });

  it('config --schema documents every key with its environment variable', () => {
    const r = cli(['config', '--schema']);
    expect(r.code).toBe(0);
    for (const k of ['cameras', 'aggregate.windowS', 'aggregate.minPeople', 'tracker.maxUnseenMs', 'shutdown.timeoutS'])
      expect(r.stdout).toContain(k);
    expect(r.stdout).toContain('EMOTION_AGENT_AGGREGATE_WINDOW_S');
  });
});
