// Runs one agentRun in its own process so its RSS is the agent's alone (the parent holds the floor
// measurements' models and frames). Prints the result as one JSON line.
import { agentRun } from './daemon.js';

const [clip, cameras, seconds, sampleEveryS, fps] = process.argv.slice(2);
const r = await agentRun(clip!, Number(cameras), Number(seconds), Number(fps ?? 5), Number(sampleEveryS ?? 0));
process.stdout.write(`${JSON.stringify(r)}\n`);
process.exit(0);
