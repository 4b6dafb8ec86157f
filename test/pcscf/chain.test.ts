/**
 * The P-CSCF between the real simulated UE and the real I-CSCF, S-CSCF and HSS (TS 24.228 §6.2), each in its own
 * container on 127.0.41.2x, as the runner builds them.
 */
import { filter, firstValueFrom, timeout } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { MemorySubscriberStore } from '../../src/hss/memory-store.js';
import type { Pcscf } from '../../src/pcscf/index.js';
import { parseMessage } from '../../src/sip/parser.js';
import type { SipMessage } from '../../src/sip/message.js';
import type { TraceEvent } from '../../src/trace/events.js';
import { bindUe, type Ue, type UeState } from '../../src/ue/index.js';
import { PORT, until } from './helpers.js';
import { labRun, startRealCore } from './real-core.js';

const DOMAIN = 'ims.chain.test';
const IP = { pcscf: '127.0.41.21', icscf: '127.0.41.22', scscf: '127.0.41.23', hss: '127.0.41.24', ue: '127.0.41.30' };
const K = Buffer.from('465b5ce8b199b49faa5f0a2ee238a6bc', 'hex');
const OP = Buffer.from('cdc202d5123e20f62b6d676ac72cb318', 'hex');

interface Chain {
  events: TraceEvent[];
  pcscf: Pcscf;
  ue: Ue;
  stop(): Promise<void>;
}

let chain: Chain | undefined;
afterEach(async () => {
  await chain?.stop();
  chain = undefined;
});

async function build(ueSecAgree = true): Promise<Chain> {
  const { run, events } = labRun('pcscf-chain', DOMAIN, IP, { alice: IP.ue });
  const store = new MemorySubscriberStore();
  store.put({
    impi: `alice@${DOMAIN}`,
    impus: [{ uri: `sip:alice@${DOMAIN}`, barred: false }, { uri: 'tel:+15550001', barred: false }],
    authSchemes: ['AKAv1-MD5'],
    k: K, op: OP, amf: Buffer.from('8000', 'hex'), sqn: 0x40n, allowedVisitedNetworks: [],
  });
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    const { pcscf, node } = await startRealCore({ run, domain: DOMAIN, store, ip: IP, stops });
    const ue = await node<Ue>(
      {
        name: 'alice', kind: 'ue', address: IP.ue, ports: { udp: 0 }, domain: DOMAIN,
        settings: {
          impi: `alice@${DOMAIN}`, impu: `sip:alice@${DOMAIN}`, pcscf: 'pcscf1', transport: 'udp', secAgree: ueSecAgree, auth: 'aka',
          k: K.toString('hex'), op: OP.toString('hex'), amf: '8000', sqn: '000000000040', expires: 600000,
        },
      },
      bindUe,
    );
    return { events, pcscf, ue, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

function stateOf(ue: Ue, want: (s: UeState) => boolean): Promise<UeState> {
  return firstValueFrom(ue.state$.pipe(filter(want), timeout(5000)));
}

function sent(events: TraceEvent[], node: string): SipMessage[] {
  return events
    .filter((e) => e.type === 'packet' && e.node === node && e.direction === 'send' && e.protocol === 'sip')
    .map((e) => parseMessage((e as { bytes: Buffer }).bytes));
}

describe('UE → P-CSCF → I-CSCF → S-CSCF ↔ HSS (TS 24.228 §6.2)', () => {
  it('registers with IMS AKA and sec-agree, and the P-CSCF holds the registration, the SA and a reg-event subscription', async () => {
    chain = await build();
    const registered = stateOf(chain.ue, (s) => s.state === 'registered' || s.state === 'failed');
    await chain.ue.register();
    const s = await registered;
    expect(s.state).toBe('registered');

    const regs = chain.pcscf.registrations();
    expect(regs).toHaveLength(1);
    const r = regs[0]!;
    expect(r.impus[0]).toBe(`sip:alice@${DOMAIN}`);
    expect(r.impus).toContain('tel:+15550001');
    expect(r.serviceRoute).toEqual([`<sip:orig@${IP.scscf}:${PORT};lr>`]);
    expect(r.sa?.state).toBe('in-use');
    expect(r.sa?.keys.ck).toMatch(/^[0-9a-f]{32}$/);

    // Nothing the P-CSCF sent to the UE carries the keys; what it sent to the I-CSCF has none of the sec-agree headers.
    const toUe = sent(chain.events, 'pcscf1').filter((m) => m.kind === 'response');
    const challenge = toUe.find((m) => m.kind === 'response' && m.status === 401)!;
    expect(challenge.headers.get('WWW-Authenticate')).not.toMatch(/\b(ck|ik)=/);
    expect(challenge.headers.get('Security-Server')).toMatch(/^ipsec-3gpp;q=0\.1;/);
    const registers = sent(chain.events, 'pcscf1').filter((m) => m.kind === 'request' && m.method === 'REGISTER');
    expect(registers).toHaveLength(2);
    for (const m of registers) {
      expect(m.headers.has('Security-Client')).toBe(false);
      expect(m.headers.has('Security-Verify')).toBe(false);
      expect(m.headers.first('Path')).toBe(`<sip:term@${IP.pcscf}:${PORT};lr>`);
    }
    expect(registers[0]!.headers.get('Authorization')).toMatch(/integrity-protected="no"$/);
    expect(registers[1]!.headers.get('Authorization')).toMatch(/integrity-protected="yes"$/);

    // §5.2.3: the P-CSCF's SUBSCRIBE is accepted by the S-CSCF and its full NOTIFY answered.
    await until(() => sent(chain!.events, 'pcscf1').some((m) => m.kind === 'response' && m.status === 200 && (m.headers.get('CSeq') ?? '').endsWith('NOTIFY')), 5000, 'P-CSCF answers the S-CSCF NOTIFY');
    const sub = sent(chain.events, 'pcscf1').find((m) => m.kind === 'request' && m.method === 'SUBSCRIBE')!;
    expect(sub.headers.get('Route')).toBe(`<sip:orig@${IP.scscf}:${PORT};lr>`);
    expect(chain.pcscf.regEventSubscriber?.subscription(`sip:alice@${DOMAIN}`)?.state).toBe('active');
  });

  it('a UE de-registration removes the registration at the P-CSCF', async () => {
    chain = await build();
    const registered = stateOf(chain.ue, (s) => s.state === 'registered' || s.state === 'failed');
    await chain.ue.register();
    expect((await registered).state).toBe('registered');
    const gone = stateOf(chain.ue, (s) => s.state === 'deregistered' || s.state === 'failed');
    await chain.ue.deregister();
    expect((await gone).state).toBe('deregistered');
    await until(() => chain!.pcscf.registrations().length === 0, 3000, 'registration removed');
  });

  it('a UE without sec-agree registers too: no Security-Server, no SA, and its AKA answer is integrity-protected="no"', async () => {
    chain = await build(false);
    const registered = stateOf(chain.ue, (s) => s.state === 'registered' || s.state === 'failed');
    await chain.ue.register();
    expect((await registered).state).toBe('registered');
    const challenge = sent(chain.events, 'pcscf1').find((m) => m.kind === 'response' && m.status === 401)!;
    expect(challenge.headers.has('Security-Server')).toBe(false);
    const registers = sent(chain.events, 'pcscf1').filter((m) => m.kind === 'request' && m.method === 'REGISTER');
    expect(registers.map((m) => /integrity-protected="([^"]+)"/.exec(m.headers.get('Authorization') ?? '')?.[1])).toEqual(['ip-assoc-pending', 'no']);
    expect(chain.pcscf.registrations()[0]?.sa).toBeUndefined();
  });
});
