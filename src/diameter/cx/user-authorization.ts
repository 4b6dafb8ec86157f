import { avp } from '../avp.js';
import { BaseAvpCode } from '../dictionary/base.js';
import type { DiameterMessage } from '../message.js';
import {
  answerHead,
  cxAvp,
  cxString,
  cxU32,
  decodeServerCapabilities,
  encodeServerCapabilities,
  pushSupportedFeatures,
  readAnswerHead,
  readRequestHead,
  requestHead,
  requireAvp,
  type CxAnswerHeader,
  type CxRequestHeader,
  type ServerCapabilities,
} from './common.js';
import { CxAvpCode, CxCommandCode, VENDOR_ID_3GPP } from './constants.js';

/** UAR, I-CSCF → HSS at REGISTER (TS 29.228 §6.1.1, TS 29.229 §6.1.1). */
export interface UserAuthorizationRequest extends CxRequestHeader {
  /** Private User Identity (IMPI). */
  userName: string;
  /** Public User Identity (IMPU) being registered. */
  publicIdentity: string;
  /** From P-Visited-Network-ID (TS 24.229 §5.2.2.1). */
  visitedNetworkIdentifier: string;
  /** Absent means REGISTRATION (TS 29.228 §6.1.1.1). */
  userAuthorizationType?: number;
  uarFlags?: number;
}

/** UAA (TS 29.229 §6.1.2). Experimental codes: 2001 FIRST_REGISTRATION, 2002 SUBSEQUENT_REGISTRATION, 5001…5004. */
export interface UserAuthorizationAnswer extends CxAnswerHeader {
  serverName?: string;
  serverCapabilities?: ServerCapabilities;
}

export const UserAuthorizationRequest = {
  commandCode: CxCommandCode.UserAuthorization,
  encode(r: UserAuthorizationRequest): DiameterMessage {
    const m = requestHead(r, CxCommandCode.UserAuthorization);
    m.avps.push(avp('User-Name', r.userName));
    pushSupportedFeatures(m, r.supportedFeatures);
    m.avps.push(
      cxAvp(CxAvpCode.PublicIdentity, r.publicIdentity),
      cxAvp(CxAvpCode.VisitedNetworkIdentifier, Buffer.from(r.visitedNetworkIdentifier, 'utf8')),
    );
    if (r.userAuthorizationType !== undefined) m.avps.push(cxAvp(CxAvpCode.UserAuthorizationType, r.userAuthorizationType));
    if (r.uarFlags !== undefined) m.avps.push(cxAvp(CxAvpCode.UarFlags, r.uarFlags));
    return m;
  },
  decode(m: DiameterMessage): UserAuthorizationRequest {
    const r: UserAuthorizationRequest = Object.assign(readRequestHead(m), {
      userName: requireAvp(m, BaseAvpCode.UserName).asString(),
      publicIdentity: requireAvp(m, CxAvpCode.PublicIdentity, VENDOR_ID_3GPP).asString(),
      visitedNetworkIdentifier: requireAvp(m, CxAvpCode.VisitedNetworkIdentifier, VENDOR_ID_3GPP).asString(),
    });
    const t = m.get(CxAvpCode.UserAuthorizationType, VENDOR_ID_3GPP);
    if (t) r.userAuthorizationType = t.asEnum();
    const f = cxU32(m, CxAvpCode.UarFlags);
    if (f !== undefined) r.uarFlags = f;
    return r;
  },
};

export const UserAuthorizationAnswer = {
  commandCode: CxCommandCode.UserAuthorization,
  encode(a: UserAuthorizationAnswer): DiameterMessage {
    const m = answerHead(a, CxCommandCode.UserAuthorization);
    if (a.serverName !== undefined) m.avps.push(cxAvp(CxAvpCode.ServerName, a.serverName));
    if (a.serverCapabilities !== undefined) m.avps.push(encodeServerCapabilities(a.serverCapabilities));
    pushSupportedFeatures(m, a.supportedFeatures);
    return m;
  },
  decode(m: DiameterMessage): UserAuthorizationAnswer {
    const a: UserAuthorizationAnswer = readAnswerHead(m);
    const sn = cxString(m, CxAvpCode.ServerName);
    if (sn !== undefined) a.serverName = sn;
    const sc = m.get(CxAvpCode.ServerCapabilities, VENDOR_ID_3GPP);
    if (sc) a.serverCapabilities = decodeServerCapabilities(sc);
    return a;
  },
};
