// Documentation of every key, from the same tree that validates them: `config --schema` prints
// configSchemaDoc(), scripts/gen-config-doc.ts writes renderConfigMarkdown() to docs/config.md.
import { PACKAGE_ROOT } from '../models/defaults.js';
import { CAMERA_FIELDS, ROI_FIELDS } from './cameras.js';
import { configTree } from './schema.js';
import { envName, isSecretName, Key, type Tree } from './values.js';

export interface ConfigKeyDoc {
  /** Dotted path; elements of the cameras array as `cameras[].fps`. */
  key: string;
  doc: string;
  /** What values are accepted, in words ("integer ≥ 0", "one of: tcp, udp"). */
  format: string;
  /** Absent for required keys (a camera's id and source). */
  default?: unknown;
  required: boolean;
  /** The environment variable that sets it; null inside cameras[] (set the array as a whole). */
  env: string | null;
  /** Its value is hidden by `config --print` and in error messages. */
  secret: boolean;
}

/** Keys whose value is an array or object with keys of its own, documented under it. */
const NESTED: Record<string, Tree> = { cameras: CAMERA_FIELDS, 'cameras[].roi': ROI_FIELDS };

export function configSchemaDoc(): ConfigKeyDoc[] {
  const rows: ConfigKeyDoc[] = [];
  const walk = (tree: Tree, path: string[], prefix: string, inArray: boolean): void => {
    for (const [k, spec] of Object.entries(tree)) {
      const key = `${prefix}${k}`;
      if (!(spec instanceof Key)) {
        walk(spec, [...path, k], `${key}.`, inArray);
        continue;
      }
      rows.push({
        key,
        doc: spec.doc,
        format: spec.type.describe,
        ...(spec.opts.required ? {} : { default: spec.defaultValue }),
        required: spec.opts.required ?? false,
        env: inArray ? null : envName([...path, k]),
        secret: isSecretName(k),
      });
      const nested = NESTED[key];
      if (nested) walk(nested, [], key === 'cameras' ? 'cameras[].' : `${key}.`, true);
    }
  };
  walk(configTree(), [], '', false);
  return rows;
}

/** A default as shown in the docs: JSON, with this machine's package path replaced by `<package>`. */
function shownDefault(row: ConfigKeyDoc): string {
  if (row.required) return '*required*';
  return `\`${JSON.stringify(row.default).split(PACKAGE_ROOT).join('<package>')}\``;
}

// Patterns in code spans, so their _ and * stay literal.
const cell = (s: string): string =>
  s
    .replace(/matching (\S+?)(,?)(?=\s|$)/g, 'matching `$1`$2')
    .replace(/\|/g, '\\|')
    .replace(/\n/g, ' ');

export function renderConfigMarkdown(): string {
  const rows = configSchemaDoc();
  const top = rows.filter((r) => !r.key.startsWith('cameras['));
  const cam = rows.filter((r) => r.key.startsWith('cameras['));
  return `# Configuration

<!-- Generated from src/config/ by \`npx tsx scripts/gen-config-doc.ts\`; edit those, not this file. -->

\`emotion-agent run\` needs no configuration: without any it runs the demo, one camera \`demo\` reading the
bundled clip \`var/demo/demo.mp4\` (looped) with the shipped models. \`emotion-agent config --print\` shows
the effective configuration with secrets hidden; \`emotion-agent config --schema\` lists the keys below as JSON.

## Sources

Lowest to highest precedence; each source overrides the keys it sets and keeps the rest:

1. the defaults in the tables below;
2. a JSON file: \`--config <file>\`, or else the file named by \`EMOTION_AGENT_CONFIG\`;
3. environment variables \`EMOTION_AGENT_<SECTION>_<KEY>\`: the key's path in upper case, camelCase split
   with \`_\` (\`inference.flipTta\` → \`EMOTION_AGENT_INFERENCE_FLIP_TTA\`, \`sinks.jsonl.path\` →
   \`EMOTION_AGENT_SINKS_JSONL_PATH\`). Booleans are \`true\`/\`false\` (or \`1\`/\`0\`, \`yes\`/\`no\`, \`on\`/\`off\`);
   an empty value sets an optional key to \`null\`. The cameras are set as a whole: \`EMOTION_AGENT_CAMERAS\`
   holds the JSON array. A variable under a section that names no key (\`EMOTION_AGENT_LOG_LEVL\`) is an error;
   other \`EMOTION_AGENT_*\` names (\`EMOTION_AGENT_CACHE\`) are left alone;
4. command-line options that set a key;
5. secrets read from files (next section).

## Secrets

A key named \`<name>File\` names a file whose content becomes \`<name>\`: \`cameras[].passwordFile\` fills
\`cameras[].password\`. One trailing newline is dropped; an empty or missing file is an error. A relative
path resolves against \`$CREDENTIALS_DIRECTORY\` when it is set (systemd \`LoadCredential=\`), else against
the working directory. With systemd:

\`\`\`ini
[Service]
LoadCredential=front-password:/etc/emotion-agent/front.password
\`\`\`

and \`"passwordFile": "front-password"\` in the camera. Credentials are put into the RTSP URL only when
connecting. Printed configurations and error messages show \`***\` for values of keys matching
\`/password|secret|token|key$/i\` (\`...File\` paths stay visible), for \`user:pass@\` in URLs and for
\`password=\`/\`user-pw=\` parameters.

## Errors

Unknown keys, values of the wrong type or range, and inconsistent cameras stop the start with exit code 78
(EX_CONFIG) and one line per problem, each naming the key:

\`\`\`text
emotion-agent: invalid configuration (/etc/emotion-agent/config.json):
  log.level: must be one of: fatal, error, warn, info, debug, trace, silent (got "loud")
  cameras[1].fps: must be a number > 0 (got 0)
  cameras[1].id: duplicate id "front" (also cameras[0])
  tracker.minHit: unknown key
  cameras[2].passwordFile: secret file not found: /run/credentials/emotion-agent.service/back-password (relative to $CREDENTIALS_DIRECTORY)
\`\`\`

## Keys

| Key | Format | Default | Environment | Description |
| --- | --- | --- | --- | --- |
${top.map((r) => `| \`${r.key}\` | ${cell(r.format)} | ${cell(shownDefault(r))} | \`${r.env ?? ''}\` | ${cell(r.doc)} |`).join('\n')}

## Camera keys

Each element of \`cameras\`. \`kind\` "auto" becomes rtsp for \`rtsp://\`/\`rtsps://\`, v4l2 for \`/dev/videoN\`,
gstreamer for a pipeline (\`… ! …\`), and file otherwise; other URL schemes need an explicit kind.
Credentials are for rtsp only, \`loop\` for files only. A region of interest (\`roi\`) gives all four fractions.

| Key | Format | Default | Description |
| --- | --- | --- | --- |
${cam.map((r) => `| \`${r.key}\` | ${cell(r.format)} | ${cell(shownDefault(r))} | ${cell(r.doc)} |`).join('\n')}

## Example

\`\`\`json
{
  "log": { "level": "info" },
  "inference": { "threads": 2 },
  "cameras": [
    {
      "id": "front",
      "source": "rtsp://192.168.1.20:554/stream1",
      "username": "viewer",
      "passwordFile": "front-password",
      "fps": 4,
      "roi": { "x": 0.25, "y": 0, "width": 0.5, "height": 1 }
    },
    { "id": "lobby", "source": "/dev/video0", "width": 1280, "height": 720 }
  ],
  "aggregate": { "windowS": 60, "minPeople": 3 },
  "sinks": { "jsonl": { "path": "/var/lib/emotion-agent/aggregates.jsonl" } }
}
\`\`\`
`;
}
