// A sink in its own process, for tests that SIGKILL it: opens an MqttSink (settings as JSON in argv[2]),
// prints "connected" when the broker accepts it, and on each "write <cameraId> <i>" line from stdin
// stores a window and prints "stored <i>"; "stats" prints "stats <json>". It never exits by itself.
import { pino } from 'pino';
import { createInterface } from 'node:readline';
import { Outbox } from '../../src/mqtt/outbox.js';
import { MqttSink } from '../../src/mqtt/sink.js';
import { testWindow } from './windows.js';

interface ChildArgs {
  url: string;
  outbox: string;
  deviceId: string;
  root: string;
}
const args = JSON.parse(process.argv[2] ?? '{}') as ChildArgs;
const client = {
  url: args.url,
  clientId: args.deviceId,
  username: null,
  password: null,
  ca: null,
  cert: null,
  key: null,
  keepaliveS: 5,
  protocolVersion: 4 as const,
  reconnectMs: 300,
};
const sink = new MqttSink(
  { client, deviceId: args.deviceId, topicRoot: args.root },
  new Outbox({ path: args.outbox, maxRows: 1000, maxAgeS: 3600 }),
  pino({ level: 'silent' }),
);
await sink.start();
const poll = setInterval(() => {
  if (sink.stats().connected) {
    clearInterval(poll);
    process.stdout.write('connected\n');
  }
}, 20);
createInterface({ input: process.stdin }).on('line', (line) => {
  const [cmd, cam, i] = line.split(' ');
  if (cmd === 'stats') process.stdout.write(`stats ${JSON.stringify(sink.stats())}\n`);
  if (cmd !== 'write' || !cam || !i) return;
  sink.write(testWindow(Number(i), cam)).then(
    () => process.stdout.write(`stored ${i}\n`),
    (err: Error) => process.stdout.write(`error ${err.message}\n`),
  );
});
