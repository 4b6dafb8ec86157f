/**
 * Diameter seeds, generated at run time with imslab's own encoders so that they always match the code
 * under test: every Cx request and answer of TS 29.229 §6.1 (with the grouped AVPs: SIP-Auth-Data-Item
 * with AKA and digest, Server-Capabilities, Charging-Information, Deregistration-Reason,
 * Associated-Identities, Supported-Features) and the base CER/CEA, DWR/DWA, DPR/DPA and an error answer
 * with Failed-AVP (RFC 6733 §5, §7.5).
 */
import { avp } from '../../src/diameter/avp.js';
import { buildCapabilitiesExchangeAnswer, buildCapabilitiesExchangeRequest, type LocalIdentity } from '../../src/diameter/capabilities.js';
import { encodeMessage } from '../../src/diameter/codec.js';
import {
  CX_APPLICATION_ID,
  LocationInfoAnswer,
  LocationInfoRequest,
  MultimediaAuthAnswer,
  MultimediaAuthRequest,
  PushProfileAnswer,
  PushProfileRequest,
  ReasonCode,
  RegistrationTerminationAnswer,
  RegistrationTerminationRequest,
  ServerAssignmentAnswer,
  ServerAssignmentRequest,
  ServerAssignmentType,
  SipAuthenticationScheme,
  UserAuthorizationAnswer,
  UserAuthorizationRequest,
  VENDOR_ID_3GPP,
} from '../../src/diameter/cx/index.js';
import { BaseCommandCode } from '../../src/diameter/dictionary/base.js';
import { CommandFlags, DiameterMessage } from '../../src/diameter/message.js';
import { errorAnswer } from '../../src/diameter/validation.js';

export const FUZZ_REALM = 'ims.lab';
export const FUZZ_IMPI = 'alice@ims.lab';
export const FUZZ_IMPU = 'sip:alice@ims.lab';

const head = (host: string) => ({ sessionId: `${host};1767225600;1`, originHost: host, originRealm: FUZZ_REALM, destinationRealm: FUZZ_REALM });
const supportedFeatures = [{ vendorId: VENDOR_ID_3GPP, featureListId: 1, featureList: 1 }];

export const FUZZ_PEER_IDENTITY: LocalIdentity = {
  originHost: 'fuzzer.ims.lab',
  originRealm: FUZZ_REALM,
  hostIpAddresses: ['127.0.48.20', '::1'],
  vendorId: 0,
  productName: 'imslab-fuzz',
  originStateId: 1,
  applications: [{ vendorId: VENDOR_ID_3GPP, authApplicationId: CX_APPLICATION_ID }],
  firmwareRevision: 1,
};

function wire(m: DiameterMessage, n: number): Buffer {
  m.hopByHop = 0x1000 + n;
  m.endToEnd = 0x2000 + n;
  return encodeMessage(m);
}

/** The messages as DiameterMessage objects (the live target also sends some of them as known-good probes). */
export function diameterSeedMessages(): DiameterMessage[] {
  const icscf = head('icscf1.ims.lab');
  const scscf = head('scscf1.ims.lab');
  const hss = { sessionId: icscf.sessionId, originHost: 'hss.ims.lab', originRealm: FUZZ_REALM };
  const cer = buildCapabilitiesExchangeRequest(FUZZ_PEER_IDENTITY);
  const dwr = DiameterMessage.request(BaseCommandCode.DeviceWatchdog, 0, [avp('Origin-Host', 'fuzzer.ims.lab'), avp('Origin-Realm', FUZZ_REALM), avp('Origin-State-Id', 1)], false);
  const dpr = DiameterMessage.request(BaseCommandCode.DisconnectPeer, 0, [avp('Origin-Host', 'fuzzer.ims.lab'), avp('Origin-Realm', FUZZ_REALM), avp('Disconnect-Cause', 0)], false);
  const uar = UserAuthorizationRequest.encode({ ...icscf, userName: FUZZ_IMPI, publicIdentity: FUZZ_IMPU, visitedNetworkIdentifier: FUZZ_REALM, userAuthorizationType: 0, supportedFeatures });
  const mar = MultimediaAuthRequest.encode({
    ...scscf,
    destinationHost: 'hss.ims.lab',
    userName: FUZZ_IMPI,
    publicIdentity: FUZZ_IMPU,
    serverName: 'sip:scscf1.ims.lab:6060',
    sipNumberAuthItems: 1,
    sipAuthDataItem: { authenticationScheme: SipAuthenticationScheme.AKAv1_MD5, authorization: Buffer.alloc(30, 0x5a) },
  });
  const sar = ServerAssignmentRequest.encode({
    ...scscf,
    destinationHost: 'hss.ims.lab',
    userName: FUZZ_IMPI,
    publicIdentities: [FUZZ_IMPU, 'tel:+15550001'],
    serverName: 'sip:scscf1.ims.lab:6060',
    serverAssignmentType: ServerAssignmentType.REGISTRATION,
    userDataAlreadyAvailable: 0,
    multipleRegistrationIndication: 0,
  });
  const lir = LocationInfoRequest.encode({ ...icscf, publicIdentity: 'sip:bob@ims.lab', originatingRequest: true, userAuthorizationType: 0 });
  const rtr = RegistrationTerminationRequest.encode({
    ...hss,
    destinationRealm: FUZZ_REALM,
    destinationHost: 'scscf1.ims.lab',
    userName: FUZZ_IMPI,
    associatedIdentities: [FUZZ_IMPI, 'alice2@ims.lab'],
    publicIdentities: [FUZZ_IMPU],
    deregistrationReason: { reasonCode: ReasonCode.PERMANENT_TERMINATION, reasonInfo: 'subscription ended' },
  });
  const ppr = PushProfileRequest.encode({
    ...hss,
    destinationRealm: FUZZ_REALM,
    destinationHost: 'scscf1.ims.lab',
    userName: FUZZ_IMPI,
    userData: '<?xml version="1.0"?><IMSSubscription><PrivateID>alice@ims.lab</PrivateID></IMSSubscription>',
    chargingInformation: { primaryEventChargingFunctionName: 'aaa://ecf.ims.lab', primaryChargingCollectionFunctionName: 'aaa://ccf.ims.lab' },
    sipAuthDataItem: { digestAuthenticate: { realm: FUZZ_REALM, ha1: '939e7578ed9e3c518a452acee763bce9', algorithm: 'MD5', qop: 'auth' } },
  });
  const uaa = UserAuthorizationAnswer.encode({ ...hss, experimentalResultCode: 2001, serverCapabilities: { mandatoryCapabilities: [1, 2], optionalCapabilities: [3], serverNames: ['sip:scscf1.ims.lab:6060'] }, supportedFeatures });
  const maa = MultimediaAuthAnswer.encode({
    ...hss,
    resultCode: 2001,
    userName: FUZZ_IMPI,
    publicIdentity: FUZZ_IMPU,
    sipNumberAuthItems: 1,
    sipAuthDataItems: [
      {
        itemNumber: 1,
        authenticationScheme: SipAuthenticationScheme.AKAv1_MD5,
        authenticate: Buffer.alloc(32, 0xa5),
        authorization: Buffer.alloc(8, 0x11),
        confidentialityKey: Buffer.alloc(16, 0x22),
        integrityKey: Buffer.alloc(16, 0x33),
      },
      { itemNumber: 2, authenticationScheme: SipAuthenticationScheme.SIP_DIGEST, digestAuthenticate: { realm: FUZZ_REALM, ha1: '939e7578ed9e3c518a452acee763bce9', qop: 'auth' }, framedIpAddress: Buffer.from([127, 0, 48, 9]) },
    ],
  });
  const saa = ServerAssignmentAnswer.encode({
    ...hss,
    resultCode: 2001,
    userName: FUZZ_IMPI,
    userData: '<?xml version="1.0"?><IMSSubscription><PrivateID>alice@ims.lab</PrivateID><ServiceProfile><PublicIdentity><Identity>sip:alice@ims.lab</Identity></PublicIdentity></ServiceProfile></IMSSubscription>',
    chargingInformation: { primaryEventChargingFunctionName: 'aaa://ecf.ims.lab', secondaryChargingCollectionFunctionName: 'aaa://ccf2.ims.lab' },
    associatedIdentities: [FUZZ_IMPI],
  });
  const lia = LocationInfoAnswer.encode({ ...hss, resultCode: 2001, serverName: 'sip:scscf1.ims.lab:6060', liaFlags: 0 });
  const rta = RegistrationTerminationAnswer.encode({ sessionId: hss.sessionId, originHost: 'scscf1.ims.lab', originRealm: FUZZ_REALM, resultCode: 2001, associatedIdentities: [FUZZ_IMPI] });
  const ppa = PushProfileAnswer.encode({ sessionId: hss.sessionId, originHost: 'scscf1.ims.lab', originRealm: FUZZ_REALM, resultCode: 2001 });
  for (const a of [uaa, maa, saa, lia, rta, ppa]) a.flags &= ~CommandFlags.Request;
  const cea = buildCapabilitiesExchangeAnswer(cer, { ...FUZZ_PEER_IDENTITY, originHost: 'hss.ims.lab' }, 2001);
  const dwa = DiameterMessage.answerTo(dwr, [avp('Result-Code', 2001), avp('Origin-Host', 'hss.ims.lab'), avp('Origin-Realm', FUZZ_REALM)]);
  const dpa = DiameterMessage.answerTo(dpr, [avp('Result-Code', 2001), avp('Origin-Host', 'hss.ims.lab'), avp('Origin-Realm', FUZZ_REALM)]);
  const failed = errorAnswer(uar, 5005, FUZZ_PEER_IDENTITY, avp('User-Name', ''), 'missing User-Name');
  return [cer, cea, dwr, dwa, dpr, dpa, uar, uaa, mar, maa, sar, saa, lir, lia, rtr, rta, ppr, ppa, failed];
}

export function diameterSeeds(): Buffer[] {
  return diameterSeedMessages().map((m, i) => wire(m, i));
}
