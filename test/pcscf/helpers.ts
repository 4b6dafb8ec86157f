import { createSocket, type Socket } from 'node:dgram';
import { bindPcscf, type Pcscf } from '../../src/pcscf/index.js';
import { Headers, SipRequest, SipResponse, isRequest, type SipMessage } from '../../src/sip/message.js';
import { parseMessage } from '../../src/sip/parser.js';
import { serializeMessage } from '../../src/sip/serializer.js';
import { createResponse } from '../../src/sip/transaction/response.js';
import { parseNameAddr } from '../../src/sip/headers/name-addr.js';
import { createNodeContainer, type RunServices } from '../../src/topology/container.js';
import { Directory, type NodeEndpoint } from '../../src/topology/directory.js';
import type { NodeSpec } from '../../src/topology/node-spec.js';
import { DEFAULT_TIMERS } from '../../src/topology/schema.js';
import { TOKENS } from '../../src/topology/tokens.js';
import { TraceBus, type TraceEvent } from '../../src/trace/events.js';
import { SystemClock, type Clock } from '../../src/util/clock.js';
import { SeededRandom } from '../../src/util/random.js';

export const DOMAIN = 'ims.pcscf.test';
/** Not 5060: a softphone started elsewhere on this machine may hold 0.0.0.0:5060. */
export const PORT = 25060;
export const IMPI = `alice@${DOMAIN}`;
export const IMPU = `sip:alice@${DOMAIN}`;
export const CK = '00112233445566778899aabbccddeeff';
export const IK = 'ffeeddccbbaa99887766554433221100';

/** Waits for `test` to hold, yielding to the event loop; fails after `ms` (no fixed sleeps). */
export async function until(test: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A UDP endpoint that sends hand-built SIP and collects what comes back. */
export class RawSip {
  readonly received: Array<{ message: SipMessage; raw: Buffer; from: { address: string; port: number } }> = [];
  socket!: Socket;
  port = 0;
  onRequest: ((r: SipRequest, from: { address: string; port: number }) => void) | undefined;

  constructor(readonly address: string, private readonly fixedPort = 0) {}

  async start(): Promise<this> {
    this.socket = createSocket('udp4');
    this.socket.on('message', (buf, rinfo) => {
      let m: SipMessage;
      try {
        m = parseMessage(buf);
      } catch {
        return;
      }
      const from = { address: rinfo.address, port: rinfo.port };
      this.received.push({ message: m, raw: buf, from });
      if (isRequest(m)) this.onRequest?.(m, from);
    });
    await new Promise<void>((res, rej) => {
      this.socket.once('error', rej);
      this.socket.bind({ address: this.address, port: this.fixedPort }, () => res());
    });
    this.port = this.socket.address().port;
    return this;
  }

  send(m: SipMessage, to: { address: string; port: number }): void {
    this.socket.send(serializeMessage(m), to.port, to.address);
  }

  close(): Promise<void> {
    return new Promise((res) => this.socket.close(() => res()));
  }

  responses(): SipResponse[] {
    return this.received.map((r) => r.message).filter((m): m is SipResponse => !isRequest(m));
  }

  requests(method?: string): SipRequest[] {
    return this.received.map((r) => r.message).filter((m): m is SipRequest => isRequest(m) && (!method || m.method === method));
  }

  /** The final response whose top Via branch is `branch`. */
  async finalFor(branch: string, ms = 3000): Promise<SipResponse> {
    let found: SipResponse | undefined;
    await until(() => {
      found = this.responses().find((r) => r.status >= 200 && (r.headers.first('Via') ?? '').includes(`branch=${branch}`));
      return found !== undefined;
    }, ms, `final response for ${branch}`);
    return found!;
  }
}

let branchSeq = 0;

/** A UE that writes REGISTERs by hand (TS 24.229 §5.1.1.2 shape, or a plain RFC 3261 one). */
export class ScriptedUe extends RawSip {
  cseq = 1;
  readonly callId = `reg-${Math.random().toString(36).slice(2)}`;
  readonly tag = Math.random().toString(36).slice(2, 10);

  constructor(address: string, readonly pcscf: { address: string; port: number }) {
    super(address);
  }

  get contact(): string {
    return `sip:alice@${this.address}:${this.port}`;
  }

  register(opts: { headers?: Array<[string, string]>; omit?: string[]; expires?: number } = {}): { request: SipRequest; branch: string } {
    const branch = `z9hG4bKue${++branchSeq}${Math.random().toString(36).slice(2, 8)}`;
    const h = new Headers();
    const base: Array<[string, string]> = [
      ['Via', `SIP/2.0/UDP ${this.address}:${this.port};branch=${branch};rport`],
      ['Max-Forwards', '70'],
      ['From', `<${IMPU}>;tag=${this.tag}`],
      ['To', `<${IMPU}>`],
      ['Call-ID', this.callId],
      ['CSeq', `${this.cseq++} REGISTER`],
      ['Contact', `<${this.contact}>;expires=${opts.expires ?? 600000}`],
    ];
    for (const [n, v] of base) if (!opts.omit?.includes(n)) h.append(n, v);
    for (const [n, v] of opts.headers ?? []) h.append(n, v);
    h.append('Content-Length', '0');
    const request = new SipRequest('REGISTER', `sip:${DOMAIN}`, h);
    this.send(request, this.pcscf);
    return { request, branch };
  }
}

/** IMS AKA REGISTER headers with sec-agree (TS 24.228 §6.2 step 1). */
export function imsHeaders(ue: ScriptedUe, extra: { authorization?: string; verify?: string } = {}): Array<[string, string]> {
  const h: Array<[string, string]> = [
    ['Authorization', extra.authorization ?? `Digest username="${IMPI}", realm="${DOMAIN}", uri="sip:${DOMAIN}", nonce="", response=""`],
    ['Security-Client', `ipsec-3gpp;alg=hmac-sha-1-96;ealg=null;spi-c=1111;spi-s=2222;port-c=${ue.port};port-s=${ue.port}`],
    ['Require', 'sec-agree'],
    ['Proxy-Require', 'sec-agree'],
    ['Supported', 'path'],
    ['P-Access-Network-Info', '3GPP-E-UTRAN-FDD; utran-cell-id-3gpp=0010100010019B01'],
  ];
  if (extra.verify) h.push(['Security-Verify', extra.verify]);
  return h;
}

/**
 * A scripted I-CSCF/registrar (and S-CSCF for the reg event): answers REGISTER without a response with a 401
 * carrying ck/ik, one with a response with a 200 (Service-Route, P-Associated-URI, Contact echo), SUBSCRIBE
 * with 200 and a full NOTIFY.
 */
export class StubCore extends RawSip {
  /** Answer to give REGISTERs, decided per request; default: 401 then 200. */
  decide: ((r: SipRequest) => SipResponse | undefined) | undefined;
  notifyContact: string | undefined;
  subscribe: SipRequest | undefined;
  /** Expires granted to SUBSCRIBE. */
  subscriptionExpires = 600000;

  constructor(address: string) {
    super(address, PORT);
    this.onRequest = (r, from) => this.answer(r, from);
  }

  get serviceRoute(): string {
    return `<sip:orig@${this.address}:${PORT};lr>`;
  }

  private answer(r: SipRequest, from: { address: string; port: number }): void {
    if (r.method === 'REGISTER') {
      const custom = this.decide?.(r);
      if (custom) return this.send(custom, from);
      const auth = r.headers.get('Authorization') ?? '';
      const answered = /response="[0-9a-f]+"/.test(auth);
      if (!answered) {
        const res = createResponse(r, 401, undefined, 'stub401');
        res.headers.append('WWW-Authenticate', `Digest realm="${DOMAIN}", nonce="bm9uY2Vub25jZW5vbmNlbm9uY2Vub25jZW5vbmNl", algorithm=AKAv1-MD5, qop="auth,auth-int", ck="${CK}", ik="${IK}"`);
        res.headers.append('Content-Length', '0');
        return this.send(res, from);
      }
      return this.send(this.ok(r), from);
    }
    if (r.method === 'SUBSCRIBE') {
      const inDialog = /;tag=/.test(r.headers.get('To') ?? '');
      if (!inDialog) this.subscribe = r;
      const res = createResponse(r, 200, undefined, 'stubsub');
      res.headers.append('Contact', `<sip:scscf@${this.address}:${PORT}>`);
      res.headers.append('Expires', String(this.subscriptionExpires));
      res.headers.append('Content-Length', '0');
      this.send(res, from);
      this.notifyContact = parseNameAddr(r.headers.get('Contact') ?? '').uri;
      if (!inDialog) this.notify(r, 0, `active;expires=${this.subscriptionExpires}`, this.reginfo(0, 'full', 'active', 'active', 'registered'));
    }
  }

  ok(r: SipRequest, expires = 600000): SipResponse {
    const res = createResponse(r, 200, undefined, 'stub200');
    for (const p of r.headers.getAll('Path')) res.headers.append('Path', p);
    res.headers.append('Service-Route', this.serviceRoute);
    res.headers.append('P-Associated-URI', `<${IMPU}>, <tel:+15550001>`);
    const c = parseNameAddr(r.headers.get('Contact') ?? '').uri;
    this.contactOfRegister = c;
    const exp = /expires=0/.test(r.headers.get('Contact') ?? '') ? 0 : expires;
    if (exp > 0) res.headers.append('Contact', `<${c}>;expires=${exp}`);
    res.headers.append('Content-Length', '0');
    return res;
  }

  reginfo(version: number, state: string, regState: string, contactState: string, event: string): string {
    const contact = this.contactOfRegister ?? 'sip:unknown@127.0.0.1';
    return (
      `<?xml version="1.0"?><reginfo xmlns="urn:ietf:params:xml:ns:reginfo" version="${version}" state="${state}">` +
      `<registration aor="${IMPU}" id="r1" state="${regState}"><contact id="c1" state="${contactState}" event="${event}"><uri>${contact}</uri></contact></registration></reginfo>`
    );
  }

  contactOfRegister: string | undefined;
  private notifySeq = 1;

  /** A NOTIFY in the subscription's dialog (RFC 6665 §4.2.2), sent to the subscriber's Contact. */
  notify(sub: SipRequest, _version: number, state: string, body: string): SipRequest {
    const target = parseNameAddr(sub.headers.get('Contact') ?? '').uri;
    const m = /sip:[^@]+@([\d.]+):(\d+)/.exec(target)!;
    const h = new Headers();
    h.append('Via', `SIP/2.0/UDP ${this.address}:${PORT};branch=z9hG4bKnotify${this.notifySeq}${Math.random().toString(36).slice(2, 6)}`);
    h.append('Max-Forwards', '70');
    h.append('From', `${sub.headers.get('To')};tag=stubsub`);
    h.append('To', sub.headers.get('From')!);
    h.append('Call-ID', sub.headers.get('Call-ID')!);
    h.append('CSeq', `${this.notifySeq++} NOTIFY`);
    h.append('Contact', `<sip:scscf@${this.address}:${PORT}>`);
    h.append('Event', 'reg');
    h.append('Subscription-State', state);
    h.append('Content-Type', 'application/reginfo+xml');
    const body0 = Buffer.from(body);
    h.append('Content-Length', String(body0.length));
    const n = new SipRequest('NOTIFY', target, h, body0);
    this.send(n, { address: m[1]!, port: Number(m[2]) });
    return n;
  }
}

export interface LabOptions {
  secAgree?: boolean;
  icscf?: string;
  t1?: number;
  regEvent?: boolean;
  clock?: Clock;
}

/** A P-CSCF in its own container on 127.0.41.1, as the runner builds it, with the trace collected. */
export class PcscfLab {
  readonly events: TraceEvent[] = [];
  readonly bus: TraceBus;
  readonly directory: Directory;
  pcscf!: Pcscf;

  constructor(readonly options: LabOptions = {}) {
    this.bus = new TraceBus(new SystemClock());
    this.bus.events$.subscribe((e) => this.events.push(e));
    const endpoints: NodeEndpoint[] = [
      { name: 'pcscf1', kind: 'pcscf', address: '127.0.41.1', ports: { udp: PORT }, domain: DOMAIN },
      { name: 'icscf1', kind: 'icscf', address: '127.0.41.2', ports: { udp: PORT }, domain: DOMAIN },
    ];
    this.directory = new Directory(endpoints, DOMAIN);
  }

  async start(): Promise<this> {
    const run: RunServices = {
      clock: this.options.clock ?? new SystemClock(),
      random: new SeededRandom('pcscf-tests'),
      bus: this.bus,
      directory: this.directory,
      dataDir: '/nonexistent',
      timers: { ...DEFAULT_TIMERS, T1: this.options.t1 ?? DEFAULT_TIMERS.T1 },
    };
    const spec: NodeSpec = {
      name: 'pcscf1',
      kind: 'pcscf',
      address: '127.0.41.1',
      ports: { udp: PORT },
      domain: DOMAIN,
      settings: { icscf: this.options.icscf ?? 'icscf1', secAgree: this.options.secAgree ?? true, visitedNetworkId: 'visited.pcscf.test', regEvent: this.options.regEvent ?? true },
    };
    const c = createNodeContainer(run, spec, { tryingImmediately: true });
    bindPcscf(c);
    this.pcscf = c.get<Pcscf>(TOKENS.Node);
    await this.pcscf.start();
    return this;
  }

  stop(): Promise<void> {
    return this.pcscf.stop();
  }

  notes(): string[] {
    return this.events.filter((e) => e.type === 'note' && e.node === 'pcscf1').map((e) => (e.type === 'note' ? e.text : ''));
  }
}
