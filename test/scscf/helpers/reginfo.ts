import { parseRegInfo, type RegInfo } from '../../../src/scscf/reginfo.js';

/** parseRegInfo with the body in the failure message, so a bad document is readable in the test output. */
export function parseReginfoSafe(xml: string): RegInfo {
  try {
    return parseRegInfo(xml);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${xml}`);
  }
}
