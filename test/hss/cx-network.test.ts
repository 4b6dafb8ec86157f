import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Milenage, computeOpc } from '../../src/aka/milenage.js';
import { Usim } from '../../src/aka/usim.js';
import {
  CxClient,
  CxCommandCode,
  ExperimentalResultCode as X,
  PushProfileAnswer,
  ReasonCode,
  RegistrationTerminationAnswer,
  RegistrationTerminationRequest,
  ServerAssignmentType as SAT,
} from '../../src/diameter/cx/index.js';
import { DiameterNode } from '../../src/diameter/node.js';
import { ResultCode } from '../../src/diameter/result-codes.js';
import { HssNode } from '../../src/hss/hss-node.js';
import { SqliteSubscriberStore } from '../../src/hss/sqlite-store.js';
import { TraceBus, type TraceEvent } from '../../src/trace/events.js';
import { SystemClock } from '../../src/util/clock.js';
import { SeededRandom } from '../../src/util/random.js';

const K = Buffer.from('465b5ce8b199b49faa5f0a2ee238a6bc', 'hex');
const OP = Buffer.from('cdc202d5123e20f62b6d676ac72cb318', 'hex');
const HSS_ADDRESS = '127.0.44.1';
const SCSCF_ADDRESS = '127.0.44.3';
const SCSCF = 'sip:scscf1.ims.lab:6060';

let dir: string;
let hss: HssNode;
let scscf: DiameterNode;
let cx: CxClient;
let events: TraceEvent[];
let rtrs: RegistrationTerminationRequest[];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'imslab-hss-net-'));
  const seed = new SeededRandom(42);
  const clock = new SystemClock();
  const trace = new TraceBus(clock);
  events = [];
  trace.events$.subscribe((e) => events.push(e));
  const store = new SqliteSubscriberStore(dir);
  store.put({
    impi: 'alice@ims.lab', impus: [{ uri: 'sip:alice@ims.lab', barred: false }], authSchemes: ['AKAv1-MD5'],
    k: K, op: OP, amf: Buffer.from('8000', 'hex'), sqn: 0x20n, allowedVisitedNetworks: [],
  });
  store.put({
    impi: 'bob@ims.lab', impus: [{ uri: 'sip:bob@ims.lab', barred: false }], authSchemes: ['SIP Digest'],
    password: 'bobpass', amf: Buffer.from('8000', 'hex'), sqn: 0n, allowedVisitedNetworks: [],
  });
  hss = new HssNode({
    spec: { name: 'hss', kind: 'hss', address: HSS_ADDRESS, ports: { diameter: 0 }, domain: 'ims.lab', settings: { realm: 'ims.lab' } },
    clock, random: seed.fork('hss'), trace, dataDir: dir, store,
  });
  await hss.start();
  scscf = new DiameterNode({ name: 'scscf1', originHost: 'scscf1.ims.lab', originRealm: 'ims.lab', address: SCSCF_ADDRESS, port: 0, clock, random: seed.fork('scscf1'), trace });
  rtrs = [];
  scscf.onRequest(CxCommandCode.RegistrationTermination, (req) => {
    rtrs.push(RegistrationTerminationRequest.decode(req));
    return RegistrationTerminationAnswer.encode({ resultCode: ResultCode.DIAMETER_SUCCESS });
  });
  const port = hss.diameter.listening!.port;
  cx = new CxClient(scscf, await scscf.connect(HSS_ADDRESS, port));
});

afterEach(async () => {
  await scscf?.close();
  await hss?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('HSS over Diameter/TCP on loopback', () => {
  it('UAR first, MAR AKA, SAR, UAR subsequent, LIR; every packet traced from the HSS address', async () => {
    const uar1 = await cx.uar({ userName: 'alice@ims.lab', publicIdentity: 'sip:alice@ims.lab', visitedNetworkIdentifier: 'ims.lab' });
    expect(uar1.experimentalResultCode).toBe(X.DIAMETER_FIRST_REGISTRATION);
    expect(uar1.serverCapabilities).toBeDefined();

    const maa = await cx.mar({ userName: 'alice@ims.lab', publicIdentity: 'sip:alice@ims.lab', serverName: SCSCF, sipNumberAuthItems: 2, sipAuthDataItem: { authenticationScheme: 'Digest-AKAv1-MD5' } });
    expect(maa.resultCode).toBe(ResultCode.DIAMETER_SUCCESS);
    expect(maa.sipAuthDataItems).toHaveLength(2);
    const m = new Milenage(K, computeOpc(K, OP));
    for (const item of maa.sipAuthDataItems) expect(item.authorization).toEqual(m.f2345(item.authenticate!.subarray(0, 16)).res);

    const saa = await cx.sar({ userName: 'alice@ims.lab', publicIdentities: ['sip:alice@ims.lab'], serverName: SCSCF, serverAssignmentType: SAT.REGISTRATION, userDataAlreadyAvailable: 0 });
    expect(saa.resultCode).toBe(ResultCode.DIAMETER_SUCCESS);
    expect(saa.userData).toContain('<Identity>sip:alice@ims.lab</Identity>');

    const uar2 = await cx.uar({ userName: 'alice@ims.lab', publicIdentity: 'sip:alice@ims.lab', visitedNetworkIdentifier: 'ims.lab' });
    expect(uar2).toMatchObject({ experimentalResultCode: X.DIAMETER_SUBSEQUENT_REGISTRATION, serverName: SCSCF });
    expect(await cx.lir({ publicIdentity: 'sip:alice@ims.lab' })).toMatchObject({ resultCode: 2001, serverName: SCSCF });
    expect((await cx.uar({ userName: 'nobody@ims.lab', publicIdentity: 'sip:nobody@ims.lab', visitedNetworkIdentifier: 'ims.lab' })).experimentalResultCode).toBe(X.DIAMETER_ERROR_USER_UNKNOWN);
    expect((await cx.uar({ userName: 'alice@ims.lab', publicIdentity: 'sip:bob@ims.lab', visitedNetworkIdentifier: 'ims.lab' })).experimentalResultCode).toBe(X.DIAMETER_ERROR_IDENTITIES_DONT_MATCH);
    expect((await cx.uar({ userName: 'alice@ims.lab', publicIdentity: 'sip:alice@ims.lab', visitedNetworkIdentifier: 'roam.example' })).experimentalResultCode).toBe(X.DIAMETER_ERROR_ROAMING_NOT_ALLOWED);

    const hssPackets = events.filter((e) => e.type === 'packet' && e.node === 'hss');
    expect(hssPackets.length).toBeGreaterThanOrEqual(2 * 8);
    for (const p of hssPackets) if (p.type === 'packet') expect(p.local.address).toBe(HSS_ADDRESS);
    expect(events.some((e) => e.type === 'note' && e.node === 'hss' && e.text === 'UAR: alice has no S-CSCF assigned; answering DIAMETER_FIRST_REGISTRATION with Server-Capabilities')).toBe(true);
  });

  it('MAR SIP Digest: H(A1) = MD5(impi:realm:password)', async () => {
    const maa = await cx.mar({ userName: 'bob@ims.lab', publicIdentity: 'sip:bob@ims.lab', serverName: SCSCF, sipNumberAuthItems: 1, sipAuthDataItem: { authenticationScheme: 'SIP Digest' } });
    expect(maa.sipAuthDataItems[0]!.digestAuthenticate!.ha1).toBe(createHash('md5').update('bob@ims.lab:ims.lab:bobpass').digest('hex'));
  });

  it('MAR resync with a genuine AUTS sets the SQN, persisted in the store file', async () => {
    const usim = new Usim({ k: K, op: OP, sqnState: { indBits: 5, seqMs: new Array(32).fill(5000) } });
    const first = (await cx.mar({ userName: 'alice@ims.lab', publicIdentity: 'sip:alice@ims.lab', serverName: SCSCF, sipNumberAuthItems: 1, sipAuthDataItem: { authenticationScheme: 'Digest-AKAv1-MD5' } })).sipAuthDataItems[0]!;
    const rand = first.authenticate!.subarray(0, 16);
    const r = usim.authenticate(rand, first.authenticate!.subarray(16));
    if (r.ok || r.cause !== 'sync-failure') throw new Error('expected a sync failure');
    const maa = await cx.mar({ userName: 'alice@ims.lab', publicIdentity: 'sip:alice@ims.lab', serverName: SCSCF, sipNumberAuthItems: 1, sipAuthDataItem: { authenticationScheme: 'Digest-AKAv1-MD5', authorization: Buffer.concat([rand, r.auts]) } });
    expect(maa.resultCode).toBe(2001);
    const item = maa.sipAuthDataItems[0]!;
    expect(usim.authenticate(item.authenticate!.subarray(0, 16), item.authenticate!.subarray(16)).ok).toBe(true);
    const other = new SqliteSubscriberStore(dir);
    try {
      expect(other.get('alice@ims.lab')!.sqn).toBeGreaterThan(BigInt('0x' + r.sqnMs.toString('hex')));
    } finally {
      other.close();
    }
  });

  it('SAR user de-registration clears the S-CSCF; LIR then says not registered', async () => {
    await cx.sar({ userName: 'alice@ims.lab', publicIdentities: ['sip:alice@ims.lab'], serverName: SCSCF, serverAssignmentType: SAT.REGISTRATION, userDataAlreadyAvailable: 0 });
    const saa = await cx.sar({ userName: 'alice@ims.lab', publicIdentities: ['sip:alice@ims.lab'], serverName: SCSCF, serverAssignmentType: SAT.USER_DEREGISTRATION, userDataAlreadyAvailable: 1 });
    expect(saa.resultCode).toBe(2001);
    expect(hss.store.getRegistration('sip:alice@ims.lab').serverName).toBeUndefined();
    expect((await cx.lir({ publicIdentity: 'sip:alice@ims.lab' })).experimentalResultCode).toBe(X.DIAMETER_ERROR_IDENTITY_NOT_REGISTERED);
  });

  it('deregister() sends an RTR to the S-CSCF that registered the user; pushProfile() a PPR', async () => {
    await expect(hss.deregister('alice@ims.lab')).rejects.toThrow(/not registered/);
    await cx.sar({ userName: 'alice@ims.lab', publicIdentities: ['sip:alice@ims.lab'], serverName: SCSCF, serverAssignmentType: SAT.REGISTRATION, userDataAlreadyAvailable: 0 });
    let pushed = '';
    scscf.onRequest(CxCommandCode.PushProfile, (req) => {
      pushed = req.get(606, 10415)!.asString();
      return PushProfileAnswer.encode({ resultCode: 2001 });
    });
    expect((await hss.pushProfile('alice@ims.lab')).resultCode).toBe(2001);
    expect(pushed).toContain('<PrivateID>alice@ims.lab</PrivateID>');

    const rta = await hss.deregister('sip:alice@ims.lab', { reasonCode: ReasonCode.PERMANENT_TERMINATION, reasonInfo: 'lab reset' });
    expect(rta.resultCode).toBe(2001);
    expect(rtrs).toHaveLength(1);
    expect(rtrs[0]).toMatchObject({
      destinationHost: 'scscf1.ims.lab', userName: 'alice@ims.lab', publicIdentities: ['sip:alice@ims.lab'],
      deregistrationReason: { reasonCode: ReasonCode.PERMANENT_TERMINATION, reasonInfo: 'lab reset' },
    });
    expect(hss.store.getRegistration('sip:alice@ims.lab').state).toBe('NOT_REGISTERED');
  });

  it('garbage on a connection does not stop the server', async () => {
    const port = hss.diameter.listening!.port;
    await new Promise<void>((resolve, reject) => {
      const s = connect({ host: HSS_ADDRESS, port, localAddress: SCSCF_ADDRESS }, () => s.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')));
      const t = setTimeout(() => reject(new Error('the HSS kept the garbage connection open')), 5000);
      s.on('close', () => {
        clearTimeout(t);
        resolve();
      });
      s.on('error', () => undefined);
    });
    // The existing connection and a new one are still served.
    const uaa = await cx.uar({ userName: 'alice@ims.lab', publicIdentity: 'sip:alice@ims.lab', visitedNetworkIdentifier: 'ims.lab' });
    expect(uaa.experimentalResultCode).toBe(X.DIAMETER_FIRST_REGISTRATION);
    const other = new CxClient(scscf, await scscf.connect(HSS_ADDRESS, port));
    expect((await other.lir({ publicIdentity: 'sip:alice@ims.lab' })).experimentalResultCode).toBe(X.DIAMETER_ERROR_IDENTITY_NOT_REGISTERED);
  });
});
