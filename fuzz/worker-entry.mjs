// A fuzz worker thread runs TypeScript like the CLI does (bin/imslab.mjs): tsx is registered in the
// thread itself, because a worker does not inherit the module hooks of the thread that started it.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
