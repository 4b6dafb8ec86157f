import { avp } from '../avp.js';
import { BaseAvpCode } from '../dictionary/base.js';
import type { DiameterMessage } from '../message.js';
import {
  answerHead,
  cxAvp,
  cxU32,
  decodeAssociatedIdentities,
  decodeDeregistrationReason,
  encodeAssociatedIdentities,
  encodeDeregistrationReason,
  pushSupportedFeatures,
  readAnswerHead,
  readRequestHead,
  requestHead,
  requireAvp,
  type CxAnswerHeader,
  type CxRequestHeader,
  type DeregistrationReason,
} from './common.js';
import { CxAvpCode, CxCommandCode, VENDOR_ID_3GPP } from './constants.js';

const V = VENDOR_ID_3GPP;

/** RTR, HSS → S-CSCF: network-initiated de-registration (TS 29.228 §6.1.3, TS 29.229 §6.1.9). */
export interface RegistrationTerminationRequest extends CxRequestHeader {
  /** Required in an RTR: the HSS addresses the assigned S-CSCF. */
  destinationHost: string;
  userName: string;
  associatedIdentities?: string[];
  publicIdentities?: string[];
  deregistrationReason: DeregistrationReason;
  rtrFlags?: number;
}

/** RTA (TS 29.229 §6.1.10). */
export interface RegistrationTerminationAnswer extends CxAnswerHeader {
  associatedIdentities?: string[];
}

export const RegistrationTerminationRequest = {
  commandCode: CxCommandCode.RegistrationTermination,
  encode(r: RegistrationTerminationRequest): DiameterMessage {
    const m = requestHead(r, CxCommandCode.RegistrationTermination);
    m.avps.push(avp('User-Name', r.userName));
    if (r.associatedIdentities !== undefined) m.avps.push(encodeAssociatedIdentities(r.associatedIdentities));
    pushSupportedFeatures(m, r.supportedFeatures);
    for (const p of r.publicIdentities ?? []) m.avps.push(cxAvp(CxAvpCode.PublicIdentity, p));
    m.avps.push(encodeDeregistrationReason(r.deregistrationReason));
    if (r.rtrFlags !== undefined) m.avps.push(cxAvp(CxAvpCode.RtrFlags, r.rtrFlags));
    return m;
  },
  decode(m: DiameterMessage): RegistrationTerminationRequest {
    const head = readRequestHead(m);
    const r: RegistrationTerminationRequest = {
      ...head,
      destinationHost: requireAvp(m, BaseAvpCode.DestinationHost).asString(),
      userName: requireAvp(m, BaseAvpCode.UserName).asString(),
      deregistrationReason: decodeDeregistrationReason(requireAvp(m, CxAvpCode.DeregistrationReason, V)),
    };
    const ai = m.get(CxAvpCode.AssociatedIdentities, V);
    if (ai) r.associatedIdentities = decodeAssociatedIdentities(ai);
    const pis = m.getAll(CxAvpCode.PublicIdentity, V);
    if (pis.length) r.publicIdentities = pis.map((a) => a.asString());
    const f = cxU32(m, CxAvpCode.RtrFlags);
    if (f !== undefined) r.rtrFlags = f;
    return r;
  },
};

export const RegistrationTerminationAnswer = {
  commandCode: CxCommandCode.RegistrationTermination,
  encode(a: RegistrationTerminationAnswer): DiameterMessage {
    const m = answerHead(a, CxCommandCode.RegistrationTermination);
    if (a.associatedIdentities !== undefined) m.avps.push(encodeAssociatedIdentities(a.associatedIdentities));
    pushSupportedFeatures(m, a.supportedFeatures);
    return m;
  },
  decode(m: DiameterMessage): RegistrationTerminationAnswer {
    const a: RegistrationTerminationAnswer = readAnswerHead(m);
    const ai = m.get(CxAvpCode.AssociatedIdentities, V);
    if (ai) a.associatedIdentities = decodeAssociatedIdentities(ai);
    return a;
  },
};
