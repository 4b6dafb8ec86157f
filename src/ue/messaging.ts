/**
 * Page-mode instant messages (RFC 3428) as TS 24.229 §5.1.2A.1 sends them from a UE: a MESSAGE outside any
 * dialog with the preloaded Route (P-CSCF + Service-Route), P-Preferred-Identity and a text/plain body; the
 * receiving UE answers 200 and keeps what it got.
 */
import type { TraceBus } from '../trace/events.js';
import type { Clock } from '../util/clock.js';
import type { IncomingRequest, UserAgent } from '../sip/ua/index.js';

export interface InstantMessage {
  /** The sender as the network asserted it (P-Asserted-Identity), else the From. */
  from: string;
  text: string;
  contentType: string;
  /** Run clock time of arrival, ms. */
  at: number;
}

export interface MessageOutcome {
  status: number;
  reason: string;
}

export interface OutgoingMessage {
  ua: UserAgent;
  target: string;
  text: string;
  identity: string;
  routeSet: readonly string[];
  accessHeaders: ReadonlyArray<readonly [string, string]>;
}

/** RFC 3428 §4: sends the MESSAGE; resolves with the final status (a timeout is the transaction's 408). */
export async function sendMessage(m: OutgoingMessage): Promise<MessageOutcome> {
  const { response } = await m.ua.request('MESSAGE', m.target, {
    routeSet: m.routeSet,
    headers: [['P-Preferred-Identity', `<${m.identity}>`], ...m.accessHeaders],
    body: m.text,
    contentType: 'text/plain;charset=UTF-8',
  });
  const warning = response.headers.get('Warning');
  return { status: response.status, reason: warning ? `${response.reason}; Warning: ${warning}` : response.reason };
}

/**
 * RFC 3428 §7: a text/* body is accepted with 200 and kept; any other type gets 415 with Accept, so the
 * sender learns what this UE can show.
 */
export function receiveMessage(incoming: IncomingRequest, inbox: InstantMessage[], clock: Clock, trace: TraceBus, node: string): void {
  const request = incoming.request;
  const contentType = (request.headers.get('Content-Type') ?? 'text/plain').trim();
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  if (!type.startsWith('text/')) {
    trace.note({ node, level: 'info', text: `MESSAGE refused with 415: body type ${type} is not text`, clause: 'RFC 3428 §7' });
    incoming.respond(415, { headers: [['Accept', 'text/plain']] });
    return;
  }
  const from = request.headers.get('P-Asserted-Identity') ?? request.headers.get('From') ?? '';
  const text = request.body.toString('utf8');
  inbox.push({ from, text, contentType, at: clock.now() });
  trace.note({ node, level: 'info', text: `MESSAGE from ${from}: ${JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text)}`, clause: 'RFC 3428 §7' });
  incoming.respond(200);
}
