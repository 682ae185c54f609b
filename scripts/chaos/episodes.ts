// What goes wrong during a chaos run, and when: a seeded sequence of episodes. The first ones go through
// every kind once (in a seeded order) so that even a short run sees each; after that the kind is drawn
// by weight. Each episode breaks something and mends it before the next starts, so every break is
// survivable by design and anything lost is the agent's fault.
import { join } from 'node:path';
import { push } from '../../src/cli/models-push.js';
import { shippedVariant, withNaNOnRealImages } from '../../test/models/fixtures.js';
import type { ChaosAgent } from './agent.js';
import type { World } from './world.js';

export type EpisodeKind = 'broker' | 'camera' | 'disk' | 'kill' | 'push-good' | 'push-bad' | 'push-older';
const WEIGHTS: Record<EpisodeKind, number> = {
  broker: 2,
  camera: 2,
  disk: 2,
  kill: 1.5,
  'push-good': 1,
  'push-bad': 0.7,
  'push-older': 0.7,
};

/** How a push ended, from its output: activated (and kept), rolled back after activation, refused, failed, or no end seen in time. */
export type PushEnd = 'activated' | 'rolled_back' | 'refused' | 'failed' | 'timeout';
export interface PushOutcome {
  kind: EpisodeKind;
  version: string;
  ok: boolean;
  end: PushEnd;
  expected: PushEnd[];
  lines: string[];
}

const EXPECTED: Partial<Record<EpisodeKind, PushEnd[]>> = {
  'push-good': ['activated'],
  // NaN only on real faces passes validation: activated, then rolled back by the device.
  'push-bad': ['rolled_back'],
  'push-older': ['refused'],
};

function pushEnd(ok: boolean, lines: string[]): PushEnd {
  const text = lines.join('\n');
  if (ok) return 'activated';
  if (/ rolled_back /.test(text)) return 'rolled_back';
  if (/ refused: /.test(text)) return 'refused';
  if (/did not finish within/.test(text)) return 'timeout';
  return 'failed';
}
export interface EpisodeLog {
  kind: EpisodeKind;
  at: string;
  detail: string;
}

export interface EpisodeContext {
  world: World;
  agent: ChaosAgent;
  rand: () => number;
  dir: string;
  privateKey: string;
  deviceId: string;
  /** Readiness as /readyz says it (for the disk-full episode's check). */
  ready: () => Promise<boolean | null>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class Episodes {
  readonly log: EpisodeLog[] = [];
  readonly pushes: PushOutcome[] = [];
  /** Disk-full episodes in which /readyz said "not ready" while the outbox could not write. */
  readonly diskFullReadiness: { notReady: number; checked: number } = { notReady: 0, checked: 0 };
  private readonly firstRound: EpisodeKind[];
  private major = 1;

  constructor(private readonly c: EpisodeContext) {
    const kinds = (Object.keys(WEIGHTS) as EpisodeKind[]).filter((k) => k !== 'disk' || c.world.tmpfs);
    this.firstRound = kinds
      .map((k) => ({ k, r: c.rand() }))
      .sort((a, b) => a.r - b.r)
      .map((x) => x.k);
  }

  private between(lo: number, hi: number): number {
    return lo + (hi - lo) * this.c.rand();
  }

  private next(): EpisodeKind {
    const first = this.firstRound.shift();
    if (first) return first;
    const kinds = (Object.keys(WEIGHTS) as EpisodeKind[]).filter((k) => k !== 'disk' || this.c.world.tmpfs);
    let r = this.c.rand() * kinds.reduce((a, k) => a + WEIGHTS[k], 0);
    for (const k of kinds) if ((r -= WEIGHTS[k]) < 0) return k;
    return kinds[0]!;
  }

  /** Runs episodes, with seeded pauses between them, until `endAt`. */
  async run(endAt: number): Promise<void> {
    while (Date.now() < endAt) {
      const kind = this.next();
      // A harness failure (a helper that did not come back) is logged and the run goes on: the reckoning
      // still counts every window, and a broken world shows there.
      const detail = await this.play(kind).catch((err: Error) => `episode failed: ${err.message}`);
      this.log.push({ kind, at: new Date().toISOString(), detail });
      console.error(`chaos: ${kind}: ${detail}`);
      await sleep(this.between(2000, 8000));
    }
  }

  private async play(kind: EpisodeKind): Promise<string> {
    const { world, agent } = this.c;
    switch (kind) {
      case 'broker': {
        const down = this.between(4000, 20_000);
        await world.broker.stop();
        await sleep(down);
        await world.broker.restart();
        return `broker down ${Math.round(down / 1000)} s`;
      }
      case 'camera': {
        const down = this.between(3000, 15_000);
        await world.rtsp.kill();
        await sleep(down);
        await world.rtsp.restart();
        return `RTSP camera down ${Math.round(down / 1000)} s`;
      }
      case 'disk': {
        const full = this.between(8000, 25_000);
        const bytes = world.fill();
        // A window closes every 5 s: after 7 s one has met the full disk.
        await sleep(7000);
        const ready = await this.c.ready();
        if (ready !== null) {
          this.diskFullReadiness.checked += 1;
          if (!ready) this.diskFullReadiness.notReady += 1;
        }
        await sleep(Math.max(0, full - 7000));
        world.free();
        return `outbox disk full ${Math.round(full / 1000)} s (filler ${bytes} bytes), /readyz ${ready === null ? 'unreachable' : ready ? 'ready' : 'not ready'}`;
      }
      case 'kill': {
        await agent.stop('SIGKILL');
        await sleep(this.between(500, 3000));
        agent.start();
        return 'agent SIGKILLed and restarted';
      }
      default:
        return this.push(kind);
    }
  }

  /** good: a newer version (activates); bad: NaN on real faces (activates, then rolls back); older: a downgrade (refused). */
  private async push(kind: EpisodeKind): Promise<string> {
    const version = kind === 'push-older' ? '0.0.1' : `${++this.major}.0.0`;
    const dir = join(this.c.dir, 'bundles', `${kind}-${version}`);
    const edit =
      kind === 'push-bad'
        ? (_m: Record<string, unknown>, b: Uint8Array): Uint8Array => withNaNOnRealImages(b)
        : undefined;
    await shippedVariant(
      dir,
      kind === 'push-bad' ? 'emotion-fp32' : 'emotion-int8',
      version,
      this.c.privateKey,
      edit,
      2,
    );
    const lines: string[] = [];
    const ok = await push(
      dir,
      {
        broker: this.c.world.broker.url.replace('mqtt://', 'mqtt://chaos:chaos-watch@'),
        device: this.c.deviceId,
        prefix: 'emotion-agent',
        timeout: 300,
        replyWaitS: 1,
        settleS: kind === 'push-good' ? 5 : 20,
      },
      (l) => lines.push(l),
    ).catch((err: Error) => {
      lines.push(`push failed: ${err.message}`);
      return false;
    });
    const end = pushEnd(ok, lines);
    this.pushes.push({ kind, version, ok, end, expected: EXPECTED[kind] ?? [], lines });
    return `${version}: ${end} (${lines.at(-1) ?? ''})`;
  }
}
