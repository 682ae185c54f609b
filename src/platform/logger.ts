// The one pino root logger; modules take children (`log.child({ module: 'capture', camera: id })`).
// JSON lines for supervisors and log shippers; human-readable when a person is watching. Logs go to
// stderr: stdout carries data (the JSON-lines windows of the default sink).
import { pino, type Logger, type Level } from 'pino';
import pretty from 'pino-pretty';

export interface LoggerOptions {
  level: Level | 'silent';
  /** 'auto': pretty when stdout is a terminal. */
  pretty: 'auto' | boolean;
  /** Where JSON lines go (default: stdout). Tests pass a stream they can read. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(opts: LoggerOptions): Logger {
  const usePretty = opts.pretty === 'auto' ? Boolean(process.stderr.isTTY) : opts.pretty;
  const base = { level: opts.level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime };
  if (usePretty) {
    // Synchronous pretty stream: no worker thread, so nothing is lost when the process exits.
    return pino(
      base,
      pretty({
        destination: 2,
        colorize: Boolean(process.stderr.isTTY),
        sync: true,
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'pid,hostname',
      }),
    );
  }
  return pino(base, opts.destination ?? pino.destination({ dest: 2, sync: true }));
}
