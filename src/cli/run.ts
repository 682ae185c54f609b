// `emotion-agent run`: the daemon. Loads the configuration (exit 78 on a bad one), starts the agent,
// and on SIGTERM/SIGINT stops capture, closes the open window as partial, flushes sinks and exits 0
// within shutdown.timeoutS. A fatal error is logged and exits 1 so the supervisor restarts us.
// Under systemd (Type=notify) it reports start-up, status, watchdog pings and stopping
// (src/platform/systemd.ts); elsewhere ($NOTIFY_SOCKET unset) that part is inert.
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { Agent } from '../app.js';
import { loadConfig, type AgentConfig } from '../config/index.js';
import { createLogger } from '../platform/logger.js';
import { EXIT } from './exit-codes.js';
import { SdNotify, watchdogIntervalMs } from '../platform/sd-notify.js';
import { ServiceNotifier } from '../platform/systemd.js';
import { within } from '../platform/async.js';

interface RunOpts {
  config?: string;
  pretty?: boolean;
  logLevel?: string;
}

function isDemo(opts: RunOpts, env: NodeJS.ProcessEnv): boolean {
  return !opts.config && !env.EMOTION_AGENT_CONFIG && !env.EMOTION_AGENT_CAMERAS;
}

function demoNotice(cfg: AgentConfig): string {
  const cam = cfg.cameras[0];
  return [
    'emotion-agent demo: no configuration given, so it analyses the bundled demo clip in a loop',
    `  (${cam?.source ?? 'var/demo/demo.mp4'}) with every part real: FFmpeg capture, face detection,`,
    `  emotion classification, anonymous tracking, and a window of counts every ${cfg.aggregate.windowS} s printed as JSON.`,
    'To analyse a camera, write a config file and run `emotion-agent run --config agent.json`, e.g.',
    '  { "cameras": [ { "id": "entrance", "source": "rtsp://192.0.2.10/stream1", "username": "viewer", "passwordFile": "/etc/emotion-agent/cam.pass" } ] }',
    ...(cfg.http.enabled
      ? [
          `Technician page (state, live counts${cfg.preview.enabled ? ', annotated preview' : ''}): http://${cfg.http.host}:${cfg.http.port}/`,
        ]
      : []),
    'Every key: `emotion-agent config --schema` or docs/config.md. Stop with Ctrl-C.',
  ].join('\n');
}

/**
 * The systemd notifier, when $NOTIFY_SOCKET is set. The notify variables are then removed from our
 * environment (as sd_notify's unset_environment does) so capture children cannot notify in our name.
 */
function serviceNotifier(log: Logger): ServiceNotifier | null {
  const slog = log.child({ module: 'systemd' });
  const sd = SdNotify.fromEnv(process.env, {
    onError: (err) => slog.warn({ err: err.message }, 'systemd notification not delivered'),
  });
  if (!sd) return null;
  const watchdogMs = watchdogIntervalMs(process.env);
  for (const k of ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID']) delete process.env[k];
  slog.debug({ socket: sd.socket, watchdogMs }, 'notifying systemd');
  return new ServiceNotifier(sd, slog, { watchdogMs });
}

/**
 * glibc keeps freed multi-megabyte buffers (frames, tensors) in its heap unless MALLOC_MMAP_THRESHOLD_
 * pins the mmap threshold; it has to be set before the process starts, so the deploy files set it and
 * a hand-started daemon is told once.
 */
export function mallocHint(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): string | null {
  if (
    platform !== 'linux' ||
    env.MALLOC_MMAP_THRESHOLD_ !== undefined ||
    /mmap_threshold/.test(env.GLIBC_TUNABLES ?? '')
  )
    return null;
  return 'MALLOC_MMAP_THRESHOLD_ is not set: freed frame buffers stay in the heap (about 120 MB more RSS with one 1080p camera); the systemd unit and balena images set MALLOC_MMAP_THRESHOLD_=131072 (docs/performance.md)';
}

async function runAgent(cfg: AgentConfig, log: Logger): Promise<number> {
  let fatalHandler: (err: unknown) => void = () => undefined;
  const agent = new Agent(cfg, log, { onFatal: (err) => fatalHandler(err) });
  const notifier = serviceNotifier(log);
  let stopping: Promise<number> | undefined;
  const shutdown = (reason: string): Promise<number> => {
    stopping ??= (async () => {
      log.info({ reason }, 'shutting down');
      // STOPPING=1 first, so systemd shows "deactivating" and stops expecting watchdog pings.
      const stoppingSent = notifier?.stopping();
      const timer = setTimeout(() => {
        log.error({ timeoutS: cfg.shutdown.timeoutS }, 'shutdown took too long; exiting');
        process.exit(EXIT.failure);
      }, cfg.shutdown.timeoutS * 1000);
      try {
        await agent.stop();
        return EXIT.ok;
      } catch (err) {
        log.error({ err }, 'error while stopping');
        return EXIT.failure;
      } finally {
        clearTimeout(timer);
        await within(stoppingSent, 2000);
      }
    })();
    return stopping;
  };
  const fatal = (err: unknown): void => {
    log.fatal({ err }, 'fatal error');
    void shutdown('fatal error').finally(() => process.exit(EXIT.failure));
  };
  fatalHandler = fatal;
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
  const signalled = new Promise<number>((resolve) => {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => resolve(shutdown(sig)));
  });
  void notifier?.starting();
  const malloc = mallocHint();
  if (malloc) log.info(malloc);
  try {
    await agent.start();
  } catch (err) {
    log.fatal({ err }, 'agent failed to start');
    await within(notifier?.failed(err instanceof Error ? err.message : String(err)), 2000);
    await shutdown('start failed');
    return EXIT.failure;
  }
  // In the background: READY=1 after the first frames (bounded), then the watchdog.
  void notifier?.started(agent);
  return signalled;
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('Run the agent: analyse the configured cameras and emit per-window aggregates (no config: the demo)')
    .option('--config <file>', 'JSON configuration file (also $EMOTION_AGENT_CONFIG)')
    .option('--pretty', 'human-readable logs (default when stdout is a terminal)')
    .option('--log-level <level>', 'override log.level')
    .action(async (o: RunOpts) => {
      const cfg = loadConfig({
        ...(o.config ? { file: o.config } : {}),
        argvOverrides: {
          ...(o.logLevel ? { 'log.level': o.logLevel } : {}),
          ...(o.pretty ? { 'log.pretty': 'true' } : {}),
        },
      });
      const log = createLogger({ level: cfg.log.level, pretty: cfg.log.pretty });
      if (isDemo(o, process.env)) process.stderr.write(`${demoNotice(cfg)}\n`);
      const code = await runAgent(cfg, log);
      // Give stdout (a pipe under systemd/docker) a moment to drain, then leave even if a library
      // still holds a handle open.
      process.exitCode = code;
      setTimeout(() => process.exit(code), 1500);
    });
}
