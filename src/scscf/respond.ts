import type { SipRequest, SipResponse } from '../sip/message.js';
import { createResponse } from '../sip/transaction/response.js';
import type { TraceBus } from '../trace/events.js';

/**
 * A refusal that explains itself (contract: "a reason for every refusal"): the standard reason phrase, a
 * `Warning: 399 <agent> "<reason>"` (RFC 3261 §20.43, code 399 "miscellaneous warning") and a note on the
 * trace naming the clause the decision comes from.
 */
export function refusal(
  request: SipRequest,
  status: number,
  reason: string,
  ctx: { node: string; trace: TraceBus; warnAgent: string; toTag: string; clause: string; level?: 'info' | 'warn' },
): SipResponse {
  const r = createResponse(request, status, undefined, ctx.toTag);
  r.headers.append('Warning', `399 ${ctx.warnAgent} "${reason.replace(/["\\]/g, "'")}"`);
  ctx.trace.note({ node: ctx.node, level: ctx.level ?? 'info', text: `${request.method} answered ${status}: ${reason}`, clause: ctx.clause });
  return r;
}
