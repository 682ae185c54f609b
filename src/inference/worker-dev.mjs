// Worker entry when running from TypeScript sources (tests, `tsx src/cli.ts`): registers tsx in this
// thread, then loads the real worker. The compiled agent starts worker.js directly.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
