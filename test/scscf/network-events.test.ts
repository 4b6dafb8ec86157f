import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Headers, SipRequest } from '../../src/sip/message.js';
import { parseReginfoSafe } from './helpers/reginfo.js';
import { ALICE, DOMAIN, Lab, ScriptedUe, aliceUsim, until } from './helpers/lab.js';

let lab: Lab;
let ues: ScriptedUe[];

beforeEach(async () => {
  ues = [];
  lab = await new Lab({ base: '127.0.42.1' }).start(); // 127.0.42.12 …, apart from registration.test.ts
});

afterEach(async () => {
  for (const u of ues) await u.close();
  await lab.stop();
});

async function alice(): Promise<ScriptedUe> {
  const u = await new ScriptedUe(lab.ips.ue, ALICE.impi, ALICE.impus[0]!.uri, { usim: aliceUsim() }, { address: lab.ips.icscf, port: 5060 }).start();
  ues.push(u);
  return u;
}

function request(u: ScriptedUe, method: string, uri: string, extra: Array<[string, string]> = []): SipRequest {
  return new SipRequest(method, uri, Headers.from([
    ['Via', `SIP/2.0/UDP ${u.address}:${u.port};branch=z9hG4bK${method}${Math.random().toString(36).slice(2)}`],
    ['Max-Forwards', '70'],
    ['From', `<${u.impu}>;tag=x1`],
    ['To', `<${uri}>`],
    ['Call-ID', `${method}-${Math.random()}`],
    ['CSeq', `1 ${method}`],
    ['Contact', `<${u.contact}>`],
    ...extra,
  ]));
}

describe('PPR from the HSS (TS 29.228 §6.1.5)', () => {
  it('replaces the profile, answers PPA 2001, and a changed implicit set reaches the watcher in a partial NOTIFY', async () => {
    const u = await alice();
    expect((await u.registerFully()).final.status).toBe(200);
    expect((await u.subscribe({ address: lab.ips.scscf, port: 5060 })).status).toBe(200);
    await until(() => u.notifies.length === 1, 3000, 'full NOTIFY');
    const s = lab.store.get(ALICE.impi)!;
    lab.store.put({ ...s, impus: [...s.impus, { uri: `sip:alice.work@${DOMAIN}`, barred: false }] });
    const ppa = await lab.hss.pushProfile(ALICE.impi);
    expect(ppa.resultCode).toBe(2001);
    expect(lab.scscf.store.byImpi(ALICE.impi)!.impus).toContain(`sip:alice.work@${DOMAIN}`);
    await until(() => u.notifies.length === 2, 3000, 'partial NOTIFY');
    const info = parseReginfoSafe(u.notifies[1]!.body.toString());
    expect(info.state).toBe('partial');
    expect(info.registrations.map((r) => r.aor)).toContain(`sip:alice.work@${DOMAIN}`);
  });
});

describe('terminating requests at the I-CSCF (TS 24.229 §5.3.2.1, LIR)', () => {
  it('an unknown callee is 404; a registered one goes to its S-CSCF', async () => {
    const u = await alice();
    const unknown = await u.send(request(u, 'MESSAGE', `sip:nobody@${DOMAIN}`));
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('Warning')).toContain('not a subscriber');
    const unregistered = await u.send(request(u, 'MESSAGE', ALICE.impus[0]!.uri));
    expect(unregistered.status).toBe(480);

    expect((await u.registerFully()).final.status).toBe(200);
    const before = lab.events.filter((e) => e.type === 'packet' && e.node === 'scscf1' && e.direction === 'recv').length;
    const r = await u.send(request(u, 'MESSAGE', ALICE.impus[0]!.uri));
    // Reached the S-CSCF, which delivered it to the registered contact (the scripted UE answers 200).
    expect(lab.events.filter((e) => e.type === 'packet' && e.node === 'scscf1' && e.direction === 'recv').length).toBeGreaterThan(before);
    expect(r.status).toBe(200);
    const delivered = lab.sipSent('scscf1').find((m): m is SipRequest => m instanceof SipRequest && m.method === 'MESSAGE')!;
    expect(delivered.uri).toBe(u.contact);
  });
});

describe('bad input changes nothing and crashes nothing', () => {
  it('an unreadable Authorization or Contact is 400 with the reason; the node keeps serving', async () => {
    const u = await alice();
    const bad1 = await u.register({ authorization: 'Digest username="alice@ims.lab.test, realm' });
    expect(bad1.status).toBe(400);
    const direct = { address: lab.ips.scscf, port: 5060 };
    const reg = request(u, 'REGISTER', `sip:${DOMAIN}`, [['Authorization', `Digest username="${ALICE.impi}", realm="${DOMAIN}", nonce="", uri="sip:${DOMAIN}", response=""`]]);
    reg.headers.set('To', `<${u.impu}>`);
    reg.headers.set('Contact', '<sip:ue@127.0.42.10;q=7>;q=7');
    const bad2 = await u.send(reg, direct);
    expect(bad2.status).toBe(400);
    expect(bad2.headers.get('Warning')).toContain('q value');
    expect(lab.scscf.store.list()).toHaveLength(0);
    expect((await u.registerFully()).final.status).toBe(200);
  });

  it('a Require the registrar does not know is 420 with Unsupported', async () => {
    const u = await alice();
    const r = await u.register({ extra: [['Require', 'path, foo-ext']] });
    expect(r.status).toBe(420);
    expect(r.headers.get('Unsupported')).toBe('foo-ext');
  });

  it('a subscriber needing a capability no S-CSCF has: 480 from the I-CSCF', async () => {
    const s = lab.store.get(ALICE.impi)!;
    lab.store.put({ ...s, capabilities: { mandatory: [42], optional: [] } });
    const u = await alice();
    const r = await u.register();
    expect(r.status).toBe(480);
    expect(r.headers.get('Warning')).toContain('mandatory capabilities [42]');
  });
});
