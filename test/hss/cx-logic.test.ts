import { beforeEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { Milenage, computeOpc } from '../../src/aka/milenage.js';
import { computeAuts } from '../../src/aka/resync.js';
import { Usim } from '../../src/aka/usim.js';
import { decodeMessage, encodeMessage } from '../../src/diameter/codec.js';
import {
  CxAvpCode,
  ExperimentalResultCode as X,
  ServerAssignmentType as SAT,
  UserAuthorizationType as UAT,
  LocationInfoAnswer,
  LocationInfoRequest,
  MultimediaAuthAnswer,
  MultimediaAuthRequest,
  ServerAssignmentAnswer,
  ServerAssignmentRequest,
  UserAuthorizationAnswer,
  UserAuthorizationRequest,
  VENDOR_ID_3GPP,
} from '../../src/diameter/cx/index.js';
import { DiameterMessage } from '../../src/diameter/message.js';
import { ResultCode } from '../../src/diameter/result-codes.js';
import { HssCxServer } from '../../src/hss/cx-server.js';
import { MemorySubscriberStore } from '../../src/hss/memory-store.js';
import type { Subscriber } from '../../src/hss/subscriber.js';
import { TraceBus, type NoteEvent } from '../../src/trace/events.js';
import { FakeClock } from '../../src/util/clock.js';
import { SeededRandom } from '../../src/util/random.js';

const K = Buffer.from('465b5ce8b199b49faa5f0a2ee238a6bc', 'hex');
const OP = Buffer.from('cdc202d5123e20f62b6d676ac72cb318', 'hex');
const SCSCF = 'sip:scscf.ims.lab:6060';
const head = (n: number) => ({ sessionId: `icscf.ims.lab;1;${n}`, originHost: 'scscf.ims.lab', originRealm: 'ims.lab', destinationRealm: 'ims.lab' });

let store: MemorySubscriberStore;
let hss: HssCxServer;
let notes: NoteEvent[];
let n = 0;

function alice(): Subscriber {
  return {
    impi: 'alice@ims.lab',
    impus: [{ uri: 'sip:alice@ims.lab', barred: false }, { uri: 'tel:+15550001', barred: false }],
    authSchemes: ['AKAv1-MD5', 'AKAv2-MD5'],
    k: K,
    op: OP,
    amf: Buffer.from('8000', 'hex'),
    sqn: 0x20n,
    allowedVisitedNetworks: ['partner.example'],
  };
}

beforeEach(() => {
  store = new MemorySubscriberStore();
  store.put(alice());
  store.put({ impi: 'bob@ims.lab', impus: [{ uri: 'sip:bob@ims.lab', barred: false }], authSchemes: ['SIP Digest'], password: 'bobpass', amf: Buffer.from('8000', 'hex'), sqn: 0n, allowedVisitedNetworks: [] });
  store.put({ impi: 'carol@ims.lab', impus: [{ uri: 'sip:carol@ims.lab', barred: true }], authSchemes: ['SIP Digest'], password: 'x', amf: Buffer.from('8000', 'hex'), sqn: 0n, allowedVisitedNetworks: [] });
  store.putScscf({ serverName: SCSCF, capabilities: [1] });
  store.putScscf({ serverName: 'sip:scscf2.ims.lab', capabilities: [] });
  const clock = new FakeClock();
  const trace = new TraceBus(clock);
  notes = [];
  trace.events$.subscribe((e) => e.type === 'note' && notes.push(e));
  hss = new HssCxServer({ store, random: new SeededRandom(7), trace }, { name: 'hss', originHost: 'hss.ims.lab', originRealm: 'ims.lab' });
});

/** Through the codec both ways, as on the wire. */
function ask(req: DiameterMessage): DiameterMessage {
  req.hopByHop = 0x1234;
  req.endToEnd = 0x5678;
  const ans = decodeMessage(encodeMessage(hss.handle(decodeMessage(encodeMessage(req)))));
  expect(ans.hopByHop).toBe(0x1234);
  expect(ans.endToEnd).toBe(0x5678);
  expect(ans.isRequest).toBe(false);
  expect(ans.originHost).toBe('hss.ims.lab');
  return ans;
}

function uar(impi: string, impu: string, extra: Partial<UserAuthorizationRequest> = {}) {
  return UserAuthorizationAnswer.decode(ask(UserAuthorizationRequest.encode({ ...head(++n), userName: impi, publicIdentity: impu, visitedNetworkIdentifier: 'ims.lab', ...extra })));
}
function mar(impi: string, impu: string, scheme: string, count = 1, authorization?: Buffer) {
  return MultimediaAuthAnswer.decode(
    ask(MultimediaAuthRequest.encode({ ...head(++n), userName: impi, publicIdentity: impu, serverName: SCSCF, sipNumberAuthItems: count, sipAuthDataItem: { authenticationScheme: scheme, ...(authorization ? { authorization } : {}) } })),
  );
}
function sar(type: number, impu = 'sip:alice@ims.lab', serverName = SCSCF) {
  return ServerAssignmentAnswer.decode(
    ask(ServerAssignmentRequest.encode({ ...head(++n), userName: 'alice@ims.lab', publicIdentities: [impu], serverName, serverAssignmentType: type, userDataAlreadyAvailable: 0 })),
  );
}
function lir(impu: string) {
  return LocationInfoAnswer.decode(ask(LocationInfoRequest.encode({ ...head(++n), publicIdentity: impu })));
}

describe('UAR (TS 29.228 §6.1.1)', () => {
  it('first registration: DIAMETER_FIRST_REGISTRATION with the capability-matching S-CSCFs', () => {
    store.put({ ...alice(), capabilities: { mandatory: [1], optional: [7] } });
    const a = uar('alice@ims.lab', 'sip:alice@ims.lab');
    expect(a.experimentalResultCode).toBe(X.DIAMETER_FIRST_REGISTRATION);
    expect(a.resultCode).toBeUndefined();
    expect(a.serverName).toBeUndefined();
    expect(a.serverCapabilities).toEqual({ mandatoryCapabilities: [1], optionalCapabilities: [7], serverNames: [SCSCF] });
    expect(notes.at(-1)!.text).toBe('UAR: alice has no S-CSCF assigned; answering DIAMETER_FIRST_REGISTRATION with Server-Capabilities');
    expect(notes.at(-1)!.clause).toBe('TS 29.228 §6.1.1.1');
  });

  it('unknown user, mismatch, barred, roaming', () => {
    expect(uar('nobody@ims.lab', 'sip:nobody@ims.lab').experimentalResultCode).toBe(X.DIAMETER_ERROR_USER_UNKNOWN);
    expect(uar('alice@ims.lab', 'sip:bob@ims.lab').experimentalResultCode).toBe(X.DIAMETER_ERROR_IDENTITIES_DONT_MATCH);
    const barred = uar('carol@ims.lab', 'sip:carol@ims.lab');
    expect(barred.resultCode).toBe(ResultCode.DIAMETER_AUTHORIZATION_REJECTED);
    expect(barred.experimentalResultCode).toBeUndefined();
    expect(uar('alice@ims.lab', 'sip:alice@ims.lab', { visitedNetworkIdentifier: 'elsewhere.example' }).experimentalResultCode).toBe(X.DIAMETER_ERROR_ROAMING_NOT_ALLOWED);
    expect(uar('alice@ims.lab', 'sip:alice@ims.lab', { visitedNetworkIdentifier: 'partner.example' }).experimentalResultCode).toBe(X.DIAMETER_FIRST_REGISTRATION);
    expect(uar('bob@ims.lab', 'sip:bob@ims.lab', { visitedNetworkIdentifier: 'partner.example' }).experimentalResultCode).toBe(X.DIAMETER_ERROR_ROAMING_NOT_ALLOWED);
  });

  it('de-registration of an identity that is not registered: DIAMETER_ERROR_IDENTITY_NOT_REGISTERED', () => {
    expect(uar('alice@ims.lab', 'sip:alice@ims.lab', { userAuthorizationType: UAT.DE_REGISTRATION }).experimentalResultCode).toBe(X.DIAMETER_ERROR_IDENTITY_NOT_REGISTERED);
  });
});

describe('registration round: MAR, SAR, then UAR/LIR', () => {
  it('MAR AKA vectors verify with Milenage and the USIM; SQNs are fresh and stored', () => {
    const a = mar('alice@ims.lab', 'sip:alice@ims.lab', 'Digest-AKAv1-MD5', 3);
    expect(a.resultCode).toBe(ResultCode.DIAMETER_SUCCESS);
    expect(a.sipNumberAuthItems).toBe(3);
    expect(a.sipAuthDataItems).toHaveLength(3);
    const m = new Milenage(K, computeOpc(K, OP));
    const usim = new Usim({ k: K, op: OP });
    const rands = new Set<string>();
    a.sipAuthDataItems.forEach((item, i) => {
      expect(item.itemNumber).toBe(i + 1);
      expect(item.authenticationScheme).toBe('Digest-AKAv1-MD5');
      const rand = item.authenticate!.subarray(0, 16);
      const autn = item.authenticate!.subarray(16);
      rands.add(rand.toString('hex'));
      const f = m.f2345(rand);
      expect(item.authorization).toEqual(f.res);
      expect(item.confidentialityKey).toEqual(f.ck);
      expect(item.integrityKey).toEqual(f.ik);
      const r = usim.authenticate(rand, autn);
      expect(r.ok).toBe(true);
    });
    expect(rands.size).toBe(3);
    expect(store.get('alice@ims.lab')!.sqn).toBeGreaterThan(0x20n);
    const reg = store.getRegistration('sip:alice@ims.lab');
    expect(reg).toMatchObject({ state: 'NOT_REGISTERED', serverName: SCSCF, scscfHost: 'scscf.ims.lab', authPending: true });
    // The stored S-CSCF name is what a UAR for the unfinished registration names.
    expect(uar('alice@ims.lab', 'sip:alice@ims.lab')).toMatchObject({ experimentalResultCode: X.DIAMETER_FIRST_REGISTRATION, serverName: SCSCF });
  });

  it('SAR REGISTRATION stores the S-CSCF, returns the profile; UAR and LIR then name it; de-registration clears it', () => {
    mar('alice@ims.lab', 'sip:alice@ims.lab', 'Digest-AKAv1-MD5');
    const s = sar(SAT.REGISTRATION);
    expect(s.resultCode).toBe(ResultCode.DIAMETER_SUCCESS);
    expect(s.userName).toBe('alice@ims.lab');
    expect(s.userData).toContain('<PrivateID>alice@ims.lab</PrivateID>');
    expect(s.userData).toContain('<Identity>tel:+15550001</Identity>');
    expect(s.chargingInformation).toEqual({ primaryChargingCollectionFunctionName: 'aaa://ccf.ims.lab:3868;transport=tcp' });
    for (const impu of ['sip:alice@ims.lab', 'tel:+15550001']) expect(store.getRegistration(impu)).toMatchObject({ state: 'REGISTERED', serverName: SCSCF, authPending: false });

    expect(uar('alice@ims.lab', 'sip:alice@ims.lab')).toMatchObject({ experimentalResultCode: X.DIAMETER_SUBSEQUENT_REGISTRATION, serverName: SCSCF });
    expect(lir('tel:+15550001')).toMatchObject({ resultCode: ResultCode.DIAMETER_SUCCESS, serverName: SCSCF });
    expect(uar('alice@ims.lab', 'sip:alice@ims.lab', { userAuthorizationType: UAT.DE_REGISTRATION })).toMatchObject({ resultCode: 2001, serverName: SCSCF });
    // Another S-CSCF may not take over a registered user with an SAR.
    expect(sar(SAT.REGISTRATION, 'sip:alice@ims.lab', 'sip:scscf2.ims.lab')).toMatchObject({ experimentalResultCode: X.DIAMETER_ERROR_IDENTITY_ALREADY_REGISTERED, serverName: SCSCF });

    expect(sar(SAT.USER_DEREGISTRATION).resultCode).toBe(ResultCode.DIAMETER_SUCCESS);
    expect(store.getRegistration('sip:alice@ims.lab')).toEqual({ impu: 'sip:alice@ims.lab', state: 'NOT_REGISTERED', authPending: false });
    expect(lir('sip:alice@ims.lab').experimentalResultCode).toBe(X.DIAMETER_ERROR_IDENTITY_NOT_REGISTERED);
    expect(lir('sip:nobody@ims.lab').experimentalResultCode).toBe(X.DIAMETER_ERROR_USER_UNKNOWN);
  });

  it('SAR *_STORE_SERVER_NAME without unregistered services: DIAMETER_SUCCESS_SERVER_NAME_NOT_STORED; with them: kept, unregistered', () => {
    sar(SAT.REGISTRATION);
    expect(sar(SAT.TIMEOUT_DEREGISTRATION_STORE_SERVER_NAME).experimentalResultCode).toBe(X.DIAMETER_SUCCESS_SERVER_NAME_NOT_STORED);
    expect(store.getRegistration('sip:alice@ims.lab').state).toBe('NOT_REGISTERED');
    const xml = '<?xml version="1.0"?><IMSSubscription><PrivateID>alice@ims.lab</PrivateID><ServiceProfile><PublicIdentity><Identity>sip:alice@ims.lab</Identity></PublicIdentity><InitialFilterCriteria><Priority>0</Priority></InitialFilterCriteria></ServiceProfile></IMSSubscription>';
    store.put({ ...alice(), userData: xml });
    sar(SAT.REGISTRATION);
    expect(sar(SAT.USER_DEREGISTRATION_STORE_SERVER_NAME).resultCode).toBe(ResultCode.DIAMETER_SUCCESS);
    expect(store.getRegistration('sip:alice@ims.lab')).toMatchObject({ state: 'UNREGISTERED', serverName: SCSCF });
    expect(lir('sip:alice@ims.lab')).toMatchObject({ resultCode: 2001, serverName: SCSCF });
    expect(sar(SAT.NO_ASSIGNMENT).userData).toBe(xml);
    expect(sar(SAT.NO_ASSIGNMENT, 'sip:alice@ims.lab', 'sip:other.ims.lab').resultCode).toBe(ResultCode.DIAMETER_UNABLE_TO_COMPLY);
  });

  it('SAR UNREGISTERED_USER for a registered identity is DIAMETER_ERROR_IN_ASSIGNMENT_TYPE; for a free one it assigns', () => {
    expect(sar(SAT.UNREGISTERED_USER).resultCode).toBe(2001);
    expect(store.getRegistration('tel:+15550001')).toMatchObject({ state: 'UNREGISTERED', serverName: SCSCF });
    sar(SAT.REGISTRATION);
    expect(sar(SAT.UNREGISTERED_USER).experimentalResultCode).toBe(X.DIAMETER_ERROR_IN_ASSIGNMENT_TYPE);
  });

  it('SAR AUTHENTICATION_FAILURE clears the pending name of an unregistered user and explains', () => {
    mar('alice@ims.lab', 'sip:alice@ims.lab', 'Digest-AKAv1-MD5');
    expect(sar(SAT.AUTHENTICATION_FAILURE).resultCode).toBe(2001);
    expect(store.getRegistration('sip:alice@ims.lab')).toEqual({ impu: 'sip:alice@ims.lab', state: 'NOT_REGISTERED', authPending: false });
    expect(notes.at(-1)!.text).toMatch(/failed authentication; check K\/OP\/AMF with `imslab aka doctor`/);
  });
});

describe('MAR (TS 29.228 §6.3)', () => {
  it('SIP Digest: H(A1) = MD5(impi:realm:password) in SIP-Digest-Authenticate', () => {
    const a = mar('bob@ims.lab', 'sip:bob@ims.lab', 'SIP Digest');
    expect(a.resultCode).toBe(2001);
    const d = a.sipAuthDataItems[0]!.digestAuthenticate!;
    expect(d).toEqual({ realm: 'ims.lab', algorithm: 'MD5', qop: 'auth', ha1: createHash('md5').update('bob@ims.lab:ims.lab:bobpass').digest('hex') });
    expect(a.sipAuthDataItems[0]!.authenticationScheme).toBe('SIP Digest');
  });

  it('a scheme the subscriber may not use: DIAMETER_ERROR_AUTH_SCHEME_NOT_SUPPORTED; Unknown lets the HSS choose', () => {
    expect(mar('bob@ims.lab', 'sip:bob@ims.lab', 'Digest-AKAv1-MD5').experimentalResultCode).toBe(X.DIAMETER_ERROR_AUTH_SCHEME_NOT_SUPPORTED);
    expect(mar('alice@ims.lab', 'sip:alice@ims.lab', 'SIP Digest').experimentalResultCode).toBe(X.DIAMETER_ERROR_AUTH_SCHEME_NOT_SUPPORTED);
    expect(mar('alice@ims.lab', 'sip:alice@ims.lab', 'Unknown').sipAuthDataItems[0]!.authenticationScheme).toBe('Digest-AKAv1-MD5');
    expect(mar('alice@ims.lab', 'sip:bob@ims.lab', 'Unknown').experimentalResultCode).toBe(X.DIAMETER_ERROR_IDENTITIES_DONT_MATCH);
    expect(mar('nobody@ims.lab', 'sip:alice@ims.lab', 'Unknown').experimentalResultCode).toBe(X.DIAMETER_ERROR_USER_UNKNOWN);
  });

  it('resynchronisation with a genuine AUTS sets the SQN from SQN_MS and the next vector is accepted', () => {
    // A USIM that has already seen SEQ 1000 in every slot rejects the HSS's low SQN.
    const usim = new Usim({ k: K, op: OP, sqnState: { indBits: 5, seqMs: new Array(32).fill(1000) } });
    const first = mar('alice@ims.lab', 'sip:alice@ims.lab', 'Digest-AKAv1-MD5').sipAuthDataItems[0]!;
    const rand = first.authenticate!.subarray(0, 16);
    const r = usim.authenticate(rand, first.authenticate!.subarray(16));
    expect(r.ok).toBe(false);
    if (r.ok || r.cause !== 'sync-failure') throw new Error('expected a sync failure');
    const before = store.get('alice@ims.lab')!.sqn;
    const again = mar('alice@ims.lab', 'sip:alice@ims.lab', 'Digest-AKAv1-MD5', 1, Buffer.concat([rand, r.auts]));
    expect(again.resultCode).toBe(2001);
    const sqnMs = BigInt('0x' + r.sqnMs.toString('hex'));
    expect(store.get('alice@ims.lab')!.sqn).toBeGreaterThan(sqnMs);
    const note = notes.find((x) => x.text.startsWith('MAR: AUTS says'))!;
    expect(note.text).toBe(`MAR: AUTS says the UE is at SQN 0x${sqnMs.toString(16).padStart(12, '0')}; ours was 0x${before.toString(16).padStart(12, '0')}; resynchronised`);
    const item = again.sipAuthDataItems[0]!;
    expect(usim.authenticate(item.authenticate!.subarray(0, 16), item.authenticate!.subarray(16)).ok).toBe(true);
  });

  it('an AUTS made with another key is rejected and the SQN is left alone', () => {
    const wrongK = Buffer.alloc(16, 1);
    const rand = Buffer.alloc(16, 9);
    const auts = computeAuts({ k: wrongK, opc: computeOpc(wrongK, OP), rand, sqnMs: Buffer.from('000000010000', 'hex') });
    const a = mar('alice@ims.lab', 'sip:alice@ims.lab', 'Digest-AKAv1-MD5', 1, Buffer.concat([rand, auts]));
    expect(a.resultCode).toBe(ResultCode.DIAMETER_AUTHORIZATION_REJECTED);
    expect(store.get('alice@ims.lab')!.sqn).toBe(0x20n);
    expect(notes.at(-1)!.text).toMatch(/fails its MAC-S check/);
  });

  it('says so when the UE fails the challenge twice (MARs without SAR)', () => {
    mar('alice@ims.lab', 'sip:alice@ims.lab', 'Digest-AKAv1-MD5');
    mar('alice@ims.lab', 'sip:alice@ims.lab', 'Digest-AKAv1-MD5');
    expect(notes.some((x) => x.level === 'warn' && x.text.includes('failed the challenge twice'))).toBe(false);
    mar('alice@ims.lab', 'sip:alice@ims.lab', 'Digest-AKAv1-MD5');
    const warn = notes.find((x) => x.level === 'warn' && x.text.includes('the UE failed the challenge twice; check K/OP/AMF with `imslab aka doctor`'));
    expect(warn).toBeDefined();
    sar(SAT.REGISTRATION);
    notes.length = 0;
    mar('alice@ims.lab', 'sip:alice@ims.lab', 'Digest-AKAv1-MD5');
    expect(notes.some((x) => x.text.includes('failed the challenge'))).toBe(false);
  });
});

describe('bad requests never crash the HSS', () => {
  it('missing mandatory AVP: DIAMETER_MISSING_AVP with Failed-AVP naming it', () => {
    const req = UserAuthorizationRequest.encode({ ...head(1), userName: 'alice@ims.lab', publicIdentity: 'sip:alice@ims.lab', visitedNetworkIdentifier: 'ims.lab' });
    req.avps = req.avps.filter((a) => !(a.code === CxAvpCode.PublicIdentity && a.vendorId === VENDOR_ID_3GPP));
    const ans = ask(req);
    expect(ans.resultCode).toBe(ResultCode.DIAMETER_MISSING_AVP);
    const failed = ans.get(279)!.asGrouped();
    expect(failed[0]!.code).toBe(CxAvpCode.PublicIdentity);
    expect(failed[0]!.vendorId).toBe(VENDOR_ID_3GPP);
    expect(ans.sessionId).toBe('icscf.ims.lab;1;1');
  });

  it('a failing store: DIAMETER_UNABLE_TO_COMPLY and an error note', () => {
    store.findImpiByImpu = () => {
      throw new Error('disk I/O error');
    };
    const ans = ask(UserAuthorizationRequest.encode({ ...head(1), userName: 'alice@ims.lab', publicIdentity: 'sip:alice@ims.lab', visitedNetworkIdentifier: 'ims.lab' }));
    expect(ans.resultCode).toBe(ResultCode.DIAMETER_UNABLE_TO_COMPLY);
    expect(notes.at(-1)).toMatchObject({ level: 'error', text: 'UserAuthorization: disk I/O error; answering DIAMETER_UNABLE_TO_COMPLY' });
  });

  it('a command the HSS does not serve: DIAMETER_COMMAND_UNSUPPORTED with the E bit', () => {
    const ans = ask(DiameterMessage.request(304, 16777216, []));
    expect(ans.resultCode).toBe(ResultCode.DIAMETER_COMMAND_UNSUPPORTED);
    expect(ans.isError).toBe(true);
  });

  it('an undefined Server-Assignment-Type: DIAMETER_INVALID_AVP_VALUE, nothing changed', () => {
    expect(sar(99).resultCode).toBe(ResultCode.DIAMETER_INVALID_AVP_VALUE);
    expect(store.listRegistrations()).toEqual([]);
  });
});
