import { afterEach, describe, expect, it } from 'vitest';
import { parseChallenge } from '../../src/sip/headers/auth.js';
import { parseVia } from '../../src/sip/headers/via.js';
import { isRequest, type SipRequest } from '../../src/sip/message.js';
import type { RunningTopology } from '../../src/topology/runner.js';
import { DOMAIN, PORT, Phone, sipOf, startProxy, until } from './lab.js';

const running: RunningTopology[] = [];
const phones: Phone[] = [];
afterEach(async () => {
  for (const p of phones.splice(0)) await p.stop();
  for (const r of running.splice(0)) await r.stop();
});

async function lab(extra: Record<string, string | boolean> = {}) {
  const l = await startProxy(extra);
  running.push(l.run);
  return l;
}
async function phone(user: string, address: string, password = `${user}-secret`) {
  const p = await new Phone(user, address, password).start();
  phones.push(p);
  return p;
}

describe('registrar with SIP digest (RFC 3261 §10.3, §22.2)', () => {
  it('challenges with 401, then binds the contact and answers 200 with it', async () => {
    const { proxy, packets } = await lab();
    const alice = await phone('alice', '127.0.62.11');
    const { response } = await alice.register(600);
    expect(response.status).toBe(200);
    expect(response.headers.get('Contact')).toBe(`<${alice.ua.contact}>;expires=600`);
    const sent = sipOf(packets, 'proxy1', 'send').filter((m) => !isRequest(m));
    const challenge = sent.find((m) => m.status === 401)!;
    const ch = parseChallenge(challenge.headers.get('WWW-Authenticate')!);
    expect(ch.realm).toBe(DOMAIN);
    expect(ch.qop).toEqual(['auth']);
    expect(ch.algorithm).toBe('MD5');
    expect(proxy.location.lookup(`sip:alice@${DOMAIN}`).map((b) => b.uri)).toEqual([alice.ua.contact]);
    expect(proxy.authenticator!.outstanding).toBe(0);
  });

  it('answers a wrong password with 403 after one challenge, binding nothing', async () => {
    const { proxy, packets } = await lab();
    const alice = await phone('alice', '127.0.62.11', 'not-the-password');
    const { response } = await alice.register();
    expect(response.status).toBe(403);
    const statuses = sipOf(packets, 'proxy1', 'send').filter((m) => !isRequest(m)).map((m) => m.status);
    expect(statuses).toEqual([401, 403]);
    expect(proxy.location.lookup(`sip:alice@${DOMAIN}`)).toEqual([]);
  });

  it('refuses a nonce used once: the same Authorization again gets 401 stale=TRUE', async () => {
    const { proxy } = await lab();
    const alice = await phone('alice', '127.0.62.11');
    const first = await alice.register(600);
    expect(first.response.status).toBe(200);
    const replay = first.request.clone();
    replay.headers.delete('Via');
    replay.headers.set('CSeq', '10 REGISTER');
    replay.headers.set('Contact', `<sip:mallory@127.0.62.99:5060>;expires=600`);
    const again = await alice.ua.send(replay);
    expect(again.response.status).toBe(401);
    expect(parseChallenge(again.response.headers.get('WWW-Authenticate')!).stale).toBe(true);
    expect(proxy.location.lookup(`sip:alice@${DOMAIN}`).map((b) => b.uri)).toEqual([alice.ua.contact]);
  });

  it('refuses to let one user register another user’s AOR (§10.3 step 4)', async () => {
    const { proxy } = await lab();
    const alice = await phone('alice', '127.0.62.11');
    const r = await alice.ua.request('REGISTER', `sip:${DOMAIN}`, { to: `<sip:bob@${DOMAIN}>`, onChallenge: alice.digest() });
    expect(r.response.status).toBe(403);
    expect(proxy.location.lookup(`sip:bob@${DOMAIN}`)).toEqual([]);
  });

  it('423 below Min-Expires, Expires: 0 removes the binding', async () => {
    const { proxy } = await lab();
    const alice = await phone('alice', '127.0.62.11');
    const short = await alice.register(10);
    expect(short.response.status).toBe(423);
    expect(short.response.headers.get('Min-Expires')).toBe('60');
    expect((await alice.register(600)).response.status).toBe(200);
    expect(proxy.location.lookup(`sip:alice@${DOMAIN}`)).toHaveLength(1);
    const gone = await alice.register(0);
    expect(gone.response.status).toBe(200);
    expect(gone.response.headers.get('Contact')).toBeUndefined();
    expect(proxy.location.lookup(`sip:alice@${DOMAIN}`)).toEqual([]);
  });
});

describe('stateful proxy (RFC 3261 §16)', () => {
  it('routes a call to the registered contact with Record-Route, and ACK and BYE through itself', async () => {
    const { packets } = await lab({ auth: 'register' });
    const alice = await phone('alice', '127.0.62.11');
    const bob = await phone('bob', '127.0.62.12');
    expect((await alice.register()).response.status).toBe(200);
    expect((await bob.register()).response.status).toBe(200);

    const { response, dialog } = await alice.call(`sip:bob@${DOMAIN}`);
    expect(response.status).toBe(200);
    const invite = bob.incoming[0]!.request;
    expect(invite.uri).toBe(bob.ua.contact);
    expect(invite.headers.get('Max-Forwards')).toBe('69');
    expect(invite.headers.getAll('Record-Route')).toEqual([`<sip:127.0.62.1:${PORT};lr>`]);
    const top = parseVia(invite.headers.first('Via')!);
    expect([top.host, top.port]).toEqual(['127.0.62.1', PORT]);
    expect(dialog!.routeSet).toEqual([`<sip:127.0.62.1:${PORT};lr>`]);

    const bye = await alice.ua.sendInDialog(dialog!, dialog!.createRequest('BYE'));
    expect(bye.response.status).toBe(200);
    await until(() => sipOf(packets, 'proxy1', 'recv').some((m) => isRequest(m) && m.method === 'ACK'), 2000, 'ACK at the proxy');
    const received = sipOf(packets, 'proxy1', 'recv').filter(isRequest).map((m: SipRequest) => m.method);
    expect(received).toEqual(['REGISTER', 'REGISTER', 'REGISTER', 'REGISTER', 'INVITE', 'ACK', 'BYE']);
    expect(bob.incoming.map((i) => i.method)).toEqual(['INVITE', 'BYE']);
  });

  it('forks to every contact of an AOR and cancels the others when one answers', async () => {
    await lab({ auth: 'register' });
    const alice = await phone('alice', '127.0.62.11');
    const bob1 = await phone('bob', '127.0.62.12');
    const bob2 = await phone('bob', '127.0.62.13');
    bob1.answer = 'none';
    expect((await bob1.register()).response.status).toBe(200);
    expect((await bob2.register()).response.status).toBe(200);
    const { response } = await alice.call(`sip:bob@${DOMAIN}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('Contact')).toBe(`<${bob2.ua.contact}>`);
    expect(bob1.incoming).toHaveLength(1);
    // §16.7 step 10: the 2xx of one branch cancels the pending ones; bob1's INVITE ends 487 (§9.2).
    await until(() => bob1.incoming[0]!.transaction.lastResponse?.status === 487, 3000, 'CANCEL at bob1');
  });

  it('answers 480 for a known AOR without bindings and 404 for an unknown one', async () => {
    await lab({ auth: 'register' });
    const alice = await phone('alice', '127.0.62.11');
    expect((await alice.call(`sip:carol@${DOMAIN}`)).response.status).toBe(480);
    expect((await alice.call(`sip:nobody@${DOMAIN}`)).response.status).toBe(404);
  });

  it('with auth: true challenges its own users’ INVITEs with 407 and forwards without Proxy-Authorization', async () => {
    await lab();
    const alice = await phone('alice', '127.0.62.11');
    const bob = await phone('bob', '127.0.62.12');
    expect((await bob.register()).response.status).toBe(200);
    expect((await alice.call(`sip:bob@${DOMAIN}`)).response.status).toBe(407);
    const { response } = await alice.call(`sip:bob@${DOMAIN}`, true);
    expect(response.status).toBe(200);
    expect(bob.incoming.at(-1)!.request.headers.get('Proxy-Authorization')).toBeUndefined();
  });

  it('refuses Max-Forwards: 0 with 483 and a request that loops back to it with 482 (§16.3)', async () => {
    await lab({ auth: 'register', next: `sip:127.0.62.1:${PORT}` });
    const alice = await phone('alice', '127.0.62.11');
    const last = alice.ua.createRequest('MESSAGE', `sip:bob@${DOMAIN}`, { body: 'hi', contentType: 'text/plain' });
    last.headers.set('Max-Forwards', '0');
    const tired = await alice.ua.send(last);
    expect(tired.response.status).toBe(483);
    // A foreign domain goes to `next`, here the proxy itself: the second pass finds its own Via with the same hash.
    const looped = await alice.ua.request('MESSAGE', 'sip:someone@elsewhere.test', { body: 'hi', contentType: 'text/plain' });
    expect(looped.response.status).toBe(482);
  });
});

describe('redirect server (RFC 3261 §8.3)', () => {
  it('answers 302 with the registered contacts and forwards nothing', async () => {
    const { packets } = await lab({ mode: 'redirect', auth: 'register' });
    const alice = await phone('alice', '127.0.62.11');
    const bob = await phone('bob', '127.0.62.12');
    expect((await bob.register()).response.status).toBe(200);
    const r = await alice.ua.request('INVITE', `sip:bob@${DOMAIN}`);
    expect(r.response.status).toBe(302);
    expect(r.response.headers.getAll('Contact')).toEqual([`<${bob.ua.contact}>`]);
    expect(bob.incoming).toHaveLength(0);
    expect(sipOf(packets, 'proxy1', 'send').filter(isRequest)).toHaveLength(0);
  });
});
