import { avp } from '../avp.js';
import { BaseAvpCode } from '../dictionary/base.js';
import type { DiameterMessage } from '../message.js';
import {
  answerHead,
  cxAvp,
  cxString,
  decodeChargingInformation,
  decodeSipAuthDataItem,
  encodeChargingInformation,
  encodeSipAuthDataItem,
  pushSupportedFeatures,
  readAnswerHead,
  readRequestHead,
  requestHead,
  requireAvp,
  type ChargingInformation,
  type CxAnswerHeader,
  type CxRequestHeader,
  type SipAuthDataItem,
} from './common.js';
import { CxAvpCode, CxCommandCode, VENDOR_ID_3GPP } from './constants.js';

const V = VENDOR_ID_3GPP;

/** PPR, HSS → S-CSCF when the profile or charging data changes (TS 29.228 §6.1.5, TS 29.229 §6.1.11). */
export interface PushProfileRequest extends CxRequestHeader {
  destinationHost: string;
  userName: string;
  userData?: string;
  chargingInformation?: ChargingInformation;
  sipAuthDataItem?: SipAuthDataItem;
}

/** PPA (TS 29.229 §6.1.12). */
export type PushProfileAnswer = CxAnswerHeader;

export const PushProfileRequest = {
  commandCode: CxCommandCode.PushProfile,
  encode(r: PushProfileRequest): DiameterMessage {
    const m = requestHead(r, CxCommandCode.PushProfile);
    m.avps.push(avp('User-Name', r.userName));
    pushSupportedFeatures(m, r.supportedFeatures);
    if (r.userData !== undefined) m.avps.push(cxAvp(CxAvpCode.UserData, Buffer.from(r.userData, 'utf8')));
    if (r.chargingInformation !== undefined) m.avps.push(encodeChargingInformation(r.chargingInformation));
    if (r.sipAuthDataItem !== undefined) m.avps.push(encodeSipAuthDataItem(r.sipAuthDataItem));
    return m;
  },
  decode(m: DiameterMessage): PushProfileRequest {
    const r: PushProfileRequest = Object.assign(readRequestHead(m), {
      destinationHost: requireAvp(m, BaseAvpCode.DestinationHost).asString(),
      userName: requireAvp(m, BaseAvpCode.UserName).asString(),
    });
    const ud = cxString(m, CxAvpCode.UserData);
    if (ud !== undefined) r.userData = ud;
    const ci = m.get(CxAvpCode.ChargingInformation, V);
    if (ci) r.chargingInformation = decodeChargingInformation(ci);
    const sa = m.get(CxAvpCode.SipAuthDataItem, V);
    if (sa) r.sipAuthDataItem = decodeSipAuthDataItem(sa);
    return r;
  },
};

export const PushProfileAnswer = {
  commandCode: CxCommandCode.PushProfile,
  encode(a: PushProfileAnswer): DiameterMessage {
    const m = answerHead(a, CxCommandCode.PushProfile);
    pushSupportedFeatures(m, a.supportedFeatures);
    return m;
  },
  decode(m: DiameterMessage): PushProfileAnswer {
    return readAnswerHead(m);
  },
};
