import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The published test data (../shared/vectors beside the checkout, as CI lays it out; /work/shared on a
 * developer's machine). Read-only: tests read it, nothing writes it.
 */
const beside = join(dirname(fileURLToPath(import.meta.url)), '../../../shared/vectors');
export const VECTORS_DIR = existsSync(beside) ? beside : '/work/shared/vectors';

export function vectorPath(name: string): string {
  return join(VECTORS_DIR, name);
}
