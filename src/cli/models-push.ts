// `emotion-agent models push`: sends a signed bundle to one device or the whole fleet as a model/update
// command (files inline, or as URLs under --base-url where the operator serves them), then prints each
// device's progress from its retained `model` topic until every device that accepted is done.
// Exit 0 when all of them activated the version and kept it for --settle seconds, 1 otherwise (failed,
// rolled back, refused, timed out). The settle time matters: a model that passes validation but outputs
// NaN on real faces is rolled back by the device seconds after it became active.
import type { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { EXIT } from './exit-codes.js';
import { CliError, nonNegativeInt, positiveNumber } from './util.js';
import {
  FLEET_DEVICE,
  publishOptions,
  Topics,
  type CommandResponse,
  type ModelStatePayload,
  type ModelTaskState,
} from '../mqtt/topics.js';
import { MANIFEST_FILE } from '../models/manifest.js';
import { parseManifestText } from '../models/signed-bundle.js';
import { SIGNATURE_FILE } from '../models/signing.js';

export interface PushOptions {
  broker: string;
  device?: string;
  all?: boolean;
  prefix: string;
  baseUrl?: string;
  token?: string;
  timeout: number;
  /** --all: how long to collect replies before waiting only for the devices that answered. */
  replyWaitS: number;
  /** After a device reports `active`, keep watching this long for an automatic rollback. Default 10. */
  settleS?: number;
  /** Ask the device to accept a lower version than it serves (the signed manifest must allow it too). */
  allowDowngrade?: boolean;
}

const TERMINAL = new Set(['active', 'failed', 'rolled_back']);

/** The model/update args for a bundle folder. */
export function updateArgs(
  dir: string,
  o: { baseUrl?: string; token?: string },
): { args: Record<string, unknown>; task: string; version: string } {
  const text = readFileSync(join(dir, MANIFEST_FILE), 'utf8');
  const { manifest, raw } = parseManifestText(text, `model bundle ${dir}`);
  const sigPath = join(dir, SIGNATURE_FILE);
  const signature = existsSync(sigPath) ? (JSON.parse(readFileSync(sigPath, 'utf8')) as unknown) : null;
  const files = o.baseUrl
    ? undefined
    : Object.fromEntries(
        Object.keys(manifest.files).map((name) => [name, { data: readFileSync(join(dir, name)).toString('base64') }]),
      );
  return {
    args: {
      manifest: raw,
      signature,
      ...(files ? { files } : {}),
      ...(o.baseUrl ? { baseUrl: o.baseUrl } : {}),
      ...(o.token ? { token: o.token } : {}),
    },
    task: manifest.task,
    version: manifest.version,
  };
}

export async function push(
  dir: string,
  o: PushOptions,
  print: (line: string) => void = (l) => console.log(l),
): Promise<boolean> {
  if (Boolean(o.device) === Boolean(o.all)) throw new CliError('model push: give --device ID or --all', EXIT.usage);
  const { args: bundleArgs, task, version } = updateArgs(dir, o);
  const args = o.allowDowngrade ? { ...bundleArgs, allowDowngrade: true } : bundleArgs;
  const settleMs = (o.settleS ?? 10) * 1000;
  const activeAt = new Map<string, number>();
  const target = o.all ? FLEET_DEVICE : o.device!;
  const cmdTopic = new Topics(`${o.prefix}/${target}`).command('model/update');
  const client = await connectAsync(o.broker, { connectTimeout: 10_000, reconnectPeriod: 1000 });
  const accepted = new Set<string>();
  const answered = new Set<string>();
  const seenWork = new Set<string>();
  const done = new Map<string, ModelTaskState>();
  const id = `push-${Date.now()}`;
  let settle: () => void = () => undefined;
  const finished = new Promise<void>((r) => {
    settle = r;
  });
  const settled = (d: string): boolean =>
    done.has(d) && (done.get(d)!.state !== 'active' || Date.now() - (activeAt.get(d) ?? 0) >= settleMs);
  const check = (): void => {
    if (answered.size > 0 && [...accepted].every(settled) && (!o.all || collecting === false)) settle();
  };
  let collecting = Boolean(o.all);
  client.on('message', (topic, payload) => {
    const parts = topic.slice(o.prefix.length + 1).split('/');
    const device = parts[0] ?? '?';
    let body: unknown;
    try {
      body = JSON.parse(payload.toString('utf8'));
    } catch {
      return;
    }
    if (parts[1] === 'model') {
      const s = (body as Partial<ModelStatePayload>)[task as keyof ModelStatePayload];
      if (!s) return;
      if (!TERMINAL.has(s.state) && s.target === version) seenWork.add(device);
      // Active, then rolled back by the device itself while we watch: the update did not hold.
      if (s.state === 'rolled_back' && s.previousVersion === version && done.get(device)?.state === 'active') {
        done.set(device, s);
        print(`${device} ${task} rolled_back ${s.version}${s.error ? `: ${s.error}` : ''}`);
        check();
        return;
      }
      // A retained state from before this push is not an answer: count terminal states only after work or the reply.
      if (
        TERMINAL.has(s.state) &&
        (seenWork.has(device) || accepted.has(device)) &&
        !done.has(device) &&
        (s.target === version || s.version === version || s.state === 'rolled_back')
      ) {
        done.set(device, s);
        print(`${device} ${task} ${s.state} ${s.version}${s.error ? `: ${s.error}` : ''}`);
        if (s.state === 'active') {
          activeAt.set(device, Date.now());
          if (settleMs > 0) print(`${device} watching ${settleMs / 1000} s for an automatic rollback`);
          setTimeout(check, settleMs + 10).unref();
        }
      } else if (!TERMINAL.has(s.state)) {
        print(`${device} ${task} ${s.state}${s.progress !== null ? ` ${Math.round(s.progress * 100)}%` : ''}`);
      }
    } else if (Topics.isResponse(topic)) {
      const r = body as CommandResponse;
      if (r.id !== id) return;
      answered.add(r.deviceId);
      if (r.ok) accepted.add(r.deviceId);
      print(
        r.ok
          ? `${r.deviceId} accepted ${task}@${version}`
          : `${r.deviceId} refused: ${r.error.code}: ${r.error.message}`,
      );
    }
    check();
  });
  const d = o.all ? '+' : o.device!;
  await client.subscribeAsync([new Topics(`${o.prefix}/${d}`).model(), Topics.response(cmdTopic)], { qos: 1 });
  await client.publishAsync(cmdTopic, JSON.stringify({ id, args }), publishOptions('command'));
  print(`sent ${task}@${version} to ${target}`);
  const timer = setTimeout(settle, o.timeout * 1000);
  if (o.all)
    setTimeout(() => {
      collecting = false;
      check();
    }, o.replyWaitS * 1000).unref();
  await finished;
  clearTimeout(timer);
  await client.endAsync();
  const ok =
    accepted.size > 0 &&
    [...accepted].every((dev) => done.get(dev)?.state === 'active') &&
    answered.size === accepted.size;
  if (accepted.size === 0) print('no device accepted the update');
  for (const dev of accepted) if (!done.has(dev)) print(`${dev} did not finish within ${o.timeout} s`);
  return ok;
}

export function registerPush(group: Command, name: string): void {
  group
    .command(name)
    .description(
      'Send a signed bundle to a device (--device) or the fleet (--all) over MQTT and follow the update until done',
    )
    .argument('<dir>', `bundle folder (${MANIFEST_FILE}, ${SIGNATURE_FILE}, files)`)
    .requiredOption('--broker <url>', 'MQTT broker URL')
    .option('--device <id>', 'one device id')
    .option('--all', 'every device under the prefix')
    .option('--prefix <p>', "topic prefix (the devices' topic root without the device id)", 'emotion-agent')
    .option('--base-url <url>', 'devices download each file from <url>/<file name> (default: files inline, base64)')
    .option('--token <t>', 'bearer token for --base-url downloads')
    .option('--timeout <s>', 'give up after this many seconds', positiveNumber, 900)
    .option('--reply-wait <s>', 'with --all: seconds to collect replies', positiveNumber, 5)
    .option(
      '--settle <s>',
      'after activation, watch this many seconds for an automatic rollback (which fails the push)',
      nonNegativeInt,
      10,
    )
    .option(
      '--allow-downgrade',
      'install a lower version than the device serves (the signed manifest must carry rollback permission)',
    )
    .action(
      async (dir: string, o: Omit<PushOptions, 'replyWaitS' | 'settleS'> & { replyWait: number; settle: number }) => {
        const ok = await push(dir, {
          broker: o.broker,
          prefix: o.prefix,
          timeout: o.timeout,
          replyWaitS: o.replyWait,
          settleS: o.settle,
          ...(o.allowDowngrade ? { allowDowngrade: true } : {}),
          ...(o.device ? { device: o.device } : {}),
          ...(o.all ? { all: true } : {}),
          ...(o.baseUrl ? { baseUrl: o.baseUrl } : {}),
          ...(o.token ? { token: o.token } : {}),
        });
        if (!ok) throw new CliError('model push: not every device activated the update', EXIT.failure);
      },
    );
}
