import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/util/clock.js';
import { SeededRandom } from '../../../src/util/random.js';
import { TransactionLayer } from '../../../src/sip/transaction/layer.js';
import type { ServerTransaction } from '../../../src/sip/transaction/types.js';
import type { SipRequest } from '../../../src/sip/message.js';
import { createResponse } from '../../../src/sip/transaction/response.js';
import { FakeTransport, wire } from '../helpers/fake-transport.js';
import type { TransportAddress } from '../../../src/sip/transport/types.js';

const UAC: TransportAddress = { transport: 'udp', address: '127.0.21.2', port: 5060 };

function request(method: string, opts: { branch?: string; sentBy?: string; toTag?: string; cseqMethod?: string; uri?: string } = {}) {
  const branch = opts.branch === undefined ? 'z9hG4bKm1' : opts.branch;
  return wire(
    `${method} ${opts.uri ?? 'sip:bob@127.0.21.1'} SIP/2.0`,
    `Via: SIP/2.0/UDP ${opts.sentBy ?? '127.0.21.2:5060'}${branch ? `;branch=${branch}` : ''}`,
    'Max-Forwards: 70',
    'From: <sip:alice@127.0.21.2>;tag=a1',
    `To: <sip:bob@127.0.21.1>${opts.toTag ? `;tag=${opts.toTag}` : ''}`,
    'Call-ID: match-1',
    `CSeq: 5 ${opts.cseqMethod ?? method}`,
  );
}

function setup() {
  const clock = new FakeClock();
  const transport = new FakeTransport(clock);
  const layer = new TransactionLayer(transport, clock, new SeededRandom(5), { trying: 'never' });
  const seen: Array<{ txn: ServerTransaction; request: SipRequest }> = [];
  const acks: SipRequest[] = [];
  layer.onRequest((txn, r) => seen.push({ txn, request: r }));
  layer.onAck((a) => acks.push(a));
  return { clock, transport, layer, seen, acks };
}

describe('server transaction matching (RFC 3261 §17.2.3)', () => {
  it('keys on branch, sent-by and method: another sent-by or method is another transaction', () => {
    const s = setup();
    s.transport.deliver(request('INVITE'), UAC);
    s.transport.deliver(request('INVITE'), UAC);
    s.transport.deliver(request('INVITE', { sentBy: '127.0.21.3:5060' }), UAC);
    s.transport.deliver(request('CANCEL'), UAC);
    expect(s.seen.map((x) => x.request.method)).toEqual(['INVITE', 'INVITE', 'CANCEL']);
    expect(s.layer.size.server).toBe(3);
  });

  it('finds the INVITE a CANCEL refers to (§9.2), and nothing for an unknown branch', () => {
    const s = setup();
    s.transport.deliver(request('INVITE'), UAC);
    s.transport.deliver(request('CANCEL'), UAC);
    const cancel = s.seen[1]!;
    expect(s.layer.findInviteServerTransaction(cancel.request)).toBe(s.seen[0]!.txn);
    s.transport.deliver(request('CANCEL', { branch: 'z9hG4bKother' }), UAC);
    expect(s.layer.findInviteServerTransaction(s.seen[2]!.request)).toBeUndefined();
  });

  it('matches RFC 2543 requests without the magic cookie on Request-URI, tags, Call-ID, CSeq and top Via', () => {
    const s = setup();
    const old = { branch: '' };
    s.transport.deliver(request('INVITE', old), UAC);
    s.transport.deliver(request('INVITE', old), UAC);
    expect(s.seen).toHaveLength(1);
    // A different Request-URI is a different request.
    s.transport.deliver(request('INVITE', { ...old, uri: 'sip:carol@127.0.21.1' }), UAC);
    expect(s.seen).toHaveLength(2);
    const { txn, request: inv } = s.seen[0]!;
    txn.respond(createResponse(inv, 486, undefined, 'b9'));
    // The ACK carries the response's To tag and matches the INVITE transaction, which absorbs it.
    s.transport.deliver(request('ACK', { ...old, toTag: 'b9' }), UAC);
    expect(txn.state).toBe('confirmed');
    expect(s.acks).toHaveLength(0);
    // An ACK with a To tag the transaction never sent is not for it.
    s.transport.deliver(request('ACK', { ...old, toTag: 'zz' }), UAC);
    expect(s.acks).toHaveLength(1);
    // A CANCEL of the second INVITE finds it by the same rules.
    s.transport.deliver(request('CANCEL', { ...old, uri: 'sip:carol@127.0.21.1' }), UAC);
    const cancel = s.seen[2]!.request;
    expect(s.layer.findInviteServerTransaction(cancel)).toBe(s.seen[1]!.txn);
  });

  it('treats a branch without the cookie as RFC 2543 even if present (z9hG4bK is case-sensitive)', () => {
    const s = setup();
    s.transport.deliver(request('OPTIONS', { branch: 'Z9HG4BKabc' }), UAC);
    s.transport.deliver(request('OPTIONS', { branch: 'Z9HG4BKabc' }), UAC);
    expect(s.seen).toHaveLength(1);
    s.transport.deliver(request('OPTIONS', { branch: 'Z9HG4BKabc', sentBy: '127.0.21.2:5999' }), UAC);
    expect(s.seen).toHaveLength(2);
  });

  it('passes an ACK for a 2xx (new branch) to the TU, and refuses a request whose CSeq method differs', () => {
    const s = setup();
    s.transport.deliver(request('INVITE'), UAC);
    s.seen[0]!.txn.respond(createResponse(s.seen[0]!.request, 200, undefined, 'b1'));
    s.transport.deliver(request('ACK', { branch: 'z9hG4bKack2xx', toTag: 'b1' }), UAC);
    expect(s.acks.map((a) => a.method)).toEqual(['ACK']);
    s.transport.deliver(request('OPTIONS', { branch: 'z9hG4bKx', cseqMethod: 'INFO' }), UAC);
    expect(s.seen).toHaveLength(1);
    expect(s.layer.counters.serverTransactionsCreated).toBe(1);
  });

  it('drops a message without a Via without throwing', () => {
    const s = setup();
    const noVia = wire('OPTIONS sip:bob@127.0.21.1 SIP/2.0', 'From: <sip:a@b>;tag=1', 'To: <sip:b@c>', 'Call-ID: x', 'CSeq: 1 OPTIONS');
    expect(() => s.transport.deliver(noVia, UAC)).not.toThrow();
    expect(s.seen).toHaveLength(0);
  });
});

describe('a request whose CSeq method differs from its method (RFC 3261 §8.2, RFC 4475 §3.1.2.16)', () => {
  it('starts no transaction and is answered 400 with the reason, back to the sender', async () => {
    const s = setup();
    s.transport.deliver(request('OPTIONS', { cseqMethod: 'INVITE' }), UAC);
    await Promise.resolve();
    expect(s.seen).toHaveLength(0);
    expect(s.layer.size.server).toBe(0);
    const answers = s.transport.responses(400);
    expect(answers).toHaveLength(1);
    expect(answers[0]!.to).toEqual(UAC);
    expect((answers[0]!.message as { reason: string }).reason).toBe('Bad Request - CSeq method mismatch');
  });
});
