/**
 * A tiny UAS playing P-CSCF + S-CSCF + HSS for UE tests: challenges REGISTER with a real AKA vector from
 * src/aka, checks the answer, resynchronises on auts, and answers 200 with Service-Route and
 * P-Associated-URI; accepts the reg-event SUBSCRIBE as an RFC 6665 notifier.
 */
import { computeOpc } from '../../src/aka/milenage.js';
import { resynchronise } from '../../src/aka/resync.js';
import { nextSqn, sqnToNumber } from '../../src/aka/sqn.js';
import { generateVector, type AuthenticationVector } from '../../src/aka/vector.js';
import { buildRegInfo, type ContactEvent } from '../../src/scscf/reginfo.js';
import { computeDigestResponse, decodeAuts, digestResponsesEqual, encodeAkaNonce, type Qop } from '../../src/sip/auth/digest.js';
import { parseCredentials } from '../../src/sip/headers/auth.js';
import { parseContacts } from '../../src/sip/headers/contact.js';
import type { SipRequest } from '../../src/sip/message.js';
import { Notifier, type IncomingRequest } from '../../src/sip/ua/index.js';
import type { TraceBus } from '../../src/trace/events.js';
import type { Clock } from '../../src/util/clock.js';
import { SeededRandom } from '../../src/util/random.js';
import { startStack, type Stack } from '../sip/ua/stack.js';

export const DOMAIN = 'ims.mnc001.mcc001.3gppnetwork.org';
export const K = Buffer.from('465b5ce8b199b49faa5f0a2ee238a6bc', 'hex');
export const OP = Buffer.from('cdc202d5123e20f62b6d676ac72cb318', 'hex');
export const AMF = Buffer.from('8000', 'hex');

export interface RegistrarOptions {
  /** The HSS's SQN for this subscriber (the last one used). */
  sqn: number;
  expires?: number;
  /** Answer every REGISTER with this instead (e.g. 403 + Warning). */
  refuse?: { status: number; reason: string; warning?: string };
  /** Digest instead of AKA: the subscriber's password. */
  password?: string;
}

export class ScriptedRegistrar {
  readonly registers: SipRequest[] = [];
  readonly subscribes: SipRequest[] = [];
  notifier: Notifier | undefined;
  sqn: number;
  contacts = new Map<string, { expires: number; event: ContactEvent; state: 'active' | 'terminated' }>();
  private readonly opc = computeOpc(K, OP);
  private readonly random = new SeededRandom('registrar-vectors');
  private readonly vectors = new Map<string, AuthenticationVector>();
  private readonly digestNonces = new Set<string>();
  private version = 0;

  private constructor(
    readonly stack: Stack,
    readonly options: RegistrarOptions,
  ) {
    this.sqn = options.sqn;
    stack.ua.onRequest('REGISTER', (inc) => this.register(inc));
    stack.ua.onRequest('SUBSCRIBE', (inc) => this.subscribe(inc));
  }

  static async start(address: string, bus: TraceBus, clock: Clock, options: RegistrarOptions): Promise<ScriptedRegistrar> {
    const stack = await startStack('registrar', address, bus, clock, { supported: ['path', 'sec-agree'] });
    return new ScriptedRegistrar(stack, options);
  }

  get serviceRoute(): string {
    return `<sip:orig@${this.stack.address}:${this.stack.port};lr>`;
  }

  /** The contact's state as a reginfo document (RFC 3680). */
  regInfo(impu: string, state: 'full' | 'partial' = 'full'): string {
    return buildRegInfo({
      version: this.version++,
      state,
      registrations: [
        {
          aor: impu,
          id: 'r1',
          state: [...this.contacts.values()].some((c) => c.state === 'active') ? 'active' : 'terminated',
          contacts: [...this.contacts.entries()].map(([uri, c], i) => ({ id: `c${i}`, state: c.state, event: c.event, uri, expires: c.expires, unknownParams: [] })),
        },
      ],
    });
  }

  async close(): Promise<void> {
    this.notifier?.close();
    await this.stack.close();
  }

  private register(inc: IncomingRequest): void {
    const req = inc.request;
    this.registers.push(req);
    const o = this.options;
    if (o.refuse) {
      inc.respond(o.refuse.status, { reason: o.refuse.reason, headers: o.refuse.warning ? [['Warning', `399 registrar "${o.refuse.warning}"`]] : [] });
      return;
    }
    const creds = parseCredentials(req.headers.get('Authorization') ?? '');
    const impi = creds.username!;
    if (creds.auts !== undefined) {
      const vector = this.vectors.get(creds.nonce ?? '');
      const r = resynchronise({ k: K, opc: this.opc, rand: vector!.rand, auts: decodeAuts(creds.auts) });
      if (!r.valid) {
        inc.respond(403, { reason: 'Forbidden', headers: [['Warning', '399 registrar "bad AUTS"']] });
        return;
      }
      this.sqn = sqnToNumber(r.sqnMs);
      this.challenge(inc);
      return;
    }
    if (!creds.response) {
      this.challenge(inc);
      return;
    }
    const vector = this.vectors.get(creds.nonce ?? '');
    const password = o.password !== undefined ? o.password : vector?.xres;
    if (password === undefined || (o.password !== undefined && !this.digestNonces.has(creds.nonce ?? ''))) {
      this.challenge(inc);
      return;
    }
    const expected = computeDigestResponse({
      username: impi,
      realm: creds.realm!,
      password,
      method: 'REGISTER',
      uri: creds.uri!,
      nonce: creds.nonce!,
      algorithm: creds.algorithm,
      ...(creds.qop ? { qop: creds.qop as Qop, nc: creds.nc!, cnonce: creds.cnonce! } : {}),
    });
    if (!digestResponsesEqual(expected, creds.response)) {
      inc.respond(403, { reason: 'Forbidden', headers: [['Warning', '399 registrar "wrong response"']] });
      return;
    }
    const contacts = parseContacts(req.headers);
    const requested = Number(req.headers.get('Expires') ?? '600');
    const granted = Math.min(requested, o.expires ?? 600);
    const headers: Array<[string, string]> = [];
    if (contacts !== '*') {
      for (const c of contacts) {
        if (granted === 0) this.contacts.set(c.uri, { expires: 0, event: 'unregistered', state: 'terminated' });
        else this.contacts.set(c.uri, { expires: granted, event: 'registered', state: 'active' });
        if (granted > 0) headers.push(['Contact', `<${c.uri}>;expires=${granted}`]);
      }
    }
    const impu = req.headers.get('To')!.replace(/^<|>$/g, '');
    headers.push(['Service-Route', this.serviceRoute], ['P-Associated-URI', `<${impu}>, <tel:+15551234>`]);
    inc.respond(200, { headers });
  }

  private challenge(inc: IncomingRequest): void {
    const headers: Array<[string, string]> = [];
    if (this.options.password !== undefined) {
      const nonce = this.random.token(24);
      this.digestNonces.add(nonce);
      headers.push(['WWW-Authenticate', `Digest realm="${DOMAIN}", nonce="${nonce}", algorithm=MD5, qop="auth"`]);
    } else {
      const sqn = nextSqn(this.sqn);
      this.sqn = sqnToNumber(sqn);
      const vector = generateVector({ k: K, opc: this.opc, sqn, amf: AMF, rand: this.random.bytes(16) });
      const nonce = encodeAkaNonce(vector);
      this.vectors.set(nonce, vector);
      headers.push(['WWW-Authenticate', `Digest realm="${DOMAIN}", nonce="${nonce}", algorithm=AKAv1-MD5, qop="auth,auth-int"`]);
    }
    headers.push(['Security-Server', 'ipsec-3gpp;q=0.1;alg=hmac-sha-1-96;ealg=null;spi-c=1111;spi-s=2222;port-c=5062;port-s=5064']);
    inc.respond(401, { reason: 'Unauthorized', headers });
  }

  private subscribe(inc: IncomingRequest): void {
    this.subscribes.push(inc.request);
    const impu = inc.request.uri;
    const n = Notifier.accept(this.stack.ua, inc, {
      event: 'reg',
      contentType: 'application/reginfo+xml',
      defaultExpires: 3761,
      maxExpires: 600000,
      fullState: () => this.regInfo(impu),
    });
    if (n) this.notifier = n;
  }
}
