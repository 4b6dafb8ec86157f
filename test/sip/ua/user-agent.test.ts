import { createSocket } from 'node:dgram';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TraceBus } from '../../../src/trace/events.js';
import { SystemClock } from '../../../src/util/clock.js';
import { Dialog } from '../../../src/sip/dialog/dialog.js';
import { isRequest, type SipRequest } from '../../../src/sip/message.js';
import { parseVia } from '../../../src/sip/headers/via.js';
import type { IncomingRequest } from '../../../src/sip/ua/index.js';
import { isReq, isResp, nextMessage, startStack, type Stack } from './stack.js';

const A = '127.0.43.1';
const B = '127.0.43.2';

describe('UserAgent over UDP loopback (RFC 3261 §8, §12)', () => {
  let bus: TraceBus;
  let a: Stack;
  let b: Stack;
  const clock = new SystemClock();

  beforeEach(async () => {
    bus = new TraceBus(clock);
    a = await startStack('a', A, bus, clock);
    b = await startStack('b', B, bus, clock, { supported: ['path'] });
  });
  afterEach(async () => {
    await a.close();
    await b.close();
  });

  it('builds an out-of-dialog request per §8.1.1 and resolves with the final response', async () => {
    b.ua.onRequest('OPTIONS', (inc) => inc.respond(200, { headers: [['Accept', 'application/sdp']] }));
    const seen = nextMessage(bus, (m, e) => e.node === 'b' && e.direction === 'recv' && isReq('OPTIONS')(m));
    const result = await a.ua.request('OPTIONS', `sip:b@${B}:${b.port}`);
    const { message } = await seen;
    const req = message as SipRequest;
    expect(req.uri).toBe(`sip:b@${B}:${b.port}`);
    expect(req.headers.get('Max-Forwards')).toBe('70');
    expect(req.headers.get('From')).toMatch(/^<sip:a@example\.test>;tag=[0-9a-f]{10}$/);
    expect(req.headers.get('To')).toBe(`<sip:b@${B}:${b.port}>`);
    expect(req.headers.get('CSeq')).toBe('1 OPTIONS');
    expect(req.headers.has('Contact')).toBe(false);
    expect(parseVia(req.headers.first('Via')!).branch).toMatch(/^z9hG4bK[0-9a-f]{16}$/);
    expect(result.response.status).toBe(200);
    expect(result.response.headers.get('To')).toMatch(/;tag=[0-9a-f]{10}$/);
    expect(result.response.headers.get('Accept')).toBe('application/sdp');
  });

  it('answers 405 with Allow for a method nobody handles (§8.2.1)', async () => {
    b.ua.onRequest('OPTIONS', (inc) => inc.respond(200));
    const r = await a.ua.request('MESSAGE', `sip:b@${B}:${b.port}`, { body: 'hi', contentType: 'text/plain' });
    expect(r.response.status).toBe(405);
    expect(r.response.headers.get('Allow')!.split(', ').sort()).toEqual(['ACK', 'CANCEL', 'OPTIONS']);
  });

  it('answers 420 with Unsupported for an unknown Require option tag, and lets known ones through (§8.2.2.3)', async () => {
    let handled = 0;
    b.ua.onRequest('OPTIONS', (inc) => {
      handled++;
      inc.respond(200);
    });
    const bad = await a.ua.request('OPTIONS', `sip:b@${B}:${b.port}`, { headers: [['Require', 'path, 100rel']] });
    expect(bad.response.status).toBe(420);
    expect(bad.response.headers.get('Unsupported')).toBe('100rel');
    expect(handled).toBe(0);
    const ok = await a.ua.request('OPTIONS', `sip:b@${B}:${b.port}`, { headers: [['Require', 'path']] });
    expect(ok.response.status).toBe(200);
    expect(handled).toBe(1);
  });

  it('answers 481 to a request whose To tag names no dialog (§12.2.2)', async () => {
    b.ua.onRequest('OPTIONS', (inc) => inc.respond(200));
    const r = await a.ua.request('OPTIONS', `sip:b@${B}:${b.port}`, { to: `<sip:b@${B}>;tag=nosuchdialog` });
    expect(r.response.status).toBe(481);
  });

  it('answers 400 naming the fault when From cannot be read', async () => {
    b.ua.onRequest('OPTIONS', (inc) => inc.respond(200));
    const sock = createSocket('udp4');
    await new Promise<void>((res) => sock.bind(0, A, () => res()));
    try {
      const port = sock.address().port;
      const raw =
        `OPTIONS sip:b@${B}:${b.port} SIP/2.0\r\nVia: SIP/2.0/UDP ${A}:${port};branch=z9hG4bKbadfrom1\r\nMax-Forwards: 70\r\n` +
        `From: <sip:x@${A}>;tag\r\nTo: <sip:b@${B}>\r\nCall-ID: badfrom@x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`;
      const reply = new Promise<string>((res) => sock.once('message', (m) => res(m.toString())));
      sock.send(raw, b.port, B);
      const text = await reply;
      expect(text).toMatch(/^SIP\/2\.0 400 Bad Request \(.*tag/);
    } finally {
      sock.close();
    }
  });

  it('forms a dialog from a 2xx, routes in-dialog requests through the Record-Route set and checks CSeq order', async () => {
    const rr = `<sip:${B}:${b.port};lr>`;
    const inDialog: IncomingRequest[] = [];
    let uasDialog: Dialog | undefined;
    b.ua.onRequest('SUBSCRIBE', (inc) => {
      // The UAS side: record-route itself so the route set is not empty, answer with a Contact.
      uasDialog = Dialog.asUas(inc.request, inc.localTag, b.ua.contact);
      b.ua.attachDialog(uasDialog, {
        methods: ['INFO'],
        onRequest: (i) => {
          inDialog.push(i);
          i.respond(200);
        },
      });
      inc.respond(200, { headers: [['Record-Route', rr], ['Contact', `<${b.ua.contact}>`], ['Expires', '60']] });
    });
    const r = await a.ua.request('SUBSCRIBE', `sip:b@${B}:${b.port}`, { headers: [['Event', 'test'], ['Expires', '60']] });
    expect(r.response.status).toBe(200);
    const dialog = Dialog.asUac(r.request, r.response, a.ua.contact);
    expect(dialog.routeSet).toEqual([rr]);
    expect(dialog.remoteTarget).toBe(b.ua.contact);
    a.ua.attachDialog(dialog, { methods: [], onRequest: () => {} });

    const seen = nextMessage(bus, (m, e) => e.node === 'b' && e.direction === 'recv' && isReq('INFO')(m));
    const info = await dialog.request<{ response: { status: number } }>('INFO');
    const wire = (await seen).message as SipRequest;
    expect(info.response.status).toBe(200);
    // §12.2.1.1 loose routing: Request-URI = remote target, Route = route set, CSeq = local + 1.
    expect(wire.uri).toBe(b.ua.contact);
    expect(wire.headers.list('Route')).toEqual([rr]);
    expect(wire.headers.get('CSeq')).toBe('2 INFO');
    expect(wire.headers.get('To')).toBe(r.response.headers.get('To'));
    expect(inDialog).toHaveLength(1);
    expect(uasDialog!.remoteSeq).toBe(2);

    // A request with a CSeq at or below the last one is out of order: 500 (§12.2.2).
    const stale = uasDialog!.remoteSeq!;
    const replay = dialog.createRequest('INFO');
    replay.headers.set('CSeq', `${stale} INFO`);
    const out = await a.ua.send(replay);
    expect(out.response.status).toBe(500);
    expect(inDialog).toHaveLength(1);

    // A method this UA does not take at all: 405 with everything it does allow (§8.2.1).
    const bye = await dialog.request<{ response: { status: number; headers: { get(n: string): string | undefined } } }>('BYE');
    expect(bye.response.status).toBe(405);
    expect(bye.response.headers.get('Allow')!.split(', ').sort()).toEqual(['ACK', 'CANCEL', 'INFO', 'SUBSCRIBE']);
  });

  it('retries a 401 with the credentials from the challenge callback: same Call-ID, CSeq + 1, new branch (§8.1.3.5, §22.2)', async () => {
    const seen: SipRequest[] = [];
    b.ua.onRequest('REGISTER', (inc) => {
      seen.push(inc.request);
      if (!inc.request.headers.has('Authorization')) {
        inc.respond(401, { headers: [['WWW-Authenticate', 'Digest realm="example.test", nonce="n1", qop="auth"']] });
      } else inc.respond(200);
    });
    let challenges = 0;
    const r = await a.ua.request('REGISTER', `sip:example.test`, {
      destination: { transport: 'udp', address: B, port: b.port },
      headers: [['Expires', '600']],
      onChallenge: (resp) => {
        challenges++;
        expect(resp.headers.get('WWW-Authenticate')).toContain('nonce="n1"');
        return { headers: { Authorization: 'Digest username="a", realm="example.test", nonce="n1", uri="sip:example.test", response="x"' } };
      },
    });
    expect(r.response.status).toBe(200);
    expect(challenges).toBe(1);
    expect(seen).toHaveLength(2);
    expect(seen[1]!.headers.get('Call-ID')).toBe(seen[0]!.headers.get('Call-ID'));
    expect(seen[0]!.headers.get('CSeq')).toBe('1 REGISTER');
    expect(seen[1]!.headers.get('CSeq')).toBe('2 REGISTER');
    expect(seen[1]!.headers.get('From')).toBe(seen[0]!.headers.get('From'));
    expect(parseVia(seen[1]!.headers.first('Via')!).branch).not.toBe(parseVia(seen[0]!.headers.first('Via')!).branch);
    expect(seen[1]!.headers.getAll('Via')).toHaveLength(1);
    expect(seen[1]!.headers.get('Contact')).toBe(`<${a.ua.contact}>`);
  });

  it('gives up after maxChallenges and returns the last 401 (no endless loop of challenges)', async () => {
    let count = 0;
    b.ua.onRequest('REGISTER', (inc) => {
      count++;
      inc.respond(401, { headers: [['WWW-Authenticate', `Digest realm="x", nonce="n${count}"`]] });
    });
    const r = await a.ua.request('REGISTER', 'sip:example.test', {
      destination: { transport: 'udp', address: B, port: b.port },
      maxChallenges: 2,
      onChallenge: () => ({ headers: { Authorization: 'Digest username="a", realm="x", nonce="n", uri="sip:example.test", response="0"' } }),
    });
    expect(r.response.status).toBe(401);
    expect(count).toBe(3);
  });

  it('reports a transport failure as a 503 made by the transaction (§8.1.3.1) and refuses a target it cannot resolve', async () => {
    const r = await a.ua.request('OPTIONS', 'sip:x@10.1.2.3:5060');
    expect(r.cause).toBe('transport-error');
    expect(r.response.status).toBe(503);
    await expect(a.ua.request('OPTIONS', 'sip:nobody@unknown.host.test')).rejects.toThrow(/no address for sip:nobody@unknown\.host\.test/);
  });

  it('sends a preloaded route set in Route and to its first hop (§8.1.1.1, §8.1.2)', async () => {
    b.ua.onRequest('OPTIONS', (inc) => inc.respond(200));
    const route = [`<sip:${B}:${b.port};lr>`, '<sip:orig@127.0.43.9:5060;lr>'];
    const seen = nextMessage(bus, (m, e) => e.node === 'b' && e.direction === 'recv' && isRequest(m));
    const r = await a.ua.request('OPTIONS', 'sip:bob@example.test', { routeSet: route });
    const wire = (await seen).message as SipRequest;
    expect(r.response.status).toBe(200);
    expect(wire.uri).toBe('sip:bob@example.test');
    expect(wire.headers.list('Route')).toEqual(route);
  });

  it('answers a CANCEL that matches no INVITE with 481 (§9.2)', async () => {
    b.ua.onRequest('OPTIONS', (inc) => inc.respond(200));
    const seen = nextMessage(bus, (m, e) => e.node === 'b' && e.direction === 'send' && isResp(481, 'CANCEL')(m));
    const r = await a.ua.request('CANCEL', `sip:b@${B}:${b.port}`);
    expect(r.response.status).toBe(481);
    await seen;
  });
});
