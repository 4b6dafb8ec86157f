import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { HssNode } from '../../src/hss/hss-node.js';
import { SqliteRegistrationStore, type Scscf, type SubscriptionRegistration } from '../../src/scscf/index.js';
import { parseTopology } from '../../src/topology/loader.js';
import { startTopology } from '../../src/topology/runner.js';
import { runScenario } from '../../src/topology/scenario.js';
import { impiOf, impuOf, nextNote, reliabilityTopology, tempDir } from './helpers.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const PROFILE = `<?xml version="1.0"?><IMSSubscription><PrivateID>carol@x.org</PrivateID><ServiceProfile>
<PublicIdentity><Identity>sip:carol@x.org</Identity></PublicIdentity>
<PublicIdentity><BarringIndication>1</BarringIndication><Identity>tel:+15550009</Identity></PublicIdentity>
</ServiceProfile></IMSSubscription>`;

function carol(expiresAt: number): SubscriptionRegistration {
  return {
    impi: 'carol@x.org',
    impus: ['sip:carol@x.org', 'tel:+15550009'],
    barred: ['tel:+15550009'],
    profile: { privateId: 'carol@x.org', identities: [{ uri: 'sip:carol@x.org', barred: false, serviceProfile: 0 }, { uri: 'tel:+15550009', barred: true, serviceProfile: 0 }], initialFilterCriteria: [[]], xml: PROFILE },
    ids: { 'sip:carol@x.org': 'r1', 'tel:+15550009': 'r2' },
    contacts: [
      {
        uri: 'sip:carol@127.0.0.9:5070',
        params: [['+sip.instance', '"<urn:uuid:00000000-0000-4000-8000-000000000001>"'], ['reg-id', '1'], ['+g.3gpp.icsi-ref', null]],
        displayName: 'Carol',
        instance: '<urn:uuid:00000000-0000-4000-8000-000000000001>',
        regId: 1,
        q: 0.5,
        expiresAt,
        registeredAt: 1_000,
        callId: 'c1@127.0.0.9',
        cseq: 7,
        path: ['<sip:term@127.0.1.1;lr>'],
        receivedFrom: { transport: 'udp', address: '127.0.2.1', port: 5060 },
        id: 'c1',
      },
    ],
  };
}

describe('SqliteRegistrationStore', () => {
  it('a reopened file holds every binding with expiry, Path, Call-ID/CSeq, instance, implicit set and profile', () => {
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    const first = new SqliteRegistrationStore(dir.path, { node: 'scscf1' });
    first.put(carol(99_000));
    first.put({ ...carol(5_000), impi: 'dave@x.org', impus: ['sip:dave@x.org'], barred: [], ids: {} });
    expect(first.remove('dave@x.org')).toBe(true);
    first.close();

    const again = new SqliteRegistrationStore(dir.path, { node: 'scscf1' });
    cleanups.push(() => again.close());
    expect(again.path).toMatch(/scscf1-registrations\.sqlite$/);
    const r = again.byImpu('TEL:+15550009') ?? again.byImpu('tel:+15550009');
    expect(r).toEqual({ ...carol(99_000), profile: { ...carol(99_000).profile, identities: carol(99_000).profile.identities } });
    expect(again.byImpi('dave@x.org')).toBeUndefined();
    expect(again.list().map((x) => x.impi)).toEqual(['carol@x.org']);
  });

  it('the file is in WAL mode with synchronous FULL, so a committed put survives the process', () => {
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    const store = new SqliteRegistrationStore(dir.path, { node: 's' });
    store.put(carol(1));
    // A second connection sees the row without the first one closing: it was committed, not buffered.
    const db = new Database(store.path, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.prepare('SELECT count(*) AS n FROM contact').get()).toEqual({ n: 1 });
    db.close();
    store.close();
  });

  it('a put that fails changes neither the file nor the memory', () => {
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    const store = new SqliteRegistrationStore(dir.path);
    cleanups.push(() => store.close());
    store.put(carol(1));
    const bad = carol(2);
    (bad.contacts[0] as { cseq: unknown }).cseq = undefined; // NOT NULL column
    expect(() => store.put(bad)).toThrow();
    expect(store.byImpi('carol@x.org')!.contacts[0]!.expiresAt).toBe(1);
  });
});

describe('an S-CSCF restarted in a running topology', () => {
  it('keeps the registration confirmed with 200 and the HSS assignment; terminating requests still reach the UE', async () => {
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    const topology = parseTopology(
      reliabilityTopology(11, {
        extra: `scenarios:
  reg: [ { register: alice }, { register: bob } ]
  after: [ { message: { from: bob, to: alice, text: "still there?" } }, { expect: { messagesReceived: { ue: alice, count: 1 } } } ]`,
      }),
    );
    const run = await startTopology(topology, { dataDir: dir.path });
    cleanups.push(() => run.stop());
    expect((await runScenario(run, 'reg', topology.scenarios.reg!)).ok).toBe(true);
    const before = run.node<Scscf>('scscf1').store.byImpi(impiOf('alice'))!;
    expect(before.contacts).toHaveLength(1);

    await run.stopNode('scscf1');
    await run.startNode('scscf1');
    const after = run.node<Scscf>('scscf1').store.byImpi(impiOf('alice'));
    expect(after).toEqual(before);
    expect(run.node<HssNode>('hss1').store.getRegistration(impuOf('alice')).state).toBe('REGISTERED');
    const result = await runScenario(run, 'after', topology.scenarios.after!);
    expect(result.steps.map((s) => [s.label, s.ok, s.reason])).toEqual(result.steps.map((s) => [s.label, true, undefined]));
  }, 30_000);

  it('a binding that expired while the S-CSCF was down is timed out at start: SAR TIMEOUT_DEREGISTRATION, HSS not registered', async () => {
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    const topology = parseTopology(reliabilityTopology(21, { extra: 'scenarios:\n  reg: [ { register: alice } ]' }));
    const run = await startTopology(topology, { dataDir: dir.path });
    cleanups.push(() => run.stop());
    expect((await runScenario(run, 'reg', topology.scenarios.reg!)).ok).toBe(true);
    const path = (run.node<Scscf>('scscf1').store as SqliteRegistrationStore).path;
    await run.stopNode('scscf1');
    const db = new Database(path);
    expect(db.prepare('UPDATE contact SET expires_at = ? WHERE impi = ?').run(Date.now() - 1000, impiOf('alice')).changes).toBe(1);
    db.close();

    const sar = nextNote(run.bus, 'scscf1', /registration expired; telling the HSS \(SAR TIMEOUT_DEREGISTRATION\)/, 5000);
    const restored = nextNote(run.bus, 'scscf1', /1 registration\(s\) restored from the store, 1 with contacts that expired/, 5000);
    await run.startNode('scscf1');
    await Promise.all([sar, restored]);
    const hss = run.node<HssNode>('hss1').store;
    // The SAA comes back after the note; wait for the HSS's state on its own trace of the SAA.
    for (let i = 0; i < 100 && hss.getRegistration(impuOf('alice')).state === 'REGISTERED'; i++) await nextNote(run.bus, 'hss1', /./, 100).catch(() => undefined);
    expect(hss.getRegistration(impuOf('alice')).state).not.toBe('REGISTERED');
    expect(run.node<Scscf>('scscf1').store.byImpi(impiOf('alice'))).toBeUndefined();
  }, 30_000);
});
