import type { SipRequest, SipResponse } from '../sip/message.js';
import { createResponse } from '../sip/transaction/response.js';
import type { TraceBus } from '../trace/events.js';

export interface RefusalContext {
  node: string;
  trace: TraceBus;
  /** The warn-agent of Warning (RFC 3261 §20.43): this node's address. */
  warnAgent: string;
  toTag: string;
}

/**
 * A refusal that says why (contract: "a reason for every refusal"): the standard reason phrase, a
 * `Warning: 399 <agent> "<reason>"` (RFC 3261 §20.43) and a note on the trace with the clause it comes from.
 */
export function refuse(
  ctx: RefusalContext,
  request: SipRequest,
  status: number,
  reason: string,
  clause: string,
  level: 'info' | 'warn' = 'info',
): SipResponse {
  const r = createResponse(request, status, undefined, ctx.toTag);
  r.headers.append('Warning', warning(ctx.warnAgent, reason));
  ctx.trace.note({ node: ctx.node, level, text: `${request.method} answered ${status}: ${reason}`, clause });
  return r;
}

export function warning(agent: string, reason: string): string {
  return `399 ${agent} "${reason.replace(/["\\]/g, "'")}"`;
}
