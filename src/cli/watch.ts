// `emotion-agent watch`: a human-readable tail of what one device (or the whole fleet) publishes,
// for installers checking a kiosk without a dashboard. One line per message; a payload it cannot read
// is shown as such, never a crash, since anything on the broker may have written it.
import type { Command } from 'commander';
import { connect } from 'mqtt';
import { EXIT } from './exit-codes.js';
import { CliError } from './util.js';
import { describeMqttError } from '../mqtt/client.js';
import { Topics, type CameraStatePayload, type WindowPayload } from '../mqtt/topics.js';
import { redactString } from '../config/redact-url.js';

export interface WatchOptions {
  broker: string;
  device?: string;
  all?: boolean;
  prefix: string;
}

/** Status, camera states and windows of one device, or of every device under the prefix. */
export function watchTopics(prefix: string, device: string | null): string[] {
  const t = new Topics(`${prefix}/${device ?? '+'}`);
  return [t.status(), t.cameraState('+'), t.window('+')];
}

/** One line for a message, or null for a topic that is not one of ours. */
export function formatMessage(prefix: string, topic: string, payload: Buffer, now = new Date()): string | null {
  if (!topic.startsWith(`${prefix}/`)) return null;
  const parts = topic.slice(prefix.length + 1).split('/');
  const device = parts[0] ?? '?';
  const text = payload.toString('utf8');
  if (parts.length === 2 && parts[1] === 'status')
    return `${now.toISOString()} ${device} ${text === 'online' || text === 'offline' ? text : `status ${JSON.stringify(text.slice(0, 40))}`}`;
  if (parts.length !== 4 || parts[1] !== 'cameras') return null;
  const camera = parts[2] ?? '?';
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = null;
  }
  if (typeof body !== 'object' || body === null)
    return `${now.toISOString()} ${device} ${camera} unreadable ${parts[3]} (${payload.length} bytes)`;
  if (parts[3] === 'state') {
    const s = body as Partial<CameraStatePayload>;
    return `${s.since ?? now.toISOString()} ${device} ${camera} state ${String(s.state)}${s.lastError ? ` (${s.lastError})` : ''}`;
  }
  if (parts[3] === 'window') {
    const w = body as Partial<WindowPayload>;
    return `${w.end ?? now.toISOString()} ${device} ${camera} people=${String(w.people)} ${emotionsText(w)} dropped=${String(w.framesDropped)}${w.partial ? ' partial' : ''}`;
  }
  return null;
}

/** The emotions present, most frequent first, or 'withheld' below aggregate.minPeople. */
function emotionsText(w: Partial<WindowPayload>): string {
  if (w.withheld || !w.emotions) return 'withheld';
  const present = Object.entries(w.emotions)
    .filter(([, n]) => typeof n === 'number' && n > 0)
    .sort((a, b) => b[1] - a[1]);
  return present.length > 0 ? present.map(([e, n]) => `${e}=${n}`).join(' ') : 'no-emotions';
}

/** Prints until SIGINT/SIGTERM; reconnects by itself while the broker is away. */
export async function watch(o: WatchOptions, print: (line: string) => void = (l) => console.log(l)): Promise<void> {
  if (o.device && o.all) throw new CliError('watch: give --device or --all, not both', EXIT.usage);
  const topics = watchTopics(o.prefix, o.all || !o.device ? null : o.device);
  const client = connect(o.broker, { reconnectPeriod: 2000, connectTimeout: 10_000 });
  let lastError = '';
  client.on('connect', () => {
    console.error(`watch: connected to ${redactString(o.broker)}, watching ${topics.join(' ')}`);
    client.subscribe(topics, { qos: 1 }, (err) => {
      if (err) console.error(`watch: subscribe failed: ${err.message}`);
    });
  });
  client.on('error', (err) => {
    const text = describeMqttError(err);
    if (text !== lastError) console.error(`watch: ${text} (retrying)`);
    lastError = text;
  });
  client.on('message', (topic, payload) => {
    const line = formatMessage(o.prefix, topic, payload);
    if (line !== null) print(line);
  });
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await client.endAsync(true);
}

export function registerWatch(program: Command): void {
  program
    .command('watch')
    .description('Print one line per status, camera state and window message of a device (or all devices)')
    .option('--broker <url>', 'broker URL', 'mqtt://localhost:1883')
    .option('--device <id>', 'watch this device only')
    .option('--all', 'watch every device (the default)')
    .option('--prefix <topic>', 'topic prefix above the device ids', 'emotion-agent')
    .action((o: WatchOptions) => watch(o));
}
