import { formatCredentials } from '../../src/sip/auth/credentials.js';
import { computeDigestResponse } from '../../src/sip/auth/digest.js';
import { Dialog } from '../../src/sip/dialog/dialog.js';
import { parseChallenge } from '../../src/sip/headers/auth.js';
import { parseCSeq } from '../../src/sip/headers/cseq.js';
import type { SipRequest, SipResponse } from '../../src/sip/message.js';
import { parseMessage } from '../../src/sip/parser.js';
import { TransactionLayer } from '../../src/sip/transaction/layer.js';
import { TransportLayer } from '../../src/sip/transport/layer.js';
import type { TransportAddress } from '../../src/sip/transport/types.js';
import { UserAgent, type ChallengeHandler, type IncomingRequest } from '../../src/sip/ua/index.js';
import { parseTopology } from '../../src/topology/loader.js';
import { startTopology, type RunningTopology } from '../../src/topology/runner.js';
import { TraceBus, type PacketEvent } from '../../src/trace/events.js';
import { SystemClock } from '../../src/util/clock.js';
import { SeededRandom } from '../../src/util/random.js';
import type { ProxyNode } from '../../src/proxy/index.js';

export const DOMAIN = 'proxy.lab.test';
/** Not 5060: a softphone elsewhere on this machine may hold 0.0.0.0:5060. */
export const PORT = 25062;

/** A topology with one proxy node on 127.0.62.1 and three digest users. */
export function topologyYaml(extra: Record<string, string | boolean> = {}, address = '127.0.62.1'): string {
  const fields = Object.entries(extra)
    .map(([k, v]) => `    ${k}: ${typeof v === 'string' ? JSON.stringify(v) : v}\n`)
    .join('');
  return `name: proxy-lab
domains: [${DOMAIN}]
nodes:
  - name: proxy1
    kind: proxy
    address: ${address}
    transports: { udp: ${PORT} }
${fields}subscribers:
  - { impi: alice@${DOMAIN}, impus: [sip:alice@${DOMAIN}], password: alice-secret }
  - { impi: bob@${DOMAIN}, impus: [sip:bob@${DOMAIN}], password: bob-secret }
  - { impi: carol@${DOMAIN}, impus: [sip:carol@${DOMAIN}], password: carol-secret }
`;
}

export async function startProxy(extra: Record<string, string | boolean> = {}, address = '127.0.62.1'): Promise<{ run: RunningTopology; proxy: ProxyNode; packets: PacketEvent[] }> {
  const bus = new TraceBus(new SystemClock());
  const packets: PacketEvent[] = [];
  bus.events$.subscribe((e) => {
    if (e.type === 'packet') packets.push(e);
  });
  const run = await startTopology(parseTopology(topologyYaml(extra, address)), { bus, ues: false });
  return { run, proxy: run.node<ProxyNode>('proxy1'), packets };
}

/** Parsed SIP the proxy received or sent, in order. */
export function sipOf(packets: PacketEvent[], node: string, direction: 'send' | 'recv'): Array<SipRequest | SipResponse> {
  return packets.filter((p) => p.node === node && p.direction === direction && p.protocol === 'sip').map((p) => parseMessage(p.bytes) as SipRequest | SipResponse);
}

let seed = 1;

/** A SIP phone on loopback: a UserAgent on its own transport, with its outbound proxy set to the proxy. */
export class Phone {
  ua!: UserAgent;
  transport!: TransportLayer;
  transactions!: TransactionLayer;
  readonly incoming: IncomingRequest[] = [];
  /** How the phone answers INVITE: 200, 486, or not at all. */
  answer: 200 | 486 | 'none' = 200;

  constructor(
    readonly user: string,
    readonly address: string,
    public password: string,
    readonly proxy: TransportAddress = { transport: 'udp', address: '127.0.62.1', port: PORT },
  ) {}

  get aor(): string {
    return `sip:${this.user}@${DOMAIN}`;
  }

  async start(): Promise<this> {
    const clock = new SystemClock();
    const random = new SeededRandom(`phone-${seed++}`);
    const trace = new TraceBus(clock);
    this.transport = new TransportLayer({ node: this.user, address: this.address, ports: { udp: 0 }, trace, clock, random });
    await this.transport.start();
    this.transactions = new TransactionLayer(this.transport, clock, random.fork('t'), { trace, node: this.user });
    const local = this.transport.localAddress('udp');
    this.ua = new UserAgent({
      node: this.user,
      transactions: this.transactions,
      clock,
      random,
      trace,
      contact: `sip:${this.user}@${local.address}:${local.port}`,
      identity: `<${this.aor}>`,
      outboundProxy: this.proxy,
    });
    this.ua.onRequest('INVITE', (inc) => {
      this.incoming.push(inc);
      if (this.answer === 'none') return;
      if (this.answer === 486) {
        inc.respond(486);
        return;
      }
      const rr = inc.request.headers.getAll('Record-Route').map((v) => ['Record-Route', v] as const);
      inc.respond(200, { headers: [...rr, ['Contact', `<${this.ua.contact}>`]] });
      const dialog = Dialog.asUas(inc.request, inc.localTag, this.ua.contact, 'confirmed');
      this.ua.attachDialog(dialog, { methods: ['BYE'], onRequest: (i) => (this.incoming.push(i), i.respond(200)) });
    });
    this.ua.onRequest('MESSAGE', (inc) => (this.incoming.push(inc), inc.respond(200)));
    return this;
  }

  /** RFC 2617 §3.2.2 answer to the last challenge (401 or 407) with this phone's password. */
  digest(nc = 1): ChallengeHandler {
    return (response, request) => {
      const proxyAuth = response.status === 407;
      const value = response.headers.get(proxyAuth ? 'Proxy-Authenticate' : 'WWW-Authenticate');
      if (!value) return undefined;
      const ch = parseChallenge(value);
      const cnonce = `c${Math.random().toString(16).slice(2, 10)}`;
      const answer = computeDigestResponse({
        username: this.user,
        realm: ch.realm!,
        password: this.password,
        method: request.method,
        uri: request.uri,
        nonce: ch.nonce!,
        nc,
        cnonce,
        qop: 'auth',
      });
      const creds = formatCredentials([
        ['username', this.user],
        ['realm', ch.realm!],
        ['nonce', ch.nonce!],
        ['uri', request.uri],
        ['response', answer],
        ['algorithm', 'MD5'],
        ['cnonce', cnonce],
        ['qop', 'auth'],
        ['nc', nc.toString(16).padStart(8, '0')],
      ]);
      return { headers: { [proxyAuth ? 'Proxy-Authorization' : 'Authorization']: creds } };
    };
  }

  register(expires = 600, contact?: string) {
    return this.ua.request('REGISTER', `sip:${DOMAIN}`, {
      to: `<${this.aor}>`,
      contact: `<${contact ?? this.ua.contact}>;expires=${expires}`,
      onChallenge: this.digest(),
    });
  }

  /** INVITE … 200 … ACK; returns the dialog (or the final response when it was not 2xx). */
  async call(target: string, withAuth = false): Promise<{ response: SipResponse; dialog?: Dialog }> {
    const result = await this.ua.request('INVITE', target, withAuth ? { onChallenge: this.digest() } : {});
    if (result.response.status < 200 || result.response.status >= 300) return { response: result.response };
    const dialog = Dialog.asUac(result.request, result.response, this.ua.contact);
    await this.ua.ack(dialog, parseCSeq(result.request.headers.get('CSeq')!).seq);
    return { response: result.response, dialog };
  }

  async stop(): Promise<void> {
    this.ua.close();
    this.transactions.close();
    await this.transport.close();
  }
}

/** Waits for `test` to hold, yielding to the event loop; fails after `ms` (no fixed sleeps). */
export async function until(test: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
