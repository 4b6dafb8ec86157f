import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from '../../src/diameter/codec.js';
import {
  ExperimentalResultCode,
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
  UserAuthorizationType,
  UserDataAlreadyAvailable,
} from '../../src/diameter/cx/index.js';
import type { DiameterMessage } from '../../src/diameter/message.js';

const head = {
  sessionId: 'icscf.ims.test;1767225600;42',
  originHost: 'icscf.ims.test',
  originRealm: 'ims.test',
  destinationRealm: 'ims.test',
};
const ansHead = { sessionId: head.sessionId, originHost: 'hss.ims.test', originRealm: 'ims.test' };

/** Encode, put on the wire, decode the wire bytes: what arrives must equal what was sent. */
function wire(m: DiameterMessage): DiameterMessage {
  return decodeMessage(encodeMessage(m));
}

// Octets chosen to be invalid UTF-8, as RAND/AUTN/CK/IK often are.
const rand = Buffer.from('f7e6d5c4b3a29180ff00fe01fd02fc03', 'hex');
const autn = Buffer.from('8081828384858687c0c1c2c3e0e1f0f8', 'hex');
const auts = Buffer.from('c0ffee00deadbeefcafebabe8090', 'hex');

describe('Cx typed messages round-trip through the wire (TS 29.229 §6.1)', () => {
  it('UAR/UAA', () => {
    const uar: UserAuthorizationRequest = {
      ...head,
      destinationHost: 'hss.ims.test',
      userName: 'alice@ims.test',
      publicIdentity: 'sip:alice@ims.test',
      visitedNetworkIdentifier: 'visited.example',
      userAuthorizationType: UserAuthorizationType.REGISTRATION_AND_CAPABILITIES,
      uarFlags: 1,
      supportedFeatures: [{ vendorId: 10415, featureListId: 1, featureList: 3 }],
    };
    const m = wire(UserAuthorizationRequest.encode(uar));
    expect(m.commandCode).toBe(300);
    expect(m.applicationId).toBe(16777216);
    expect(m.flags).toBe(0xc0);
    expect(m.avps[0]!.code).toBe(263);
    expect(UserAuthorizationRequest.decode(m)).toEqual(uar);

    const uaa: UserAuthorizationAnswer = {
      ...ansHead,
      experimentalResultCode: ExperimentalResultCode.DIAMETER_FIRST_REGISTRATION,
      serverCapabilities: { mandatoryCapabilities: [1, 2], optionalCapabilities: [7], serverNames: ['sip:scscf.ims.test'] },
    };
    const a = wire(UserAuthorizationAnswer.encode(uaa));
    expect(a.flags).toBe(0x40);
    expect(a.experimentalResult).toEqual({ vendorId: 10415, code: 2001 });
    expect(a.resultCode).toBeUndefined();
    expect(UserAuthorizationAnswer.decode(a)).toEqual(uaa);
  });

  it('SAR/SAA with the user profile and charging information', () => {
    const sar: ServerAssignmentRequest = {
      ...head,
      originHost: 'scscf.ims.test',
      userName: 'alice@ims.test',
      publicIdentities: ['sip:alice@ims.test', 'tel:+15551234'],
      serverName: 'sip:scscf.ims.test:6060',
      serverAssignmentType: ServerAssignmentType.REGISTRATION,
      userDataAlreadyAvailable: UserDataAlreadyAvailable.USER_DATA_NOT_AVAILABLE,
      multipleRegistrationIndication: 0,
    };
    const m = wire(ServerAssignmentRequest.encode(sar));
    expect(m.getAll(601, 10415).length).toBe(2);
    expect(ServerAssignmentRequest.decode(m)).toEqual(sar);

    const saa: ServerAssignmentAnswer = {
      ...ansHead,
      resultCode: 2001,
      userName: 'alice@ims.test',
      userData: '<?xml version="1.0"?><IMSSubscription><PrivateID>alice@ims.test</PrivateID>é</IMSSubscription>',
      chargingInformation: { primaryEventChargingFunctionName: 'aaa://ecf.ims.test', primaryChargingCollectionFunctionName: 'aaa://ccf.ims.test' },
      associatedIdentities: ['alice@ims.test', 'alice2@ims.test'],
      looseRouteIndication: 1,
      priviledgedSenderIndication: 0,
    };
    expect(ServerAssignmentAnswer.decode(wire(ServerAssignmentAnswer.encode(saa)))).toEqual(saa);
  });

  it('LIR/LIA', () => {
    const lir: LocationInfoRequest = { ...head, publicIdentity: 'sip:bob@ims.test', originatingRequest: true, sessionPriority: 2 };
    const m = wire(LocationInfoRequest.encode(lir));
    expect(m.get(633, 10415)!.asEnum()).toBe(0);
    expect(LocationInfoRequest.decode(m)).toEqual(lir);
    const lia: LocationInfoAnswer = { ...ansHead, resultCode: 2001, serverName: 'sip:scscf.ims.test', liaFlags: 1 };
    expect(LocationInfoAnswer.decode(wire(LocationInfoAnswer.encode(lia)))).toEqual(lia);
    const unreg: LocationInfoAnswer = { ...ansHead, experimentalResultCode: ExperimentalResultCode.DIAMETER_UNREGISTERED_SERVICE };
    expect(LocationInfoAnswer.decode(wire(LocationInfoAnswer.encode(unreg)))).toEqual(unreg);
  });

  it('MAR/MAA for IMS AKA: RAND‖AUTN, XRES, CK, IK kept as raw octets; resync MAR carries RAND‖AUTS', () => {
    const mar: MultimediaAuthRequest = {
      ...head,
      originHost: 'scscf.ims.test',
      userName: 'alice@ims.test',
      publicIdentity: 'sip:alice@ims.test',
      sipAuthDataItem: { authenticationScheme: SipAuthenticationScheme.AKAv1_MD5, authorization: Buffer.concat([rand, auts]) },
      sipNumberAuthItems: 1,
      serverName: 'sip:scscf.ims.test',
    };
    const m = wire(MultimediaAuthRequest.encode(mar));
    const decoded = MultimediaAuthRequest.decode(m);
    expect(decoded).toEqual(mar);
    expect(decoded.sipAuthDataItem.authorization!.length).toBe(30);

    const maa: MultimediaAuthAnswer = {
      ...ansHead,
      resultCode: 2001,
      userName: 'alice@ims.test',
      publicIdentity: 'sip:alice@ims.test',
      sipNumberAuthItems: 2,
      sipAuthDataItems: [1, 2].map((n) => ({
        itemNumber: n,
        authenticationScheme: SipAuthenticationScheme.AKAv1_MD5,
        authenticate: Buffer.concat([rand, autn]),
        authorization: Buffer.from('a54211d5e3ba50bf', 'hex'),
        confidentialityKey: Buffer.alloc(16, 0xb4 + n),
        integrityKey: Buffer.alloc(16, 0xf7 - n),
      })),
    };
    const a = MultimediaAuthAnswer.decode(wire(MultimediaAuthAnswer.encode(maa)));
    expect(a).toEqual(maa);
    expect(a.sipAuthDataItems[0]!.authenticate!.subarray(0, 16).equals(rand)).toBe(true);
  });

  it('MAA for SIP Digest carries SIP-Digest-Authenticate with Digest-HA1', () => {
    const maa: MultimediaAuthAnswer = {
      ...ansHead,
      resultCode: 2001,
      sipNumberAuthItems: 1,
      sipAuthDataItems: [
        {
          authenticationScheme: SipAuthenticationScheme.SIP_DIGEST,
          digestAuthenticate: { realm: 'ims.test', algorithm: 'MD5', qop: 'auth', ha1: '939e7578ed9e3c518a452acee763bce9' },
        },
      ],
    };
    expect(MultimediaAuthAnswer.decode(wire(MultimediaAuthAnswer.encode(maa)))).toEqual(maa);
  });

  it('RTR/RTA', () => {
    const rtr: RegistrationTerminationRequest = {
      ...head,
      originHost: 'hss.ims.test',
      destinationHost: 'scscf.ims.test',
      userName: 'alice@ims.test',
      publicIdentities: ['sip:alice@ims.test'],
      associatedIdentities: ['alice@ims.test'],
      deregistrationReason: { reasonCode: ReasonCode.PERMANENT_TERMINATION, reasonInfo: 'subscription removed' },
      rtrFlags: 0,
    };
    expect(RegistrationTerminationRequest.decode(wire(RegistrationTerminationRequest.encode(rtr)))).toEqual(rtr);
    const rta: RegistrationTerminationAnswer = { ...ansHead, resultCode: 2001, associatedIdentities: ['alice@ims.test'] };
    expect(RegistrationTerminationAnswer.decode(wire(RegistrationTerminationAnswer.encode(rta)))).toEqual(rta);
  });

  it('PPR/PPA', () => {
    const ppr: PushProfileRequest = {
      ...head,
      originHost: 'hss.ims.test',
      destinationHost: 'scscf.ims.test',
      userName: 'alice@ims.test',
      userData: '<IMSSubscription/>',
      chargingInformation: { secondaryEventChargingFunctionName: 'aaa://ecf2.ims.test' },
    };
    expect(PushProfileRequest.decode(wire(PushProfileRequest.encode(ppr)))).toEqual(ppr);
    const ppa: PushProfileAnswer = { ...ansHead, resultCode: 2001 };
    expect(PushProfileAnswer.decode(wire(PushProfileAnswer.encode(ppa)))).toEqual(ppa);
  });

  it('a request without a required AVP decodes to DIAMETER_MISSING_AVP naming it', () => {
    const m = MultimediaAuthRequest.encode({
      ...head,
      userName: 'alice@ims.test',
      publicIdentity: 'sip:alice@ims.test',
      sipAuthDataItem: {},
      sipNumberAuthItems: 1,
      serverName: 'sip:s',
    });
    m.avps = m.avps.filter((a) => a.code !== 602);
    expect(() => MultimediaAuthRequest.decode(m)).toThrow(expect.objectContaining({ resultCode: 5005, failedAvp: expect.objectContaining({ code: 602, vendorId: 10415 }) }));
  });
});
