import { createSocket, type Socket } from 'node:dgram';
import { Usim } from '../../../src/aka/usim.js';
import { HssNode } from '../../../src/hss/hss-node.js';
import { MemorySubscriberStore } from '../../../src/hss/memory-store.js';
import type { Subscriber } from '../../../src/hss/subscriber.js';
import { Icscf, bindIcscf } from '../../../src/scscf/icscf/index.js';
import { Scscf, bindScscf } from '../../../src/scscf/scscf/index.js';
import { computeDigestResponse, decodeAkaNonce, akaPassword, encodeAuts } from '../../../src/sip/auth/digest.js';
import { formatCredentials } from '../../../src/sip/auth/credentials.js';
import { parseChallenge, type Challenge } from '../../../src/sip/headers/auth.js';
import { Headers, SipRequest, SipResponse, isRequest, type SipMessage } from '../../../src/sip/message.js';
import { parseMessage } from '../../../src/sip/parser.js';
import { serializeMessage } from '../../../src/sip/serializer.js';
import { createNodeContainer, type RunServices } from '../../../src/topology/container.js';
import { Directory, type NodeEndpoint } from '../../../src/topology/directory.js';
import type { NodeSpec } from '../../../src/topology/node-spec.js';
import { TOKENS } from '../../../src/topology/tokens.js';
import { TraceBus, type TraceEvent } from '../../../src/trace/events.js';
import { SystemClock, type Clock } from '../../../src/util/clock.js';
import { SeededRandom } from '../../../src/util/random.js';
import { DEFAULT_TIMERS } from '../../../src/topology/schema.js';

export const DOMAIN = 'ims.lab.test';
export const K = Buffer.from('465b5ce8b199b49faa5f0a2ee238a6bc', 'hex');
export const OP = Buffer.from('cdc202d5123e20f62b6d676ac72cb318', 'hex');
export const AMF = Buffer.from('8000', 'hex');

export const ALICE: Subscriber = {
  impi: `alice@${DOMAIN}`,
  impus: [{ uri: `sip:alice@${DOMAIN}`, barred: false }, { uri: 'tel:+15550001', barred: false }, { uri: `sip:alice-hidden@${DOMAIN}`, barred: true }],
  authSchemes: ['AKAv1-MD5', 'AKAv2-MD5'],
  k: K, op: OP, amf: AMF, sqn: 0x40n, allowedVisitedNetworks: [],
};
export const BOB: Subscriber = {
  impi: `bob@${DOMAIN}`, impus: [{ uri: `sip:bob@${DOMAIN}`, barred: false }], authSchemes: ['SIP Digest'],
  password: 'bob-secret', amf: AMF, sqn: 0n, allowedVisitedNetworks: [],
};
export const CAROL: Subscriber = {
  impi: `carol@${DOMAIN}`, impus: [{ uri: `sip:carol@${DOMAIN}`, barred: true }], authSchemes: ['AKAv1-MD5'],
  k: K, op: OP, amf: AMF, sqn: 0n, allowedVisitedNetworks: [],
};

export interface LabOptions {
  /** Third octet block: every address is 127.0.42.<n>; tests in one file share it. */
  base?: string;
  scscfSettings?: Record<string, unknown>;
  icscfSettings?: Record<string, unknown>;
  /** Clock for the CSCFs (the HSS always runs on the system clock). */
  clock?: Clock;
  /** Do not start the HSS (its address then refuses connections). */
  noHss?: boolean;
  hssPort?: number;
}

/** An HSS (real Cx server on a memory store), an I-CSCF and an S-CSCF, each in its own container as the runner builds them. */
export class Lab {
  readonly events: TraceEvent[] = [];
  readonly bus: TraceBus;
  readonly directory: Directory;
  readonly store = new MemorySubscriberStore();
  hss!: HssNode;
  icscf!: Icscf;
  scscf!: Scscf;
  readonly ips: { hss: string; icscf: string; scscf: string; ue: string };
  private readonly clock: Clock;
  private readonly random = new SeededRandom('scscf-tests');

  constructor(readonly options: LabOptions = {}) {
    const b = options.base ?? '127.0.42.';
    this.ips = { hss: `${b}4`, icscf: `${b}2`, scscf: `${b}3`, ue: `${b}10` };
    this.clock = options.clock ?? new SystemClock();
    this.bus = new TraceBus(this.clock);
    this.bus.events$.subscribe((e) => this.events.push(e));
    const endpoints: NodeEndpoint[] = [
      { name: 'hss1', kind: 'hss', address: this.ips.hss, ports: { diameter: options.hssPort ?? 3868 }, domain: DOMAIN },
      { name: 'icscf1', kind: 'icscf', address: this.ips.icscf, ports: { udp: 5060 }, domain: DOMAIN },
      { name: 'scscf1', kind: 'scscf', address: this.ips.scscf, ports: { udp: 5060 }, domain: DOMAIN },
    ];
    this.directory = new Directory(endpoints, DOMAIN);
    for (const s of [ALICE, BOB, CAROL]) this.store.put({ ...s, impus: s.impus.map((p) => ({ ...p })) });
  }

  async start(): Promise<this> {
    const sysClock = new SystemClock();
    const hssBus = this.bus;
    if (!this.options.noHss) {
      this.hss = new HssNode({
        spec: { name: 'hss1', kind: 'hss', address: this.ips.hss, ports: { diameter: this.options.hssPort ?? 3868 }, domain: DOMAIN, settings: { realm: DOMAIN } },
        clock: sysClock, random: this.random.fork('hss1'), trace: hssBus, dataDir: '/nonexistent', store: this.store,
      });
      await this.hss.start();
    }
    const run: RunServices = { clock: this.clock, random: this.random, bus: this.bus, directory: this.directory, dataDir: '/nonexistent', timers: DEFAULT_TIMERS };
    const scSpec: NodeSpec = {
      name: 'scscf1', kind: 'scscf', address: this.ips.scscf, ports: { udp: 5060 }, domain: DOMAIN,
      // The scripted UEs (<base>10-19) stand in for P-CSCFs (Path, P-Asserted-Identity, integrity-protected): trusted peers (src/scscf/trust-domain.ts).
      settings: { hss: 'hss1', capabilities: [0], minExpires: 1, trustedPeers: this.standInPcscfs(), ...this.options.scscfSettings },
    };
    const sc = createNodeContainer(run, scSpec, { tryingImmediately: true });
    bindScscf(sc);
    this.scscf = sc.get<Scscf>(TOKENS.Node);
    await this.scscf.start();
    const icSpec: NodeSpec = {
      name: 'icscf1', kind: 'icscf', address: this.ips.icscf, ports: { udp: 5060 }, domain: DOMAIN,
      settings: { hss: 'hss1', scscfs: ['scscf1'], scscfCapabilities: { scscf1: [0] }, trustedPeers: this.standInPcscfs(), ...this.options.icscfSettings },
    };
    const ic = createNodeContainer(run, icSpec, { tryingImmediately: true });
    bindIcscf(ic);
    this.icscf = ic.get<Icscf>(TOKENS.Node);
    await this.icscf.start();
    return this;
  }

  private standInPcscfs(): string[] {
    const b = this.options.base ?? '127.0.42.';
    return Array.from({ length: 10 }, (_, i) => `${b}${10 + i}`);
  }

  async stop(): Promise<void> {
    await this.icscf?.stop();
    await this.scscf?.stop();
    await this.hss?.stop().catch(() => undefined);
  }

  notes(node?: string): string[] {
    return this.events.filter((e) => e.type === 'note' && (!node || e.node === node)).map((e) => (e.type === 'note' ? e.text : ''));
  }

  /** SIP messages a node sent, parsed from the trace bytes. */
  sipSent(node: string): SipMessage[] {
    return this.events.filter((e) => e.type === 'packet' && e.node === node && e.direction === 'send' && e.protocol === 'sip').map((e) => parseMessage((e as { bytes: Buffer }).bytes));
  }

  /** Cx command codes (TS 29.229 §6.1: 300-305) the HSS received, in order; base CER/DWR left out. */
  hssReceived(): number[] {
    return this.events
      .filter((e) => e.type === 'packet' && e.node === 'hss1' && e.direction === 'recv' && e.protocol === 'diameter')
      .map((e) => (e as { bytes: Buffer }).bytes.readUIntBE(5, 3))
      .filter((code) => code >= 300 && code <= 305);
  }
}

/** Waits for `test` to hold, polling the event loop (no fixed sleeps); fails after `ms`. */
export async function until(test: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * A scripted UE over UDP: builds REGISTERs and SUBSCRIBEs by hand, answers them from its USIM or password,
 * collects NOTIFYs (and answers them 200).
 */
export class ScriptedUe {
  readonly notifies: SipRequest[] = [];
  /** Every request received, retransmissions included (session tests read what reached the UE). */
  readonly requests: SipRequest[] = [];
  /** Every response received, provisional ones included. */
  readonly responses: SipResponse[] = [];
  /** Session tests answer requests themselves: returning true means handled (no automatic 200). */
  onRequest?: (request: SipRequest) => boolean;
  private socket!: Socket;
  private readonly waiters: Array<{ match: (r: SipResponse) => boolean; resolve: (r: SipResponse) => void }> = [];
  private cseq = 1;
  private branchN = 0;
  readonly callId: string;
  readonly tag: string;
  port = 0;

  constructor(
    readonly address: string,
    readonly impi: string,
    readonly impu: string,
    readonly secret: { usim?: Usim; password?: string },
    readonly next: { address: string; port: number },
  ) {
    this.callId = `${impi.split('@')[0]}-${Math.random().toString(36).slice(2)}@${address}`;
    this.tag = Math.random().toString(36).slice(2, 10);
  }

  async start(): Promise<this> {
    this.socket = createSocket('udp4');
    this.socket.on('message', (buf) => this.receive(buf));
    await new Promise<void>((res) => this.socket.bind({ address: this.address, port: 0 }, () => res()));
    this.port = this.socket.address().port;
    return this;
  }

  close(): Promise<void> {
    return new Promise((res) => this.socket.close(() => res()));
  }

  get contact(): string {
    return `sip:ue@${this.address}:${this.port}`;
  }

  register(opts: { expires?: number; authorization?: string; contact?: string; extra?: Array<[string, string]> } = {}): Promise<SipResponse> {
    const h = new Headers();
    h.append('Via', `SIP/2.0/UDP ${this.address}:${this.port};branch=z9hG4bK${this.tag}${++this.branchN};rport`);
    h.append('Max-Forwards', '70');
    h.append('From', `<${this.impu}>;tag=${this.tag}`);
    h.append('To', `<${this.impu}>`);
    h.append('Call-ID', this.callId);
    h.append('CSeq', `${this.cseq++} REGISTER`);
    h.append('Contact', opts.contact ?? `<${this.contact}>;+sip.instance="<urn:uuid:00000000-0000-1000-8000-${this.tag.padEnd(12, '0').slice(0, 12)}>"`);
    h.append('Expires', String(opts.expires ?? 600000));
    h.append('Authorization', opts.authorization ?? formatCredentials([['username', this.impi], ['realm', DOMAIN], ['uri', `sip:${DOMAIN}`], ['nonce', ''], ['response', '']]));
    h.append('Path', `<sip:term@${this.address}:${this.port};lr>`);
    h.append('Supported', 'path');
    for (const [n, v] of opts.extra ?? []) h.append(n, v);
    return this.send(new SipRequest('REGISTER', `sip:${DOMAIN}`, h));
  }

  /** Authorization answering a challenge: AKA from the USIM (or auts on a sync failure), digest from the password. */
  answer(challengeHeader: string, opts: { body?: Buffer; extraParams?: Array<[string, string]> } = {}): { authorization: string; outcome: string } {
    const ch: Challenge = parseChallenge(challengeHeader);
    const alg = ch.algorithm ?? 'MD5';
    const base: Array<[string, string]> = [['username', this.impi], ['realm', ch.realm!], ['nonce', ch.nonce!], ['uri', `sip:${DOMAIN}`]];
    const cnonce = 'c0ffee42';
    if (alg.toUpperCase().startsWith('AKA')) {
      const { rand, autn } = decodeAkaNonce(ch.nonce!);
      const r = this.secret.usim!.authenticate(rand, autn);
      if (!r.ok && r.cause === 'sync-failure') {
        const response = computeDigestResponse({ username: this.impi, realm: ch.realm!, password: '', method: 'REGISTER', uri: `sip:${DOMAIN}`, nonce: ch.nonce!, qop: 'auth', nc: 1, cnonce, algorithm: alg });
        return { authorization: formatCredentials([...base, ['algorithm', alg], ['qop', 'auth'], ['nc', '00000001'], ['cnonce', cnonce], ['response', response], ['auts', encodeAuts(r.auts)], ...(opts.extraParams ?? [])]), outcome: 'sync-failure' };
      }
      if (!r.ok) return { authorization: formatCredentials([...base, ['algorithm', alg], ['response', ''], ...(opts.extraParams ?? [])]), outcome: 'mac-failure' };
      const password = akaPassword(alg.toUpperCase().startsWith('AKAV2') ? 2 : 1, r.res, r.ik, r.ck);
      const response = computeDigestResponse({ username: this.impi, realm: ch.realm!, password, method: 'REGISTER', uri: `sip:${DOMAIN}`, nonce: ch.nonce!, qop: 'auth', nc: 1, cnonce, algorithm: alg });
      return { authorization: formatCredentials([...base, ['algorithm', alg], ['qop', 'auth'], ['nc', '00000001'], ['cnonce', cnonce], ['response', response], ...(opts.extraParams ?? [])]), outcome: 'ok' };
    }
    const response = computeDigestResponse({ username: this.impi, realm: ch.realm!, password: this.secret.password!, method: 'REGISTER', uri: `sip:${DOMAIN}`, nonce: ch.nonce!, qop: 'auth', nc: 1, cnonce, algorithm: alg });
    return { authorization: formatCredentials([...base, ['algorithm', alg], ['qop', 'auth'], ['nc', '00000001'], ['cnonce', cnonce], ['response', response], ...(opts.extraParams ?? [])]), outcome: 'ok' };
  }

  /** REGISTER → 401 → answered REGISTER → final response. */
  async registerFully(opts: { expires?: number } = {}): Promise<{ challenge: SipResponse; final: SipResponse }> {
    const challenge = await this.register(opts);
    if (challenge.status !== 401) return { challenge, final: challenge };
    const { authorization } = this.answer(challenge.headers.get('WWW-Authenticate')!);
    return { challenge, final: await this.register({ ...opts, authorization }) };
  }

  subscribe(target: { address: string; port: number }, opts: { expires?: number } = {}): Promise<SipResponse> {
    const h = new Headers();
    h.append('Via', `SIP/2.0/UDP ${this.address}:${this.port};branch=z9hG4bK${this.tag}s${++this.branchN};rport`);
    h.append('Max-Forwards', '70');
    h.append('From', `<${this.impu}>;tag=${this.tag}s`);
    h.append('To', `<${this.impu}>`);
    h.append('Call-ID', `sub-${this.callId}`);
    h.append('CSeq', `${this.cseq++} SUBSCRIBE`);
    h.append('Contact', `<${this.contact}>`);
    h.append('Event', 'reg');
    h.append('Accept', 'application/reginfo+xml');
    h.append('Expires', String(opts.expires ?? 600000));
    h.append('P-Asserted-Identity', `<${this.impu}>`);
    return this.send(new SipRequest('SUBSCRIBE', this.impu, h), target);
  }

  /** Sends a message without waiting for anything (ACK, responses of a scripted UAS). */
  transmit(message: SipMessage, to: { address: string; port: number }): void {
    this.socket.send(serializeMessage(message), to.port, to.address);
  }

  send(request: SipRequest, to = this.next): Promise<SipResponse> {
    const cseq = request.headers.get('CSeq')!;
    const callId = request.headers.get('Call-ID')!;
    const p = new Promise<SipResponse>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no final response to ${cseq}`)), 8000);
      this.waiters.push({ match: (r) => r.status >= 200 && r.headers.get('CSeq') === cseq && r.headers.get('Call-ID') === callId, resolve: (r) => (clearTimeout(t), resolve(r)) });
    });
    this.socket.send(serializeMessage(request), to.port, to.address);
    return p;
  }

  private receive(buf: Buffer): void {
    const m = parseMessage(buf);
    if (isRequest(m)) {
      this.requests.push(m);
      if (this.onRequest?.(m)) return;
      if (m.method === 'NOTIFY') this.notifies.push(m);
      const h = new Headers();
      for (const n of ['Via', 'From', 'To', 'Call-ID', 'CSeq']) for (const v of m.headers.getAll(n)) h.append(n, v);
      const to = h.get('To')!;
      if (!to.includes('tag=')) h.set('To', `${to};tag=ue`);
      const via = m.headers.first('Via')!;
      const port = Number(/:(\d+)/.exec(via.split(' ')[1]!)![1]);
      const host = via.split(' ')[1]!.split(':')[0]!;
      this.socket.send(serializeMessage(new SipResponse(200, 'OK', h)), port, host);
      return;
    }
    this.responses.push(m);
    const i = this.waiters.findIndex((w) => w.match(m));
    if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(m);
  }
}

export function aliceUsim(sqnMs?: number): Usim {
  return new Usim({ k: K, op: OP, ...(sqnMs !== undefined ? { sqnState: { indBits: 5, seqMs: new Array(32).fill(sqnMs) } } : {}) });
}
