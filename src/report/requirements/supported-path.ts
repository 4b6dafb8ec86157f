/**
 * TS 24.229 §5.1.1.2.1 (RFC 3327 §5): every REGISTER carries `Supported: path`, telling the registrar the UE
 * accepts that the P-CSCF's Path is recorded; without it the S-CSCF cannot route terminating requests back
 * through the P-CSCF that holds the security associations.
 */
import { parseOptionTags } from '../../sip/headers/p-headers.js';
import type { Requirement } from '../model.js';
import { met, notMet } from './outcome.js';

export const supportedPath: Requirement = {
  id: 'supported-path',
  clause: 'TS 24.229 §5.1.1.2.1, RFC 3327 §5',
  title: 'REGISTER carries Supported: path',
  appliesWhen: 'the UE sent a REGISTER',
  appliesTo: (ctx) => ctx.registers().length > 0,
  evaluate(ctx) {
    const registers = ctx.registers();
    for (const r of registers) {
      let tags: string[];
      try {
        tags = parseOptionTags(r.message.headers, 'Supported');
      } catch {
        tags = r.message.headers.list('Supported');
      }
      if (!tags.some((t) => t.toLowerCase() === 'path')) {
        return notMet(
          `${ctx.describe(r)}: no Supported: path (${ctx.headerLine(r, 'Supported')})`,
          'Add the option tag "path" to Supported in every REGISTER (e.g. Supported: path, sec-agree).',
        );
      }
    }
    return met(`${registers.length} REGISTER(s), each with Supported: path; first: ${ctx.headerLine(registers[0]!, 'Supported')}`);
  },
};
