// Remote commands over MQTT: requests arrive on `<root>/cmd/<name>` (this device) or
// `<prefix>/all/cmd/<name>` (the whole fleet), replies go to `<request topic>/response`, or, for an
// MQTT 5 request, to its responseTopic with its correlationData. Anything a caller sends is untrusted:
// a bad payload gets an error reply (or is ignored) and never throws, because a crash here would stop
// the windows too. This class only decides the reply; the sink owns the connection and publishes it.
import type { Logger } from 'pino';
import { encode, Topics, type CommandErrorCode, type CommandResponse } from './topics.js';

/** Thrown by a command to answer with a specific error code (e.g. busy, bad_request) instead of internal. */
export class CommandError extends Error {
  constructor(
    readonly code: CommandErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A command's implementation: gets the request's `args` (an object, `{}` when absent). */
export type CommandFn = (args: Record<string, unknown>) => unknown;

export interface CommandHandlerOptions {
  /** Topic root, e.g. emotion-agent/<deviceId>; the fleet prefix is the root without its last level. */
  root: string;
  deviceId: string;
  commands: Readonly<Record<string, CommandFn>>;
  log: Logger;
  /** Larger payloads are refused unparsed. Default 64 KiB (the limit docs/mqtt.md promises). */
  maxBytes?: number;
  /**
   * Larger limits for the named commands only (model/update carries inline files): a limit sized for
   * them must not open every other command to megabyte payloads.
   */
  maxBytesFor?: Readonly<Record<string, number>>;
}

/** MQTT 5 request properties that redirect the reply. */
export interface RequestProperties {
  responseTopic?: string;
  correlationData?: Buffer;
}

export interface CommandReply {
  topic: string;
  payload: string;
  correlationData?: Buffer;
}

type Id = string | number | null;

export const MAX_COMMAND_BYTES = 64 * 1024;

export class CommandHandler {
  /** Subscriptions: `#`, not `+`, because names have levels (config/get). */
  readonly subscriptions: string[];
  private readonly prefixes: string[];

  constructor(private readonly opts: CommandHandlerOptions) {
    // A root without a level above it has no fleet to share topics with.
    this.prefixes = new Topics(opts.root).commandPrefixes();
    this.subscriptions = this.prefixes.map((p) => `${p}#`);
  }

  /** The reply to a message, or null for a message that is not a request (a response, a foreign topic). */
  handle(topic: string, payload: Buffer, props: RequestProperties = {}): CommandReply | null {
    const prefix = this.prefixes.find((p) => topic.startsWith(p));
    // Our own replies (and other devices' fleet-wide ones) match the `#` subscription too.
    if (prefix === undefined || Topics.isResponse(topic)) return null;
    const name = topic.slice(prefix.length);
    const reply = (body: CommandResponse): CommandReply => ({
      // A wildcard response topic is a protocol error that would cost us the connection: use ours.
      topic: props.responseTopic && !/[+#]/.test(props.responseTopic) ? props.responseTopic : Topics.response(topic),
      payload: encode('commandResponse', body),
      ...(props.correlationData ? { correlationData: props.correlationData } : {}),
    });
    const fail = (id: Id, code: CommandErrorCode, message: string): CommandReply => {
      if (code === 'bad_request') this.opts.log.debug({ topic, bytes: payload.length, message }, 'bad command request');
      return reply({ id, deviceId: this.opts.deviceId, ok: false, error: { code, message } });
    };

    const limit =
      (Object.hasOwn(this.opts.maxBytesFor ?? {}, name) ? this.opts.maxBytesFor![name] : undefined) ??
      this.opts.maxBytes ??
      MAX_COMMAND_BYTES;
    const parsed = parse(payload, limit);
    if ('error' in parsed) return fail(parsed.id, 'bad_request', parsed.error);
    const { id, args } = parsed;
    const fn = Object.hasOwn(this.opts.commands, name) ? this.opts.commands[name] : undefined;
    if (!fn) return fail(id, 'unknown_command', `unknown command: ${name.slice(0, 100)}`);
    try {
      return reply({ id, deviceId: this.opts.deviceId, ok: true, result: fn(args) });
    } catch (err) {
      if (err instanceof CommandError) return fail(id, err.code, err.message);
      this.opts.log.warn({ command: name, err: (err as Error).message }, 'command failed');
      return fail(id, 'internal', (err as Error).message);
    }
  }
}

type Parsed = { id: Id; args: Record<string, unknown> } | { id: Id; error: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function parse(payload: Buffer, maxBytes: number): Parsed {
  if (payload.length > maxBytes) return { id: null, error: `payload of ${payload.length} bytes exceeds ${maxBytes}` };
  // An empty payload is a request without id or args (`mosquitto_pub -n`, MQTT 5 callers).
  if (payload.length === 0) return { id: null, args: {} };
  let body: unknown;
  try {
    body = JSON.parse(payload.toString('utf8'));
  } catch {
    return { id: null, error: 'payload is not JSON' };
  }
  if (!isObject(body)) return { id: null, error: 'payload is not a JSON object' };
  const raw = body.id;
  const id: Id =
    typeof raw === 'string' ? raw.slice(0, 200) : typeof raw === 'number' && Number.isFinite(raw) ? raw : null;
  if (raw !== undefined && raw !== null && id === null) return { id: null, error: 'id must be a string or a number' };
  const args = body.args;
  if (args !== undefined && !isObject(args)) return { id, error: 'args must be a JSON object' };
  return { id, args: args ?? {} };
}
