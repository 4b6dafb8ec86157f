/** A real SIP stack on a loopback address for UA-core tests: transport → transactions → UserAgent. */
import { filter, firstValueFrom, timeout, type Observable } from 'rxjs';
import { TraceBus, type PacketEvent, type TraceEvent } from '../../../src/trace/events.js';
import { TransportLayer } from '../../../src/sip/transport/layer.js';
import { TransactionLayer } from '../../../src/sip/transaction/index.js';
import { UserAgent, type UserAgentOptions } from '../../../src/sip/ua/index.js';
import { parseMessage } from '../../../src/sip/parser.js';
import { isRequest, type SipMessage, type SipRequest, type SipResponse } from '../../../src/sip/message.js';
import type { Clock } from '../../../src/util/clock.js';
import { SeededRandom } from '../../../src/util/random.js';

export interface Stack {
  name: string;
  address: string;
  port: number;
  transport: TransportLayer;
  transactions: TransactionLayer;
  ua: UserAgent;
  close(): Promise<void>;
}

export async function startStack(
  name: string,
  address: string,
  bus: TraceBus,
  clock: Clock,
  extra: Partial<UserAgentOptions> = {},
): Promise<Stack> {
  const random = new SeededRandom(name);
  const transport = new TransportLayer({ node: name, address, ports: { udp: 0 }, trace: bus, clock, random: random.fork('t') });
  await transport.start();
  const transactions = new TransactionLayer(transport, clock, random.fork('x'), { trace: bus, node: name });
  const port = transport.localAddress('udp').port;
  const ua = new UserAgent({
    node: name,
    transactions,
    clock,
    random,
    trace: bus,
    contact: `sip:${name}@${address}:${port}`,
    identity: `<sip:${name}@example.test>`,
    ...extra,
  });
  return {
    name,
    address,
    port,
    transport,
    transactions,
    ua,
    async close() {
      ua.close();
      transactions.close();
      await transport.close();
    },
  };
}

/** The next packet a node sends or receives that matches, parsed; fails after `ms` of real time. */
export async function nextMessage(
  bus: TraceBus,
  match: (m: SipMessage, e: PacketEvent) => boolean,
  ms = 3000,
): Promise<{ message: SipMessage; event: PacketEvent }> {
  const events$ = bus.events$ as Observable<TraceEvent>;
  const e = await firstValueFrom(
    events$.pipe(
      filter((x): x is PacketEvent => x.type === 'packet' && x.protocol === 'sip'),
      filter((x) => {
        try {
          return match(parseMessage(x.bytes), x);
        } catch {
          return false;
        }
      }),
      timeout(ms),
    ),
  );
  return { message: parseMessage(e.bytes), event: e };
}

/** Starts listening now; resolves with every matching message seen until `count` have been. */
export function collect(bus: TraceBus, match: (m: SipMessage, e: PacketEvent) => boolean): SipMessage[] {
  const out: SipMessage[] = [];
  bus.events$.subscribe((x) => {
    if (x.type !== 'packet' || x.protocol !== 'sip') return;
    try {
      const m = parseMessage(x.bytes);
      if (match(m, x)) out.push(m);
    } catch {
      /* not SIP */
    }
  });
  return out;
}

export const isReq = (method: string) => (m: SipMessage): m is SipRequest => isRequest(m) && m.method === method;
export const isResp = (status: number, method?: string) => (m: SipMessage): m is SipResponse =>
  !isRequest(m) && m.status === status && (method === undefined || (m.headers.get('CSeq') ?? '').endsWith(` ${method}`));

/** Waits until an observable-free condition holds, checking after each trace event (bounded). */
export async function until(bus: TraceBus, cond: () => boolean, ms = 3000): Promise<void> {
  if (cond()) return;
  await firstValueFrom(bus.events$.pipe(filter(() => cond()), timeout(ms)));
}
