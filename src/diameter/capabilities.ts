import { avp, type Avp } from './avp.js';
import { BaseAvpCode, BaseCommandCode, RELAY_APPLICATION_ID } from './dictionary/base.js';
import { DiameterMessage } from './message.js';

/**
 * Capabilities Exchange (RFC 6733 §5.3): what a node says about itself in CER/CEA, what it learns about
 * the peer, and the common-application rule. Pure: no sockets.
 */

/** An application as advertised: plain Auth-Application-Id, or inside Vendor-Specific-Application-Id. */
export interface ApplicationSupport {
  authApplicationId: number;
  /** Set for vendor applications such as Cx (10415): advertised in Vendor-Specific-Application-Id (§6.11). */
  vendorId?: number;
}

export interface LocalIdentity {
  originHost: string;
  originRealm: string;
  /** Host-IP-Address values (§5.3.5): the addresses the node is reachable at. */
  hostIpAddresses: string[];
  /** IANA enterprise number of the implementation's vendor (§5.3.3); 0 when it has none. */
  vendorId: number;
  productName: string;
  firmwareRevision?: number;
  /** Changes at every restart so that peers can tell a reboot (§8.16). */
  originStateId: number;
  applications: ApplicationSupport[];
}

/** What a peer told us in its CER or CEA. */
export interface PeerIdentity {
  originHost: string;
  originRealm: string;
  hostIpAddresses: string[];
  vendorId: number;
  productName: string;
  originStateId?: number;
  /** Every Auth-Application-Id advertised, top-level or vendor-specific. */
  applicationIds: number[];
}

function identityAvps(id: LocalIdentity): Avp[] {
  const out: Avp[] = [avp('Origin-Host', id.originHost), avp('Origin-Realm', id.originRealm)];
  for (const ip of id.hostIpAddresses) out.push(avp('Host-IP-Address', ip));
  out.push(avp('Vendor-Id', id.vendorId), avp('Product-Name', id.productName), avp('Origin-State-Id', id.originStateId));
  const vendors = new Set<number>();
  for (const app of id.applications) if (app.vendorId !== undefined) vendors.add(app.vendorId);
  for (const v of vendors) out.push(avp('Supported-Vendor-Id', v));
  for (const app of id.applications) {
    if (app.vendorId === undefined) out.push(avp('Auth-Application-Id', app.authApplicationId));
    else {
      out.push(
        avp('Vendor-Specific-Application-Id', [avp('Vendor-Id', app.vendorId), avp('Auth-Application-Id', app.authApplicationId)]),
      );
    }
  }
  if (id.firmwareRevision !== undefined) out.push(avp('Firmware-Revision', id.firmwareRevision));
  return out;
}

/** CER (§5.3.1): neither proxiable nor routed, Application-Id 0. */
export function buildCapabilitiesExchangeRequest(id: LocalIdentity): DiameterMessage {
  return DiameterMessage.request(BaseCommandCode.CapabilitiesExchange, 0, identityAvps(id), false);
}

/** CEA (§5.3.2): Result-Code first after the header, as the CCF lists it. */
export function buildCapabilitiesExchangeAnswer(
  cer: DiameterMessage,
  id: LocalIdentity,
  resultCode: number,
  errorMessage?: string,
): DiameterMessage {
  const avps = [avp('Result-Code', resultCode), ...identityAvps(id)];
  if (errorMessage) avps.push(avp('Error-Message', errorMessage));
  return DiameterMessage.answerTo(cer, avps);
}

export function readPeerIdentity(m: DiameterMessage): PeerIdentity {
  const applicationIds: number[] = [];
  for (const a of m.getAll(BaseAvpCode.AuthApplicationId)) applicationIds.push(a.asU32());
  for (const v of m.getAll(BaseAvpCode.VendorSpecificApplicationId)) {
    const id = v.get(BaseAvpCode.AuthApplicationId);
    if (id) applicationIds.push(id.asU32());
  }
  const p: PeerIdentity = {
    originHost: m.get(BaseAvpCode.OriginHost)?.asString() ?? '',
    originRealm: m.get(BaseAvpCode.OriginRealm)?.asString() ?? '',
    hostIpAddresses: m.getAll(BaseAvpCode.HostIpAddress).map((a) => a.asAddress().address),
    vendorId: m.get(BaseAvpCode.VendorId)?.asU32() ?? 0,
    productName: m.get(BaseAvpCode.ProductName)?.asString() ?? '',
    applicationIds,
  };
  const osi = m.get(BaseAvpCode.OriginStateId);
  if (osi) p.originStateId = osi.asU32();
  return p;
}

/**
 * Applications both sides support (§5.3: "If the local peer receives a CER that does not contain any
 * common applications, it MUST return DIAMETER_NO_COMMON_APPLICATION"). A relay (0xffffffff) supports all.
 */
export function commonApplications(ours: ApplicationSupport[], theirs: number[]): number[] {
  const ourIds = ours.map((a) => a.authApplicationId);
  if (theirs.includes(RELAY_APPLICATION_ID)) return ourIds;
  if (ourIds.includes(RELAY_APPLICATION_ID)) return theirs;
  return ourIds.filter((id) => theirs.includes(id));
}
