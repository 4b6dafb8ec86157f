/**
 * RFC 3261 §10.2 (Call-ID, CSeq) with TS 24.229 §5.1.1.5.1 and §5.1.1.4.1: the REGISTER answering a challenge
 * and every re-registration reuse the Call-ID of the initial REGISTER, and each carries the CSeq of the
 * previous one plus one — the registrar orders requests by it (§10.3 step 7).
 */
import { callId } from '../../sip/headers/call-id.js';
import { cseqOf } from '../../sip/headers/cseq.js';
import type { Requirement } from '../model.js';
import { removesBindings } from '../context.js';
import { met, notMet } from './outcome.js';

export const registerCallIdCseq: Requirement = {
  id: 'register-call-id-cseq',
  clause: 'RFC 3261 §10.2, TS 24.229 §5.1.1.5.1',
  title: 'Later REGISTERs reuse the Call-ID and increment CSeq by one',
  appliesWhen: 'the UE sent more than one REGISTER',
  appliesTo: (ctx) => ctx.registers().length > 1,
  evaluate(ctx) {
    const registers = ctx.registers();
    // With messages left out by the per-UE cap, consecutive kept REGISTERs may not be consecutive on the wire.
    const exact = ctx.dropped === 0;
    for (let i = 1; i < registers.length; i++) {
      const prev = registers[i - 1]!;
      const cur = registers[i]!;
      let a: { id: string; seq: number };
      let b: { id: string; seq: number };
      try {
        a = { id: callId(prev.message), seq: cseqOf(prev.message).seq };
        b = { id: callId(cur.message), seq: cseqOf(cur.message).seq };
      } catch (e) {
        return notMet(`${ctx.describe(cur)}: ${(e as Error).message}`, 'Send well-formed Call-ID and CSeq headers.');
      }
      if (a.id !== b.id) {
        // A fresh Call-ID after a de-registration starts a new registration; that is allowed.
        if (removesBindings(prev)) continue;
        return notMet(
          `${ctx.describe(cur)}: Call-ID "${b.id}" differs from the previous REGISTER's "${a.id}" (${ctx.describe(prev)})`,
          'Keep one Call-ID for all REGISTERs to the same registrar (initial, challenge answer, refresh, de-registration).',
        );
      }
      if (exact ? b.seq !== a.seq + 1 : b.seq <= a.seq) {
        return notMet(
          `${ctx.describe(cur)}: CSeq ${b.seq} after CSeq ${a.seq} with the same Call-ID`,
          'Increment CSeq by one for each new REGISTER with the same Call-ID (retransmissions keep it).',
        );
      }
    }
    return met(`${registers.length} REGISTERs: same Call-ID, CSeq ${registers.map((r) => r.message.headers.get('CSeq')?.split(/\s/)[0]).join(' → ')}`);
  },
};
