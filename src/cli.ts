#!/usr/bin/env node
// Entry point of the `emotion-agent` command (bin/emotion-agent.js loads the compiled copy).
import { main } from './program.js';

process.exitCode = await main(process.argv);
