// `emotion-agent config --print|--schema`: what the agent would run with, and what it could be told.
import type { Command } from 'commander';
import { EXIT } from './exit-codes.js';
import { CliError } from './util.js';
import { configSchemaDoc, loadConfig, redactConfig } from '../config/index.js';

export function registerConfig(program: Command): void {
  program
    .command('config')
    .description(
      'Print the effective configuration (secrets hidden), or every configuration key with its format, default and env var',
    )
    .option('--config <file>', 'JSON configuration file (default: $EMOTION_AGENT_CONFIG, else none)')
    .option('--print', 'validate and print the effective configuration as JSON (the default)')
    .option('--schema', 'print every key as JSON: doc, format, default, environment variable')
    .action((o: { config?: string; print?: boolean; schema?: boolean }) => {
      if (o.print && o.schema) throw new CliError('choose one of --print and --schema', EXIT.usage);
      if (o.schema) console.log(JSON.stringify(configSchemaDoc(), null, 2));
      else console.log(JSON.stringify(redactConfig(loadConfig(o.config ? { file: o.config } : {})), null, 2));
    });
}
