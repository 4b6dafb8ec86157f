import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteRegistrationStore, type SubscriptionRegistration } from '../../src/scscf/index.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'imslab-scscf-gc-'));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

function open(dir: string, groupCommit: boolean): SqliteRegistrationStore {
  const s = new SqliteRegistrationStore(dir, { node: 'scscf1', groupCommit });
  cleanups.push(() => s.close());
  return s;
}

const PROFILE = `<?xml version="1.0"?><IMSSubscription><PrivateID>u@x.org</PrivateID><ServiceProfile>
<PublicIdentity><Identity>sip:u@x.org</Identity></PublicIdentity></ServiceProfile></IMSSubscription>`;

function reg(i: number): SubscriptionRegistration {
  return {
    impi: `u${i}@x.org`,
    impus: [`sip:u${i}@x.org`],
    barred: [],
    profile: { privateId: `u${i}@x.org`, identities: [{ uri: `sip:u${i}@x.org`, barred: false, serviceProfile: 0 }], initialFilterCriteria: [[]], xml: PROFILE },
    ids: { [`sip:u${i}@x.org`]: `r${i}` },
    contacts: [{
      uri: `sip:u${i}@127.0.0.9:${5070 + i}`, params: [], expiresAt: 99_000, registeredAt: 1_000, callId: `c${i}`, cseq: 1,
      path: ['<sip:term@127.0.1.1;lr>'], receivedFrom: { transport: 'udp', address: '127.0.2.1', port: 5060 }, id: `c${i}`,
    }],
  };
}

describe('SqliteRegistrationStore with group commit', () => {
  it('the bindings of one event-loop turn are one commit, on disk when flush() resolves and not before', async () => {
    const dir = tempDir();
    const store = open(dir, true);
    for (let i = 0; i < 4; i++) store.put(reg(i));
    expect(store.remove('u3@x.org')).toBe(true);
    // Served from memory at once, as before.
    expect(store.byImpu('sip:u2@x.org')?.impi).toBe('u2@x.org');
    // Another reader of the file (a restarted S-CSCF) does not see an uncommitted batch.
    expect(open(dir, false).list()).toEqual([]);
    const flushed = store.flush();
    expect(store.groupCommit!.commits).toBe(0);
    await flushed;
    expect(store.groupCommit!.commits).toBe(1);
    const reopened = open(dir, false);
    expect(reopened.list().map((r) => r.impi).sort()).toEqual(['u0@x.org', 'u1@x.org', 'u2@x.org']);
    expect(reopened.byImpi('u1@x.org')?.contacts[0]?.uri).toBe('sip:u1@127.0.0.9:5071');
  });

  it('close() commits what is still open', () => {
    const dir = tempDir();
    const store = new SqliteRegistrationStore(dir, { node: 'scscf1', groupCommit: true });
    store.put(reg(7));
    store.close();
    expect(open(dir, false).byImpi('u7@x.org')?.impus).toEqual(['sip:u7@x.org']);
  });
});
