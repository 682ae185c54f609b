// The agent as a real child process (`emotion-agent run` from the TypeScript sources, inference in its
// worker thread) and an MQTT observer of everything it publishes, for end-to-end tests that restart
// or SIGKILL the agent.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import type { CommandResponse, InfoPayload, ModelStatePayload, WindowPayload } from '../../src/mqtt/topics.js';
import { ROOT, TSX } from './paths.js';
import { waitFor } from './async.js';

export { waitFor };

const CLI = join(ROOT, 'src', 'cli.ts');

export class AgentProcess {
  private child: ChildProcess | undefined;
  output = '';

  constructor(
    private readonly env: Record<string, string>,
    private readonly cwd: string,
  ) {}

  start(): void {
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('EMOTION_AGENT_')));
    const child = spawn(process.execPath, ['--import', TSX, CLI, 'run'], {
      cwd: this.cwd,
      env: { ...base, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (d: Buffer) => {
      this.output = (this.output + d.toString()).slice(-200_000);
    });
    child.stderr.on('data', (d: Buffer) => {
      this.output = (this.output + d.toString()).slice(-200_000);
    });
    this.child = child;
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const c = this.child;
    this.child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill(signal);
    await exited;
  }
}

export class Observer {
  readonly windows: (WindowPayload & { receivedAt: number })[] = [];
  readonly modelStates: ModelStatePayload[] = [];
  info: InfoPayload | undefined;
  private readonly responses = new Map<string, CommandResponse>();
  private n = 0;

  private constructor(
    private readonly client: MqttClient,
    readonly root: string,
  ) {}

  static async start(url: string, root: string): Promise<Observer> {
    const client = await connectAsync(url, { reconnectPeriod: 500 });
    const o = new Observer(client, root);
    client.on('message', (topic, payload) => o.onMessage(topic, payload));
    await client.subscribeAsync(
      [`${root}/cameras/+/window`, `${root}/model`, `${root}/info`, `${root}/cmd/+/+/response`],
      { qos: 1 },
    );
    return o;
  }

  private onMessage(topic: string, payload: Buffer): void {
    const body = JSON.parse(payload.toString('utf8')) as unknown;
    if (topic.endsWith('/window')) this.windows.push({ ...(body as WindowPayload), receivedAt: Date.now() });
    else if (topic === `${this.root}/model`) this.modelStates.push(body as ModelStatePayload);
    else if (topic === `${this.root}/info`) this.info = body as InfoPayload;
    else if (topic.endsWith('/response')) {
      const r = body as CommandResponse;
      if (typeof r.id === 'string') this.responses.set(r.id, r);
    }
  }

  get model(): ModelStatePayload | undefined {
    return this.modelStates.at(-1);
  }

  /** Sends a command to the device and waits for its reply. */
  async command(name: string, args: Record<string, unknown> = {}, timeoutMs = 10_000): Promise<CommandResponse> {
    const id = `t${this.n++}`;
    await this.client.publishAsync(`${this.root}/cmd/${name}`, JSON.stringify({ id, args }), { qos: 1 });
    await waitFor(() => this.responses.has(id), timeoutMs, `reply to ${name}`);
    return this.responses.get(id)!;
  }

  async close(): Promise<void> {
    await this.client.endAsync();
  }
}
