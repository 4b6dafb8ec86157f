import { avp } from '../avp.js';
import { BaseAvpCode } from '../dictionary/base.js';
import type { DiameterMessage } from '../message.js';
import {
  answerHead,
  cxAvp,
  cxString,
  cxU32,
  decodeAssociatedIdentities,
  decodeChargingInformation,
  encodeAssociatedIdentities,
  encodeChargingInformation,
  pushSupportedFeatures,
  readAnswerHead,
  readRequestHead,
  requestHead,
  requireAvp,
  type ChargingInformation,
  type CxAnswerHeader,
  type CxRequestHeader,
} from './common.js';
import { CxAvpCode, CxCommandCode, VENDOR_ID_3GPP } from './constants.js';

const V = VENDOR_ID_3GPP;

/** SAR, S-CSCF → HSS after authentication and at de-registration (TS 29.228 §6.1.2, TS 29.229 §6.1.3). */
export interface ServerAssignmentRequest extends CxRequestHeader {
  userName?: string;
  publicIdentities: string[];
  wildcardedPublicIdentity?: string;
  serverName: string;
  serverAssignmentType: number;
  userDataAlreadyAvailable: number;
  multipleRegistrationIndication?: number;
  sessionPriority?: number;
  sarFlags?: number;
}

/** SAA (TS 29.229 §6.1.4): the user profile (IMS subscription XML, TS 29.228 Annex E) on success. */
export interface ServerAssignmentAnswer extends CxAnswerHeader {
  userName?: string;
  /** User-Data is an OctetString holding the UTF-8 XML of TS 29.228 Annex E. */
  userData?: string;
  chargingInformation?: ChargingInformation;
  associatedIdentities?: string[];
  looseRouteIndication?: number;
  serverName?: string;
  wildcardedPublicIdentity?: string;
  priviledgedSenderIndication?: number;
}

export const ServerAssignmentRequest = {
  commandCode: CxCommandCode.ServerAssignment,
  encode(r: ServerAssignmentRequest): DiameterMessage {
    const m = requestHead(r, CxCommandCode.ServerAssignment);
    if (r.userName !== undefined) m.avps.push(avp('User-Name', r.userName));
    pushSupportedFeatures(m, r.supportedFeatures);
    for (const p of r.publicIdentities) m.avps.push(cxAvp(CxAvpCode.PublicIdentity, p));
    if (r.wildcardedPublicIdentity !== undefined) m.avps.push(cxAvp(CxAvpCode.WildcardedPublicIdentity, r.wildcardedPublicIdentity));
    m.avps.push(
      cxAvp(CxAvpCode.ServerName, r.serverName),
      cxAvp(CxAvpCode.ServerAssignmentType, r.serverAssignmentType),
      cxAvp(CxAvpCode.UserDataAlreadyAvailable, r.userDataAlreadyAvailable),
    );
    if (r.multipleRegistrationIndication !== undefined) {
      m.avps.push(cxAvp(CxAvpCode.MultipleRegistrationIndication, r.multipleRegistrationIndication));
    }
    if (r.sessionPriority !== undefined) m.avps.push(cxAvp(CxAvpCode.SessionPriority, r.sessionPriority));
    if (r.sarFlags !== undefined) m.avps.push(cxAvp(CxAvpCode.SarFlags, r.sarFlags));
    return m;
  },
  decode(m: DiameterMessage): ServerAssignmentRequest {
    const r: ServerAssignmentRequest = Object.assign(readRequestHead(m), {
      publicIdentities: m.getAll(CxAvpCode.PublicIdentity, V).map((a) => a.asString()),
      serverName: requireAvp(m, CxAvpCode.ServerName, V).asString(),
      serverAssignmentType: requireAvp(m, CxAvpCode.ServerAssignmentType, V).asEnum(),
      userDataAlreadyAvailable: requireAvp(m, CxAvpCode.UserDataAlreadyAvailable, V).asEnum(),
    });
    const un = m.get(BaseAvpCode.UserName);
    if (un) r.userName = un.asString();
    const w = cxString(m, CxAvpCode.WildcardedPublicIdentity);
    if (w !== undefined) r.wildcardedPublicIdentity = w;
    const mr = m.get(CxAvpCode.MultipleRegistrationIndication, V);
    if (mr) r.multipleRegistrationIndication = mr.asEnum();
    const sp = m.get(CxAvpCode.SessionPriority, V);
    if (sp) r.sessionPriority = sp.asEnum();
    const f = cxU32(m, CxAvpCode.SarFlags);
    if (f !== undefined) r.sarFlags = f;
    return r;
  },
};

export const ServerAssignmentAnswer = {
  commandCode: CxCommandCode.ServerAssignment,
  encode(a: ServerAssignmentAnswer): DiameterMessage {
    const m = answerHead(a, CxCommandCode.ServerAssignment);
    if (a.userName !== undefined) m.avps.push(avp('User-Name', a.userName));
    if (a.userData !== undefined) m.avps.push(cxAvp(CxAvpCode.UserData, Buffer.from(a.userData, 'utf8')));
    if (a.chargingInformation !== undefined) m.avps.push(encodeChargingInformation(a.chargingInformation));
    if (a.associatedIdentities !== undefined) m.avps.push(encodeAssociatedIdentities(a.associatedIdentities));
    if (a.looseRouteIndication !== undefined) m.avps.push(cxAvp(CxAvpCode.LooseRouteIndication, a.looseRouteIndication));
    if (a.serverName !== undefined) m.avps.push(cxAvp(CxAvpCode.ServerName, a.serverName));
    if (a.wildcardedPublicIdentity !== undefined) m.avps.push(cxAvp(CxAvpCode.WildcardedPublicIdentity, a.wildcardedPublicIdentity));
    if (a.priviledgedSenderIndication !== undefined) {
      m.avps.push(cxAvp(CxAvpCode.PriviledgedSenderIndication, a.priviledgedSenderIndication));
    }
    pushSupportedFeatures(m, a.supportedFeatures);
    return m;
  },
  decode(m: DiameterMessage): ServerAssignmentAnswer {
    const a: ServerAssignmentAnswer = readAnswerHead(m);
    const un = m.get(BaseAvpCode.UserName);
    if (un) a.userName = un.asString();
    const ud = cxString(m, CxAvpCode.UserData);
    if (ud !== undefined) a.userData = ud;
    const ci = m.get(CxAvpCode.ChargingInformation, V);
    if (ci) a.chargingInformation = decodeChargingInformation(ci);
    const ai = m.get(CxAvpCode.AssociatedIdentities, V);
    if (ai) a.associatedIdentities = decodeAssociatedIdentities(ai);
    const lr = m.get(CxAvpCode.LooseRouteIndication, V);
    if (lr) a.looseRouteIndication = lr.asEnum();
    const sn = cxString(m, CxAvpCode.ServerName);
    if (sn !== undefined) a.serverName = sn;
    const w = cxString(m, CxAvpCode.WildcardedPublicIdentity);
    if (w !== undefined) a.wildcardedPublicIdentity = w;
    const ps = m.get(CxAvpCode.PriviledgedSenderIndication, V);
    if (ps) a.priviledgedSenderIndication = ps.asEnum();
    return a;
  },
};
