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

const V = VENDOR_ID_3GPP;
/** Originating-Request ORIGINATING (TS 29.229 §6.3.34). */
const ORIGINATING = 0;

/** LIR, I-CSCF → HSS to find the S-CSCF of a callee (or caller) (TS 29.228 §6.1.4, TS 29.229 §6.1.5). */
export interface LocationInfoRequest extends CxRequestHeader {
  publicIdentity: string;
  /** Set when the I-CSCF routes an originating request (TS 29.228 §6.1.4.1). */
  originatingRequest?: boolean;
  userAuthorizationType?: number;
  sessionPriority?: number;
}

/** LIA (TS 29.229 §6.1.6): 2001 + Server-Name, or Experimental 2003 UNREGISTERED_SERVICE, 5001, 5003. */
export interface LocationInfoAnswer extends CxAnswerHeader {
  serverName?: string;
  serverCapabilities?: ServerCapabilities;
  wildcardedPublicIdentity?: string;
  liaFlags?: number;
}

export const LocationInfoRequest = {
  commandCode: CxCommandCode.LocationInfo,
  encode(r: LocationInfoRequest): DiameterMessage {
    const m = requestHead(r, CxCommandCode.LocationInfo);
    if (r.originatingRequest) m.avps.push(cxAvp(CxAvpCode.OriginatingRequest, ORIGINATING));
    pushSupportedFeatures(m, r.supportedFeatures);
    m.avps.push(cxAvp(CxAvpCode.PublicIdentity, r.publicIdentity));
    if (r.userAuthorizationType !== undefined) m.avps.push(cxAvp(CxAvpCode.UserAuthorizationType, r.userAuthorizationType));
    if (r.sessionPriority !== undefined) m.avps.push(cxAvp(CxAvpCode.SessionPriority, r.sessionPriority));
    return m;
  },
  decode(m: DiameterMessage): LocationInfoRequest {
    const r: LocationInfoRequest = Object.assign(readRequestHead(m), {
      publicIdentity: requireAvp(m, CxAvpCode.PublicIdentity, V).asString(),
    });
    if (m.get(CxAvpCode.OriginatingRequest, V)?.asEnum() === ORIGINATING) r.originatingRequest = true;
    const t = m.get(CxAvpCode.UserAuthorizationType, V);
    if (t) r.userAuthorizationType = t.asEnum();
    const sp = m.get(CxAvpCode.SessionPriority, V);
    if (sp) r.sessionPriority = sp.asEnum();
    return r;
  },
};

export const LocationInfoAnswer = {
  commandCode: CxCommandCode.LocationInfo,
  encode(a: LocationInfoAnswer): DiameterMessage {
    const m = answerHead(a, CxCommandCode.LocationInfo);
    if (a.serverName !== undefined) m.avps.push(cxAvp(CxAvpCode.ServerName, a.serverName));
    if (a.serverCapabilities !== undefined) m.avps.push(encodeServerCapabilities(a.serverCapabilities));
    if (a.wildcardedPublicIdentity !== undefined) m.avps.push(cxAvp(CxAvpCode.WildcardedPublicIdentity, a.wildcardedPublicIdentity));
    if (a.liaFlags !== undefined) m.avps.push(cxAvp(CxAvpCode.LiaFlags, a.liaFlags));
    pushSupportedFeatures(m, a.supportedFeatures);
    return m;
  },
  decode(m: DiameterMessage): LocationInfoAnswer {
    const a: LocationInfoAnswer = readAnswerHead(m);
    const sn = cxString(m, CxAvpCode.ServerName);
    if (sn !== undefined) a.serverName = sn;
    const sc = m.get(CxAvpCode.ServerCapabilities, V);
    if (sc) a.serverCapabilities = decodeServerCapabilities(sc);
    const w = cxString(m, CxAvpCode.WildcardedPublicIdentity);
    if (w !== undefined) a.wildcardedPublicIdentity = w;
    const f = cxU32(m, CxAvpCode.LiaFlags);
    if (f !== undefined) a.liaFlags = f;
    return a;
  },
};
