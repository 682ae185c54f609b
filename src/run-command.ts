// `emotion-agent run`: the daemon. Loads the configuration (exit 78 on a bad one), starts the agent,
// and on SIGTERM/SIGINT stops capture, closes the open window as partial, flushes sinks and exits 0
// within shutdown.timeoutS. A fatal error is logged and exits 1 so the supervisor restarts us.
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { Agent } from './app.js';
import { loadConfig, type AgentConfig } from './config/index.js';
import { createLogger } from './platform/logger.js';

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
    'Every key: `emotion-agent config --schema` or docs/config.md. Stop with Ctrl-C.',
  ].join('\n');
}

async function runAgent(cfg: AgentConfig, log: Logger): Promise<number> {
  let fatalHandler: (err: unknown) => void = () => undefined;
  const agent = new Agent(cfg, log, [], (err) => fatalHandler(err));
  let stopping: Promise<number> | undefined;
  const shutdown = (reason: string): Promise<number> => {
    stopping ??= (async () => {
      log.info({ reason }, 'shutting down');
      const timer = setTimeout(() => {
        log.error({ timeoutS: cfg.shutdown.timeoutS }, 'shutdown took too long; exiting');
        process.exit(1);
      }, cfg.shutdown.timeoutS * 1000);
      try {
        await agent.stop();
        return 0;
      } catch (err) {
        log.error({ err }, 'error while stopping');
        return 1;
      } finally {
        clearTimeout(timer);
      }
    })();
    return stopping;
  };
  const fatal = (err: unknown): void => {
    log.fatal({ err }, 'fatal error');
    void shutdown('fatal error').finally(() => process.exit(1));
  };
  fatalHandler = fatal;
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
  const signalled = new Promise<number>((resolve) => {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => resolve(shutdown(sig)));
  });
  try {
    await agent.start();
  } catch (err) {
    log.fatal({ err }, 'agent failed to start');
    await shutdown('start failed');
    return 1;
  }
  return signalled;
}

export function registerRun(program: Command): void {
  program.command('run')
    .description('Run the agent: analyse the configured cameras and emit per-window aggregates (no config: the demo)')
    .option('--config <file>', 'JSON configuration file (also $EMOTION_AGENT_CONFIG)')
    .option('--pretty', 'human-readable logs (default when stdout is a terminal)')
    .option('--log-level <level>', 'override log.level')
    .action(async (o: RunOpts) => {
      const cfg = loadConfig({
        ...(o.config ? { file: o.config } : {}),
        argvOverrides: { ...(o.logLevel ? { 'log.level': o.logLevel } : {}), ...(o.pretty ? { 'log.pretty': 'true' } : {}) },
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
