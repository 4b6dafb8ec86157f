import { Avp, DiameterDecodeError, avp, missingAvpStub } from '../avp.js';
import { BaseAvpCode } from '../dictionary/base.js';
import { CommandFlags, DiameterMessage } from '../message.js';
import { ResultCode } from '../result-codes.js';
import { CX_APPLICATION_ID, CxAvpCode, VENDOR_ID_3GPP } from './constants.js';

/**
 * Pieces shared by the six Cx commands (TS 29.229 §6.1): the common header AVPs, the grouped AVPs that
 * several commands carry, and typed readers that turn a missing required AVP into DIAMETER_MISSING_AVP.
 */

/** AVPs every Cx request starts with (TS 29.229 §6.1.x CCFs). */
export interface CxRequestHeader {
  sessionId: string;
  originHost: string;
  originRealm: string;
  destinationRealm: string;
  destinationHost?: string;
  supportedFeatures?: SupportedFeatures[];
}

/**
 * AVPs every Cx answer carries. Origin-Host/Origin-Realm and Session-Id may be left out: DiameterNode
 * fills them from its identity and the request.
 */
export interface CxAnswerHeader {
  sessionId?: string;
  originHost?: string;
  originRealm?: string;
  /** Base Result-Code (RFC 6733 §7.1), e.g. 2001 DIAMETER_SUCCESS. */
  resultCode?: number;
  /** Experimental-Result-Code of TS 29.229 §6.2, sent with Vendor-Id 10415. */
  experimentalResultCode?: number;
  supportedFeatures?: SupportedFeatures[];
}

/** TS 29.229 §6.3.29 (TS 29.329 §6.3.11). */
export interface SupportedFeatures {
  vendorId: number;
  featureListId: number;
  featureList: number;
}

/** TS 29.229 §6.3.4: capabilities an I-CSCF uses to pick an S-CSCF. */
export interface ServerCapabilities {
  mandatoryCapabilities: number[];
  optionalCapabilities: number[];
  serverNames: string[];
}

/** TS 29.229 §6.3.19: where the S-CSCF sends charging information. */
export interface ChargingInformation {
  primaryEventChargingFunctionName?: string;
  secondaryEventChargingFunctionName?: string;
  primaryChargingCollectionFunctionName?: string;
  secondaryChargingCollectionFunctionName?: string;
}

/** TS 29.229 §6.3.36 with RFC 4740 §9.5 members: what SIP Digest needs from the HSS. */
export interface SipDigestAuthenticate {
  realm: string;
  algorithm?: string;
  qop?: string;
  /** H(A1) as lowercase hex (RFC 4740 §9.5.18). */
  ha1: string;
}

/**
 * TS 29.229 §6.3.13. In an MAA for IMS AKA: `authenticate` = RAND‖AUTN (32 octets), `authorization` =
 * XRES, `confidentialityKey` = CK, `integrityKey` = IK. In a MAR after a synchronisation failure:
 * `authorization` = RAND‖AUTS (30 octets) (TS 29.228 §6.3.3, TS 33.203 §6.1.2).
 */
export interface SipAuthDataItem {
  itemNumber?: number;
  authenticationScheme?: string;
  authenticate?: Buffer;
  authorization?: Buffer;
  authenticationContext?: Buffer;
  confidentialityKey?: Buffer;
  integrityKey?: Buffer;
  digestAuthenticate?: SipDigestAuthenticate;
  /** Framed-IP-Address octets (NASS-Bundled, TS 29.229 §6.3.13). */
  framedIpAddress?: Buffer;
}

/** TS 29.229 §6.3.16. */
export interface DeregistrationReason {
  reasonCode: number;
  reasonInfo?: string;
}

const V = VENDOR_ID_3GPP;

export function cxAvp(code: number, value: Parameters<typeof avp>[1]): Avp {
  return avp(code, value, { vendor: V });
}

/** Vendor-Specific-Application-Id {Vendor-Id 10415, Auth-Application-Id 16777216} (TS 29.229 §6.1, RFC 6733 §6.11). */
export function cxApplicationAvp(): Avp {
  return avp('Vendor-Specific-Application-Id', [avp('Vendor-Id', V), avp('Auth-Application-Id', CX_APPLICATION_ID)]);
}

/** Cx is stateless towards the Diameter base: Auth-Session-State NO_STATE_MAINTAINED (TS 29.229 §6.1). */
const NO_STATE_MAINTAINED = 1;

export function requestHead(r: CxRequestHeader, commandCode: number): DiameterMessage {
  const m = new DiameterMessage({
    commandCode,
    applicationId: CX_APPLICATION_ID,
    flags: CommandFlags.Request | CommandFlags.Proxiable,
  });
  m.avps.push(
    avp('Session-Id', r.sessionId),
    cxApplicationAvp(),
    avp('Auth-Session-State', NO_STATE_MAINTAINED),
    avp('Origin-Host', r.originHost),
    avp('Origin-Realm', r.originRealm),
  );
  if (r.destinationHost !== undefined) m.avps.push(avp('Destination-Host', r.destinationHost));
  m.avps.push(avp('Destination-Realm', r.destinationRealm));
  return m;
}

export function answerHead(a: CxAnswerHeader, commandCode: number): DiameterMessage {
  const m = new DiameterMessage({ commandCode, applicationId: CX_APPLICATION_ID, flags: CommandFlags.Proxiable });
  if (a.sessionId !== undefined) m.avps.push(avp('Session-Id', a.sessionId));
  m.avps.push(cxApplicationAvp());
  if (a.resultCode !== undefined) m.avps.push(avp('Result-Code', a.resultCode));
  if (a.experimentalResultCode !== undefined) {
    m.avps.push(avp('Experimental-Result', [avp('Vendor-Id', V), avp('Experimental-Result-Code', a.experimentalResultCode)]));
  }
  m.avps.push(avp('Auth-Session-State', NO_STATE_MAINTAINED));
  if (a.originHost !== undefined) m.avps.push(avp('Origin-Host', a.originHost));
  if (a.originRealm !== undefined) m.avps.push(avp('Origin-Realm', a.originRealm));
  return m;
}

export function pushSupportedFeatures(m: DiameterMessage, list: SupportedFeatures[] | undefined): void {
  for (const f of list ?? []) {
    m.avps.push(
      cxAvp(CxAvpCode.SupportedFeatures, [
        avp('Vendor-Id', f.vendorId),
        cxAvp(CxAvpCode.FeatureListId, f.featureListId),
        cxAvp(CxAvpCode.FeatureList, f.featureList),
      ]),
    );
  }
}

/**
 * The header fields of a request, in a fresh object the command's decoder adds its own fields to. Decoders
 * write `Object.assign(readRequestHead(m), { … })`, not `{ ...readRequestHead(m), … }`: V8 (Node 20) builds a
 * spread followed by further properties on a slow path, ~0.7 us per property, which made the spread the
 * costliest line of decoding a UAR.
 */
export function readRequestHead(m: DiameterMessage): CxRequestHeader {
  const h: CxRequestHeader = {
    sessionId: requireAvp(m, BaseAvpCode.SessionId).asString(),
    originHost: requireAvp(m, BaseAvpCode.OriginHost).asString(),
    originRealm: requireAvp(m, BaseAvpCode.OriginRealm).asString(),
    destinationRealm: requireAvp(m, BaseAvpCode.DestinationRealm).asString(),
  };
  const dh = m.get(BaseAvpCode.DestinationHost);
  if (dh) h.destinationHost = dh.asString();
  const sf = readSupportedFeatures(m.avps);
  if (sf.length) h.supportedFeatures = sf;
  return h;
}

export function readAnswerHead(m: DiameterMessage): CxAnswerHeader {
  const h: CxAnswerHeader = {};
  const sid = m.get(BaseAvpCode.SessionId);
  if (sid) h.sessionId = sid.asString();
  const oh = m.get(BaseAvpCode.OriginHost);
  if (oh) h.originHost = oh.asString();
  const or = m.get(BaseAvpCode.OriginRealm);
  if (or) h.originRealm = or.asString();
  const rc = m.get(BaseAvpCode.ResultCode);
  if (rc) h.resultCode = rc.asU32();
  const er = m.experimentalResult;
  if (er) h.experimentalResultCode = er.code;
  const sf = readSupportedFeatures(m.avps);
  if (sf.length) h.supportedFeatures = sf;
  return h;
}

function readSupportedFeatures(avps: Avp[]): SupportedFeatures[] {
  const out: SupportedFeatures[] = [];
  for (const a of avps) {
    if (a.code !== CxAvpCode.SupportedFeatures || a.vendorId !== V) continue;
    out.push({
      vendorId: a.get(BaseAvpCode.VendorId)?.asU32() ?? 0,
      featureListId: a.get(CxAvpCode.FeatureListId, V)?.asU32() ?? 0,
      featureList: a.get(CxAvpCode.FeatureList, V)?.asU32() ?? 0,
    });
  }
  return out;
}

/**
 * The AVP or DIAMETER_MISSING_AVP, whose Failed-AVP carries the missing AVP's code and vendor with a
 * zero-filled payload of the minimum size (RFC 6733 §7.5).
 */
export function requireAvp(parent: DiameterMessage | Avp, code: number, vendorId = 0): Avp {
  const a = parent.get(code, vendorId);
  if (a) return a;
  throw new DiameterDecodeError(`missing AVP ${code}${vendorId ? `/${vendorId}` : ''}`, ResultCode.DIAMETER_MISSING_AVP, missingAvpStub(code, vendorId));
}

export function cxString(parent: DiameterMessage | Avp, code: number): string | undefined {
  return parent.get(code, V)?.asString();
}
export function cxU32(parent: DiameterMessage | Avp, code: number): number | undefined {
  return parent.get(code, V)?.asU32();
}
export function cxBytes(parent: DiameterMessage | Avp, code: number): Buffer | undefined {
  return parent.get(code, V)?.asBytes();
}

export function encodeServerCapabilities(c: ServerCapabilities): Avp {
  return cxAvp(CxAvpCode.ServerCapabilities, [
    ...c.mandatoryCapabilities.map((v) => cxAvp(CxAvpCode.MandatoryCapability, v)),
    ...c.optionalCapabilities.map((v) => cxAvp(CxAvpCode.OptionalCapability, v)),
    ...c.serverNames.map((v) => cxAvp(CxAvpCode.ServerName, v)),
  ]);
}

export function decodeServerCapabilities(a: Avp): ServerCapabilities {
  return {
    mandatoryCapabilities: a.getAll(CxAvpCode.MandatoryCapability, V).map((x) => x.asU32()),
    optionalCapabilities: a.getAll(CxAvpCode.OptionalCapability, V).map((x) => x.asU32()),
    serverNames: a.getAll(CxAvpCode.ServerName, V).map((x) => x.asString()),
  };
}

const CHARGING_FIELDS = [
  ['primaryEventChargingFunctionName', CxAvpCode.PrimaryEventChargingFunctionName],
  ['secondaryEventChargingFunctionName', CxAvpCode.SecondaryEventChargingFunctionName],
  ['primaryChargingCollectionFunctionName', CxAvpCode.PrimaryChargingCollectionFunctionName],
  ['secondaryChargingCollectionFunctionName', CxAvpCode.SecondaryChargingCollectionFunctionName],
] as const;

export function encodeChargingInformation(c: ChargingInformation): Avp {
  const children: Avp[] = [];
  for (const [field, code] of CHARGING_FIELDS) {
    const v = c[field];
    if (v !== undefined) children.push(cxAvp(code, v));
  }
  return cxAvp(CxAvpCode.ChargingInformation, children);
}

export function decodeChargingInformation(a: Avp): ChargingInformation {
  const c: ChargingInformation = {};
  for (const [field, code] of CHARGING_FIELDS) {
    const v = cxString(a, code);
    if (v !== undefined) c[field] = v;
  }
  return c;
}

export function encodeSipAuthDataItem(i: SipAuthDataItem): Avp {
  const c: Avp[] = [];
  if (i.itemNumber !== undefined) c.push(cxAvp(CxAvpCode.SipItemNumber, i.itemNumber));
  if (i.authenticationScheme !== undefined) c.push(cxAvp(CxAvpCode.SipAuthenticationScheme, i.authenticationScheme));
  if (i.authenticate !== undefined) c.push(cxAvp(CxAvpCode.SipAuthenticate, i.authenticate));
  if (i.authorization !== undefined) c.push(cxAvp(CxAvpCode.SipAuthorization, i.authorization));
  if (i.authenticationContext !== undefined) c.push(cxAvp(CxAvpCode.SipAuthenticationContext, i.authenticationContext));
  if (i.confidentialityKey !== undefined) c.push(cxAvp(CxAvpCode.ConfidentialityKey, i.confidentialityKey));
  if (i.integrityKey !== undefined) c.push(cxAvp(CxAvpCode.IntegrityKey, i.integrityKey));
  if (i.digestAuthenticate !== undefined) {
    const d = i.digestAuthenticate;
    const dc = [avp('Digest-Realm', d.realm)];
    if (d.algorithm !== undefined) dc.push(avp('Digest-Algorithm', d.algorithm));
    if (d.qop !== undefined) dc.push(avp('Digest-QoP', d.qop));
    dc.push(avp('Digest-HA1', d.ha1));
    c.push(cxAvp(CxAvpCode.SipDigestAuthenticate, dc));
  }
  if (i.framedIpAddress !== undefined) c.push(avp('Framed-IP-Address', i.framedIpAddress));
  return cxAvp(CxAvpCode.SipAuthDataItem, c);
}

export function decodeSipAuthDataItem(a: Avp): SipAuthDataItem {
  const i: SipAuthDataItem = {};
  const n = cxU32(a, CxAvpCode.SipItemNumber);
  if (n !== undefined) i.itemNumber = n;
  const s = cxString(a, CxAvpCode.SipAuthenticationScheme);
  if (s !== undefined) i.authenticationScheme = s;
  const au = cxBytes(a, CxAvpCode.SipAuthenticate);
  if (au !== undefined) i.authenticate = Buffer.from(au);
  const az = cxBytes(a, CxAvpCode.SipAuthorization);
  if (az !== undefined) i.authorization = Buffer.from(az);
  const ctx = cxBytes(a, CxAvpCode.SipAuthenticationContext);
  if (ctx !== undefined) i.authenticationContext = Buffer.from(ctx);
  const ck = cxBytes(a, CxAvpCode.ConfidentialityKey);
  if (ck !== undefined) i.confidentialityKey = Buffer.from(ck);
  const ik = cxBytes(a, CxAvpCode.IntegrityKey);
  if (ik !== undefined) i.integrityKey = Buffer.from(ik);
  const dg = a.get(CxAvpCode.SipDigestAuthenticate, V);
  if (dg) {
    const d: SipDigestAuthenticate = {
      realm: requireAvp(dg, BaseAvpCode.DigestRealm).asString(),
      ha1: requireAvp(dg, BaseAvpCode.DigestHa1).asString(),
    };
    const alg = dg.get(BaseAvpCode.DigestAlgorithm);
    if (alg) d.algorithm = alg.asString();
    const qop = dg.get(BaseAvpCode.DigestQop);
    if (qop) d.qop = qop.asString();
    i.digestAuthenticate = d;
  }
  const ip = a.get(BaseAvpCode.FramedIpAddress);
  if (ip) i.framedIpAddress = Buffer.from(ip.asBytes());
  return i;
}

export function encodeDeregistrationReason(r: DeregistrationReason): Avp {
  const c = [cxAvp(CxAvpCode.ReasonCode, r.reasonCode)];
  if (r.reasonInfo !== undefined) c.push(cxAvp(CxAvpCode.ReasonInfo, r.reasonInfo));
  return cxAvp(CxAvpCode.DeregistrationReason, c);
}

export function decodeDeregistrationReason(a: Avp): DeregistrationReason {
  const r: DeregistrationReason = { reasonCode: requireAvp(a, CxAvpCode.ReasonCode, V).asEnum() };
  const info = cxString(a, CxAvpCode.ReasonInfo);
  if (info !== undefined) r.reasonInfo = info;
  return r;
}

/** Associated-Identities (TS 29.229 §6.3.33): a group of User-Name AVPs (private identities). */
export function encodeAssociatedIdentities(names: string[]): Avp {
  return cxAvp(
    CxAvpCode.AssociatedIdentities,
    names.map((n) => avp('User-Name', n)),
  );
}

export function decodeAssociatedIdentities(a: Avp): string[] {
  return a.getAll(BaseAvpCode.UserName).map((x) => x.asString());
}
