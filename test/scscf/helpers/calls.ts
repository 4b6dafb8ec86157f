import { parseNameAddr } from '../../../src/sip/headers/name-addr.js';
import { parseVia } from '../../../src/sip/headers/via.js';
import { Headers, SipRequest, SipResponse } from '../../../src/sip/message.js';
import { createResponse } from '../../../src/sip/transaction/response.js';
import type { ScriptedUe } from './lab.js';

/** How a scripted callee treats an INVITE: 180 then 200, 486 at once, 180 and nothing more, or no answer at all. */
export type CalleeMode = 'answer' | 'busy' | 'ring' | 'silent';

const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';

/**
 * A UAS on a ScriptedUe's socket (which is also its own "P-CSCF": the Path points at it): answers INVITE as its
 * mode says (with Record-Route copied and a Contact, RFC 3261 §12.1.1), answers retransmissions with the last
 * response, CANCEL with 200 and the INVITE with 487 (§9.2), every other request with 200.
 */
export class Callee {
  readonly tag: string;
  private readonly last = new Map<string, SipResponse>();

  constructor(
    readonly ue: ScriptedUe,
    public mode: CalleeMode,
  ) {
    this.tag = `callee${ue.port}`;
    ue.onRequest = (r) => this.handle(r);
  }

  received(method: string): SipRequest[] {
    return this.ue.requests.filter((r) => r.method === method);
  }

  private handle(request: SipRequest): boolean {
    const branch = parseVia(request.headers.first('Via')!).branch ?? '';
    if (request.method === 'ACK') return true;
    if (request.method === 'INVITE') {
      const again = this.last.get(branch);
      if (again) {
        this.reply(again);
        return true;
      }
      if (this.mode === 'silent') return true;
      this.respond(request, branch, 180);
      if (this.mode === 'answer') this.respond(request, branch, 200, SDP);
      if (this.mode === 'busy') this.respond(request, branch, 486);
      return true;
    }
    if (request.method === 'CANCEL') {
      this.reply(createResponse(request, 200, undefined, this.tag));
      const invite = this.ue.requests.find((r) => r.method === 'INVITE' && parseVia(r.headers.first('Via')!).branch === branch);
      if (invite && (this.last.get(branch)?.status ?? 0) < 200) this.respond(invite, branch, 487);
      return true;
    }
    return false;
  }

  private respond(request: SipRequest, branch: string, status: number, body?: string): void {
    const r = createResponse(request, status, undefined, this.tag);
    if (status < 300) {
      for (const rr of request.headers.getAll('Record-Route')) r.headers.append('Record-Route', rr);
      r.headers.append('Contact', `<${this.ue.contact}>`);
    }
    if (body) {
      r.headers.append('Content-Type', 'application/sdp');
      r.body = Buffer.from(body);
    }
    this.last.set(branch, r);
    this.reply(r);
  }

  private reply(r: SipResponse): void {
    const via = parseVia(r.headers.first('Via')!);
    this.ue.transmit(r, { address: via.host, port: via.port ?? 5060 });
  }
}

/** The caller's side of one dialog, built by hand as a UE behind a P-CSCF would (TS 24.229 §5.1.2A.1). */
export class Caller {
  private n = 0;
  readonly callId: string;
  readonly tag: string;
  invite!: SipRequest;

  constructor(
    readonly ue: ScriptedUe,
    /** The S-CSCF's Service-Route (RFC 3608): the pre-loaded Route of every initial request. */
    readonly serviceRoute: string,
    readonly scscf: { address: string; port: number },
  ) {
    this.callId = `call-${ue.port}-${Math.random().toString(36).slice(2)}`;
    this.tag = `caller${ue.port}`;
  }

  /** An initial request as the P-CSCF forwards it: Route = Service-Route, P-Asserted-Identity (RFC 3325). */
  initial(method: string, target: string, opts: { asserted?: string | null; cseq?: number; body?: string; extra?: Array<[string, string]> } = {}): SipRequest {
    const h = Headers.from([
      ['Via', `SIP/2.0/UDP ${this.ue.address}:${this.ue.port};branch=z9hG4bK${this.tag}${++this.n}`],
      ['Max-Forwards', '70'],
      ['Route', this.serviceRoute],
      ['From', `<${this.ue.impu}>;tag=${this.tag}`],
      ['To', `<${target}>`],
      ['Call-ID', `${this.callId}-${method}-${this.n}`],
      ['CSeq', `${opts.cseq ?? 1} ${method}`],
      ['Contact', `<${this.ue.contact}>`],
      ['P-Charging-Vector', 'icid-value=icid-test-1;icid-generated-at=127.0.0.1'],
    ]);
    if (opts.asserted !== null) h.append('P-Asserted-Identity', `<${opts.asserted ?? this.ue.impu}>`);
    for (const [k, v] of opts.extra ?? []) h.append(k, v);
    const r = new SipRequest(method, target, h);
    if (opts.body ?? method === 'INVITE') {
      r.headers.append('Content-Type', opts.body ? 'text/plain' : 'application/sdp');
      r.body = Buffer.from(opts.body ?? SDP);
    }
    if (method === 'INVITE') this.invite = r;
    return r;
  }

  /** Sends an INVITE to the S-CSCF; resolves with its final response (provisionals land in ue.responses). */
  call(target: string, opts: { asserted?: string | null } = {}): Promise<SipResponse> {
    return this.ue.send(this.initial('INVITE', target, opts), this.scscf);
  }

  /** RFC 3261 §9.1: CANCEL with the INVITE's Request-URI, Call-ID, To, From, CSeq number and top Via. */
  cancel(): Promise<SipResponse> {
    const inv = this.invite;
    const h = Headers.from([
      ['Via', inv.headers.first('Via')!],
      ['Max-Forwards', '70'],
      ...inv.headers.getAll('Route').map((v) => ['Route', v] as [string, string]),
      ['From', inv.headers.get('From')!],
      ['To', inv.headers.get('To')!],
      ['Call-ID', inv.headers.get('Call-ID')!],
      ['CSeq', `${inv.headers.get('CSeq')!.split(' ')[0]} CANCEL`],
    ]);
    return this.ue.send(new SipRequest('CANCEL', inv.uri, h), this.scscf);
  }

  /** §17.1.1.3: the ACK for a non-2xx final is hop-by-hop, with the INVITE's branch and the response's To. */
  ackFailure(response: SipResponse): void {
    const inv = this.invite;
    const h = Headers.from([
      ['Via', inv.headers.first('Via')!],
      ['Max-Forwards', '70'],
      ...inv.headers.getAll('Route').map((v) => ['Route', v] as [string, string]),
      ['From', inv.headers.get('From')!],
      ['To', response.headers.get('To')!],
      ['Call-ID', inv.headers.get('Call-ID')!],
      ['CSeq', `${inv.headers.get('CSeq')!.split(' ')[0]} ACK`],
    ]);
    this.ue.transmit(new SipRequest('ACK', inv.uri, h), this.scscf);
  }

  /**
   * A request inside the dialog a 2xx created (RFC 3261 §12.2.1.1): Request-URI = the remote Contact, Route = the
   * Record-Route of the 2xx reversed, sent to the first Route value's address.
   */
  inDialog(method: 'ACK' | 'BYE' | 'INFO' | 'UPDATE', ok: SipResponse, cseq: number): SipRequest {
    const inv = this.invite;
    const routes = ok.headers.list('Record-Route').reverse();
    const h = Headers.from([
      ['Via', `SIP/2.0/UDP ${this.ue.address}:${this.ue.port};branch=z9hG4bK${this.tag}d${++this.n}`],
      ['Max-Forwards', '70'],
      ...routes.map((v) => ['Route', v] as [string, string]),
      ['From', inv.headers.get('From')!],
      ['To', ok.headers.get('To')!],
      ['Call-ID', inv.headers.get('Call-ID')!],
      ['CSeq', `${method === 'ACK' ? inv.headers.get('CSeq')!.split(' ')[0] : cseq} ${method}`],
    ]);
    return new SipRequest(method, parseNameAddr(ok.headers.get('Contact')!).uri, h);
  }
}
