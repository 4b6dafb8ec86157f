import { avp } from '../avp.js';
import { BaseAvpCode } from '../dictionary/base.js';
import type { DiameterMessage } from '../message.js';
import {
  answerHead,
  cxAvp,
  cxString,
  cxU32,
  decodeSipAuthDataItem,
  encodeSipAuthDataItem,
  pushSupportedFeatures,
  readAnswerHead,
  readRequestHead,
  requestHead,
  requireAvp,
  type CxAnswerHeader,
  type CxRequestHeader,
  type SipAuthDataItem,
} from './common.js';
import { CxAvpCode, CxCommandCode, VENDOR_ID_3GPP } from './constants.js';

const V = VENDOR_ID_3GPP;

/**
 * MAR, S-CSCF → HSS for authentication vectors (TS 29.228 §6.3.1, TS 29.229 §6.1.7). The item carries
 * the scheme, and after a synchronisation failure SIP-Authorization = RAND‖AUTS (TS 33.203 §6.1.2).
 */
export interface MultimediaAuthRequest extends CxRequestHeader {
  userName: string;
  publicIdentity: string;
  sipAuthDataItem: SipAuthDataItem;
  sipNumberAuthItems: number;
  serverName: string;
}

/** MAA (TS 29.229 §6.1.8): Result-Code 2001 with the vectors, or Experimental 5001/5002/5006. */
export interface MultimediaAuthAnswer extends CxAnswerHeader {
  userName?: string;
  publicIdentity?: string;
  sipNumberAuthItems?: number;
  sipAuthDataItems: SipAuthDataItem[];
}

export const MultimediaAuthRequest = {
  commandCode: CxCommandCode.MultimediaAuth,
  encode(r: MultimediaAuthRequest): DiameterMessage {
    const m = requestHead(r, CxCommandCode.MultimediaAuth);
    m.avps.push(avp('User-Name', r.userName));
    pushSupportedFeatures(m, r.supportedFeatures);
    m.avps.push(
      cxAvp(CxAvpCode.PublicIdentity, r.publicIdentity),
      encodeSipAuthDataItem(r.sipAuthDataItem),
      cxAvp(CxAvpCode.SipNumberAuthItems, r.sipNumberAuthItems),
      cxAvp(CxAvpCode.ServerName, r.serverName),
    );
    return m;
  },
  decode(m: DiameterMessage): MultimediaAuthRequest {
    return Object.assign(readRequestHead(m), {
      userName: requireAvp(m, BaseAvpCode.UserName).asString(),
      publicIdentity: requireAvp(m, CxAvpCode.PublicIdentity, V).asString(),
      sipAuthDataItem: decodeSipAuthDataItem(requireAvp(m, CxAvpCode.SipAuthDataItem, V)),
      sipNumberAuthItems: requireAvp(m, CxAvpCode.SipNumberAuthItems, V).asU32(),
      serverName: requireAvp(m, CxAvpCode.ServerName, V).asString(),
    });
  },
};

export const MultimediaAuthAnswer = {
  commandCode: CxCommandCode.MultimediaAuth,
  encode(a: MultimediaAuthAnswer): DiameterMessage {
    const m = answerHead(a, CxCommandCode.MultimediaAuth);
    if (a.userName !== undefined) m.avps.push(avp('User-Name', a.userName));
    pushSupportedFeatures(m, a.supportedFeatures);
    if (a.publicIdentity !== undefined) m.avps.push(cxAvp(CxAvpCode.PublicIdentity, a.publicIdentity));
    if (a.sipNumberAuthItems !== undefined) m.avps.push(cxAvp(CxAvpCode.SipNumberAuthItems, a.sipNumberAuthItems));
    for (const i of a.sipAuthDataItems) m.avps.push(encodeSipAuthDataItem(i));
    return m;
  },
  decode(m: DiameterMessage): MultimediaAuthAnswer {
    const a: MultimediaAuthAnswer = Object.assign(readAnswerHead(m), {
      sipAuthDataItems: m.getAll(CxAvpCode.SipAuthDataItem, V).map(decodeSipAuthDataItem),
    });
    const un = m.get(BaseAvpCode.UserName);
    if (un) a.userName = un.asString();
    const pi = cxString(m, CxAvpCode.PublicIdentity);
    if (pi !== undefined) a.publicIdentity = pi;
    const n = cxU32(m, CxAvpCode.SipNumberAuthItems);
    if (n !== undefined) a.sipNumberAuthItems = n;
    return a;
  },
};
