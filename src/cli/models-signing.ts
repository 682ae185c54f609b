// `emotion-agent models keygen|pack|sign|verify-signed`: the operator's side of signed bundles for
// remote model updates (docs/models.md, "Remote updates"). Registered under `models` by models.ts.
import type { Command } from 'commander';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { EXIT } from './exit-codes.js';
import { CliError, nonNegativeInt, positiveNumber } from './util.js';
import { MANIFEST_FILE } from '../models/manifest.js';
import { packBundle } from '../models/pack.js';
import { DEFAULT_MAX_FILE_BYTES, verifyBundleDir, writeSignature } from '../models/signed-bundle.js';
import { generateKeys, keyIdOf, parsePublicKey, SIGNATURE_FILE } from '../models/signing.js';

/** `--pub` values: a .pub file written by keygen, a PEM file, or the one-line key itself. */
export function readPublicKeys(values: readonly string[]): ReturnType<typeof parsePublicKey>[] {
  return values.map((v) => {
    try {
      return parsePublicKey(existsSync(v) ? readFileSync(v, 'utf8') : v);
    } catch (err) {
      throw new CliError(`--pub ${v}: ${(err as Error).message}`, EXIT.usage);
    }
  });
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

export function registerKeygen(group: Command, name: string): void {
  group
    .command(name)
    .description(
      'Create an Ed25519 key pair: <out>.key (private, PKCS#8 PEM, mode 600) and <out>.pub (one line, for models.update.trustedKeys)',
    )
    .requiredOption('--out <prefix>', 'path prefix of the two files')
    .option('--force', 'overwrite existing files')
    .action((o: { out: string; force?: boolean }) => {
      const keyPath = `${o.out}.key`;
      const pubPath = `${o.out}.pub`;
      if (!o.force && (existsSync(keyPath) || existsSync(pubPath)))
        throw new CliError(`${keyPath} or ${pubPath} exists (use --force to overwrite)`, EXIT.cantCreate);
      const k = generateKeys();
      writeFileSync(keyPath, k.privatePem, { mode: 0o600 });
      writeFileSync(pubPath, `${k.publicKey}\n`);
      console.log(`key ${keyIdOf(parsePublicKey(k.publicKey))}: private ${keyPath}, public ${pubPath}`);
      console.log(`trust it on devices with models.update.trustedKeys = ["${k.publicKey}"]`);
    });
}

export function registerPack(group: Command, name: string): void {
  group
    .command(name)
    .description(
      `Make a folder (${MANIFEST_FILE} + model) a bundle: list every file with sha256 and size, optionally add golden test vectors`,
    )
    .argument('<dir>', 'bundle folder')
    .option('--golden <n>', 'generate n golden vectors by running the model (0 removes them)', nonNegativeInt)
    .option('--tolerance <t>', 'golden vectors: largest allowed absolute difference', positiveNumber)
    .option('--key <file>', 'also sign with this private key')
    .action(async (dir: string, o: { golden?: number; tolerance?: number; key?: string }) => {
      const r = await packBundle(dir, {
        ...(o.golden !== undefined ? { golden: o.golden } : {}),
        ...(o.tolerance !== undefined ? { tolerance: o.tolerance } : {}),
      });
      console.log(`packed ${dir}: ${r.files} file(s), ${r.golden} golden vector(s)`);
      if (o.key) console.log(`signed with key ${writeSignature(dir, readFileSync(o.key, 'utf8'))}`);
    });
}

export function registerSign(group: Command, name: string): void {
  group
    .command(name)
    .description(`Write ${SIGNATURE_FILE}: an Ed25519 signature over the canonical bytes of ${MANIFEST_FILE}`)
    .argument('<dir>', 'bundle folder')
    .requiredOption('--key <file>', 'private key (PEM) from models keygen')
    .action((dir: string, o: { key: string }) => {
      console.log(`signed ${dir} with key ${writeSignature(dir, readFileSync(o.key, 'utf8'))}`);
    });
}

/** The device's checks before it loads a bundle; `model verify` in the old spelling. */
export function registerVerifySigned(group: Command, name: string): void {
  group
    .command(name)
    .description(
      "Check a bundle as a device would before loading it: signature against the given public keys, every file's size and sha256, no path traversal, symlinks or oversize files",
    )
    .argument('<dir>', 'bundle folder')
    .option('--pub <key>', 'trusted public key: a .pub file or the key itself (repeatable)', collect, [])
    .option('--allow-unsigned', 'accept a bundle without a signature (development)')
    .option('--max-file-bytes <n>', 'largest file accepted', nonNegativeInt, DEFAULT_MAX_FILE_BYTES)
    .action((dir: string, o: { pub: string[]; allowUnsigned?: boolean; maxFileBytes: number }) => {
      const v = verifyBundleDir(dir, {
        trustedKeys: readPublicKeys(o.pub),
        allowUnsigned: o.allowUnsigned ?? false,
        maxFileBytes: o.maxFileBytes,
      });
      console.log(
        `ok: ${v.manifest.name}@${v.manifest.version} (${v.manifest.task}), ${Object.keys(v.manifest.files).length} file(s), ${v.signedBy ? `signed by key ${v.signedBy}` : 'UNSIGNED'}`,
      );
    });
}
