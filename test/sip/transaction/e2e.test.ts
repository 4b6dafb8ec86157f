import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TraceBus } from '../../../src/trace/events.js';
import { SystemClock } from '../../../src/util/clock.js';
import { SeededRandom } from '../../../src/util/random.js';
import { CertificateAuthority, type TlsCredentials } from '../../../src/tls/authority.js';
import { TransportLayer } from '../../../src/sip/transport/layer.js';
import type { ImpairmentProfile } from '../../../src/sip/transport/impairment.js';
import type { TransportAddress, TransportProtocol } from '../../../src/sip/transport/types.js';
import { TransactionLayer } from '../../../src/sip/transaction/layer.js';
import { createResponse } from '../../../src/sip/transaction/response.js';
import type { FinalCause } from '../../../src/sip/transaction/types.js';
import { Headers, SipRequest, type SipResponse } from '../../../src/sip/message.js';

const A = '127.0.21.1';
const B = '127.0.21.2';
const T1 = 20;
const clock = new SystemClock();
const closers: Array<() => Promise<void> | void> = [];
let dir: string;
let creds: { a: TlsCredentials; b: TlsCredentials };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imslab-txn-'));
  const ca = await CertificateAuthority.open(dir);
  creds = { a: await ca.issue({ name: 'a', addresses: [A] }), b: await ca.issue({ name: 'b', addresses: [B] }) };
});
afterAll(() => rm(dir, { recursive: true, force: true }));
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function node(name: string, address: string, tls: TlsCredentials, impairment?: ImpairmentProfile) {
  const trace = new TraceBus(clock);
  const transport = new TransportLayer({
    node: name,
    address,
    ports: { udp: 0, tcp: 0, tls: 0 },
    trace,
    clock,
    random: new SeededRandom(`${name}-transport`),
    tls,
    ...(impairment ? { impairment } : {}),
  });
  await transport.start();
  const layer = new TransactionLayer(transport, clock, new SeededRandom(name), { timers: { t1: T1 } });
  closers.push(() => transport.close());
  closers.push(() => layer.close());
  return { transport, layer };
}

/** A minimal UAS core: OPTIONS → 200; INVITE → 180 then 200, the 200 retransmitted until the ACK (§13.3.1.4). */
function answer(uas: Awaited<ReturnType<typeof node>>) {
  const acked = new Set<string>();
  uas.layer.onAck((ack) => acked.add(ack.headers.get('Call-ID')!));
  uas.layer.onRequest((txn, request) => {
    if (request.method !== 'INVITE') {
      txn.respond(createResponse(request, 200, undefined, 'uas'));
      return;
    }
    txn.respond(createResponse(request, 180, undefined, 'uas'));
    const ok = createResponse(request, 200, undefined, 'uas');
    ok.headers.append('Contact', `<sip:bob@${B}>`);
    const callId = request.headers.get('Call-ID')!;
    let interval = T1;
    const giveUp = clock.now() + 64 * T1;
    // §13.3.1.4: the 2xx is retransmitted (T1 doubling up to T2) until the ACK comes, for at most 64*T1.
    const send = () => {
      if (acked.has(callId) || clock.now() > giveUp || txn.state === 'terminated') return;
      txn.respond(ok);
      interval = Math.min(2 * interval, 8 * T1);
      const timer = clock.setTimeout(send, interval);
      closers.push(() => timer.cancel());
    };
    send();
  });
  return acked;
}

function request(method: string, callId: string, uri: string): SipRequest {
  return new SipRequest(
    method,
    uri,
    Headers.from([
      ['Max-Forwards', '70'],
      ['From', `<sip:alice@${A}>;tag=a-${callId}`],
      ['To', `<sip:bob@${B}>`],
      ['Call-ID', callId],
      ['CSeq', `1 ${method}`],
      ...(method === 'INVITE' ? ([['Contact', `<sip:alice@${A}>`]] as [string, string][]) : []),
    ]),
  );
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e) => (clearTimeout(t), reject(e)),
    );
  });
}

/** UAC side of one INVITE: resolves with the statuses seen once the 200 is ACKed end to end. */
function call(uac: Awaited<ReturnType<typeof node>>, to: TransportAddress, callId: string, scheme = 'sip') {
  const statuses: number[] = [];
  return new Promise<number[]>((resolve) => {
    const inv = request('INVITE', callId, `${scheme}:bob@${B}`);
    uac.layer.sendRequest(inv, to, {
      provisional: (r) => statuses.push(r.status),
      final: (r: SipResponse, cause: FinalCause) => {
        statuses.push(r.status);
        if (r.status >= 300 || cause !== 'response') return resolve(statuses);
        // §13.2.2.4: the ACK for a 2xx is the UAC core's, a new transaction-less request with its own branch;
        // every 2xx retransmission is answered with it again.
        const ack = new SipRequest('ACK', `sip:bob@${B}`, Headers.from([
          ['Max-Forwards', '70'],
          ['From', inv.headers.get('From')!],
          ['To', r.headers.get('To')!],
          ['Call-ID', callId],
          ['CSeq', '1 ACK'],
        ]));
        ack.headers.prepend('Via', uac.layer.viaFor(to.transport, `z9hG4bK-ack-${callId}`));
        void uac.layer.sendStateless(ack, to);
        resolve(statuses);
      },
    });
  });
}

function nonInvite(uac: Awaited<ReturnType<typeof node>>, to: TransportAddress, callId: string) {
  return new Promise<[number, FinalCause]>((resolve) => {
    uac.layer.sendRequest(request('OPTIONS', callId, `sip:bob@${B}`), to, { final: (r, cause) => resolve([r.status, cause]) });
  });
}

describe('transactions end to end over real sockets (127.0.21.1 ↔ 127.0.21.2)', () => {
  for (const transport of ['udp', 'tcp', 'tls'] as TransportProtocol[]) {
    it(`completes INVITE (100/180/200 + ACK) and OPTIONS over ${transport.toUpperCase()}`, async () => {
      const uac = await node('uac', A, creds.a);
      const uas = await node('uas', B, creds.b);
      const acked = answer(uas);
      const to = uas.transport.localAddress(transport);
      const statuses = await within(call(uac, to, `e2e-${transport}`, transport === 'tls' ? 'sips' : 'sip'), 3000, 'INVITE');
      expect(statuses[statuses.length - 1]).toBe(200);
      expect(statuses).toContain(180);
      await within(
        new Promise<void>((r) => {
          const poll = () => (acked.has(`e2e-${transport}`) ? r() : clock.setTimeout(poll, 5));
          poll();
        }),
        3000,
        'ACK at the UAS',
      );
      expect(await within(nonInvite(uac, to, `opt-${transport}`), 3000, 'OPTIONS')).toEqual([200, 'response']);
      if (transport !== 'udp') expect(uac.layer.counters.retransmissionsSent).toBe(0);
    });
  }

  it('with 30 % of UDP datagrams lost (seeded) every transaction still completes by retransmission', async () => {
    const uac = await node('uac-lossy', A, creds.a, { loss: 0.3 });
    const uas = await node('uas-lossy', B, creds.b, { loss: 0.3 });
    answer(uas);
    const to = uas.transport.localAddress('udp');
    const options = await within(Promise.all(Array.from({ length: 20 }, (_, i) => nonInvite(uac, to, `lossy-opt-${i}`))), 10_000, 'OPTIONS');
    expect(options.every(([s, c]) => s === 200 && c === 'response')).toBe(true);
    const calls = await within(Promise.all(Array.from({ length: 10 }, (_, i) => call(uac, to, `lossy-inv-${i}`))), 10_000, 'INVITEs');
    expect(calls.every((s) => s[s.length - 1] === 200)).toBe(true);
    expect(uac.layer.counters.retransmissionsSent).toBeGreaterThan(0);
    expect(uas.layer.counters.retransmissionsReceived + uac.layer.counters.retransmissionsReceived).toBeGreaterThan(0);
  });

  it('Timers B and F fire (408) when the peer is gone', async () => {
    const uac = await node('uac-alone', A, creds.a);
    // A UDP port on B where nobody listens: every datagram disappears.
    const gone: TransportAddress = { transport: 'udp', address: B, port: 5999 };
    const started = Date.now();
    const [inv, opt] = await within(Promise.all([call(uac, gone, 'gone-inv'), nonInvite(uac, gone, 'gone-opt')]), 5000, 'timeouts');
    expect(inv).toEqual([408]);
    expect(opt).toEqual([408, 'timeout']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(64 * T1 - 5);
    expect(uac.layer.counters.timeouts).toBe(2);
  });

  it('a refused TCP connection is a transport error: synthetic 503 (§8.1.3.1)', async () => {
    const uac = await node('uac-tcp', A, creds.a);
    const gone: TransportAddress = { transport: 'tcp', address: B, port: 5999 };
    expect(await within(nonInvite(uac, gone, 'gone-tcp'), 5000, 'TCP refusal')).toEqual([503, 'transport-error']);
  });
});
