// Child process for store-crash.test.ts: stores, activates and rolls back model versions in a tight
// loop, exactly as the update path does, until the test SIGKILLs it at a random moment.
import { copyFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ModelStore } from '../../src/updates/store.js';

const [root, bundle] = process.argv.slice(2) as [string, string];
const task = 'emotion-classifier' as const;
const store = new ModelStore(root, 2);
store.cleanStaging(task); // what the agent does at start
process.stdout.write('looping\n');
for (let i = 1; ; i++) {
  const staging = store.staging(task);
  for (const name of readdirSync(bundle)) copyFileSync(join(bundle, name), join(staging, name));
  const v = store.commit(task, staging, `1.0.${i}-${process.pid}`, `1.0.${i}`);
  store.activate(task, v);
  if (i % 3 === 0) store.rollback(task);
}
