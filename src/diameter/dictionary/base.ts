import { rules, type AvpDefinition, type AvpFlagName, type AvpType, type CommandDefinition } from './types.js';

/**
 * Diameter base protocol (RFC 6733) AVPs and the peer-level commands, plus the few RFC 4740 / RFC 7155
 * AVPs that TS 29.229 nests inside SIP-Auth-Data-Item.
 */
function ietf(
  name: string,
  code: number,
  type: AvpType,
  must: AvpFlagName[],
  mustNot: AvpFlagName[],
  clause: string,
  values?: Record<number, string>,
): AvpDefinition {
  return { name, code, vendorId: 0, type, must, mustNot, clause, ...(values ? { values } : {}) };
}

const M: AvpFlagName[] = ['M'];
const V: AvpFlagName[] = ['V'];
const VM: AvpFlagName[] = ['V', 'M'];

/** RFC 6733 §4.5 (flag rules: "M" MUST, "V" MUST NOT for every base AVP, except the three marked -|V,M). */
export const BASE_AVPS: readonly AvpDefinition[] = [
  ietf('User-Name', 1, 'UTF8String', M, V, 'RFC 6733 §8.14'),
  ietf('Class', 25, 'OctetString', M, V, 'RFC 6733 §8.20'),
  ietf('Session-Timeout', 27, 'Unsigned32', M, V, 'RFC 6733 §8.13'),
  ietf('Proxy-State', 33, 'OctetString', M, V, 'RFC 6733 §6.7.4'),
  ietf('Event-Timestamp', 55, 'Time', M, V, 'RFC 6733 §8.21'),
  ietf('Host-IP-Address', 257, 'Address', M, V, 'RFC 6733 §5.3.5'),
  ietf('Auth-Application-Id', 258, 'Unsigned32', M, V, 'RFC 6733 §6.8'),
  ietf('Acct-Application-Id', 259, 'Unsigned32', M, V, 'RFC 6733 §6.9'),
  ietf('Vendor-Specific-Application-Id', 260, 'Grouped', M, V, 'RFC 6733 §6.11'),
  ietf('Redirect-Host-Usage', 261, 'Enumerated', M, V, 'RFC 6733 §6.13', {
    0: 'DONT_CACHE',
    1: 'ALL_SESSION',
    2: 'ALL_REALM',
    3: 'REALM_AND_APPLICATION',
    4: 'ALL_APPLICATION',
    5: 'ALL_HOST',
    6: 'ALL_USER',
  }),
  ietf('Redirect-Max-Cache-Time', 262, 'Unsigned32', M, V, 'RFC 6733 §6.14'),
  ietf('Session-Id', 263, 'UTF8String', M, V, 'RFC 6733 §8.8'),
  ietf('Origin-Host', 264, 'DiameterIdentity', M, V, 'RFC 6733 §6.3'),
  ietf('Supported-Vendor-Id', 265, 'Unsigned32', M, V, 'RFC 6733 §5.3.6'),
  ietf('Vendor-Id', 266, 'Unsigned32', M, V, 'RFC 6733 §5.3.3'),
  ietf('Firmware-Revision', 267, 'Unsigned32', [], VM, 'RFC 6733 §5.3.4'),
  ietf('Result-Code', 268, 'Unsigned32', M, V, 'RFC 6733 §7.1'),
  ietf('Product-Name', 269, 'UTF8String', [], VM, 'RFC 6733 §5.3.7'),
  ietf('Session-Binding', 270, 'Unsigned32', M, V, 'RFC 6733 §8.17'),
  ietf('Session-Server-Failover', 271, 'Enumerated', M, V, 'RFC 6733 §8.18', {
    0: 'REFUSE_SERVICE',
    1: 'TRY_AGAIN',
    2: 'ALLOW_SERVICE',
    3: 'TRY_AGAIN_ALLOW_SERVICE',
  }),
  ietf('Multi-Round-Time-Out', 272, 'Unsigned32', M, V, 'RFC 6733 §8.19'),
  ietf('Disconnect-Cause', 273, 'Enumerated', M, V, 'RFC 6733 §5.4.3', {
    0: 'REBOOTING',
    1: 'BUSY',
    2: 'DO_NOT_WANT_TO_TALK_TO_YOU',
  }),
  ietf('Auth-Request-Type', 274, 'Enumerated', M, V, 'RFC 6733 §8.7', { 1: 'AUTHENTICATE_ONLY', 2: 'AUTHORIZE_ONLY', 3: 'AUTHORIZE_AUTHENTICATE' }),
  ietf('Auth-Grace-Period', 276, 'Unsigned32', M, V, 'RFC 6733 §8.10'),
  ietf('Auth-Session-State', 277, 'Enumerated', M, V, 'RFC 6733 §8.11', { 0: 'STATE_MAINTAINED', 1: 'NO_STATE_MAINTAINED' }),
  ietf('Origin-State-Id', 278, 'Unsigned32', M, V, 'RFC 6733 §8.16'),
  ietf('Failed-AVP', 279, 'Grouped', M, V, 'RFC 6733 §7.5'),
  ietf('Proxy-Host', 280, 'DiameterIdentity', M, V, 'RFC 6733 §6.7.3'),
  ietf('Error-Message', 281, 'UTF8String', [], VM, 'RFC 6733 §7.3'),
  ietf('Route-Record', 282, 'DiameterIdentity', M, V, 'RFC 6733 §6.7.1'),
  ietf('Destination-Realm', 283, 'DiameterIdentity', M, V, 'RFC 6733 §6.6'),
  ietf('Proxy-Info', 284, 'Grouped', M, V, 'RFC 6733 §6.7.2'),
  ietf('Re-Auth-Request-Type', 285, 'Enumerated', M, V, 'RFC 6733 §8.12', { 0: 'AUTHORIZE_ONLY', 1: 'AUTHORIZE_AUTHENTICATE' }),
  ietf('Accounting-Sub-Session-Id', 287, 'Unsigned64', M, V, 'RFC 6733 §9.8.6'),
  ietf('Authorization-Lifetime', 291, 'Unsigned32', M, V, 'RFC 6733 §8.9'),
  ietf('Redirect-Host', 292, 'DiameterURI', M, V, 'RFC 6733 §6.12'),
  ietf('Destination-Host', 293, 'DiameterIdentity', M, V, 'RFC 6733 §6.5'),
  ietf('Error-Reporting-Host', 294, 'DiameterIdentity', [], VM, 'RFC 6733 §7.4'),
  ietf('Termination-Cause', 295, 'Enumerated', M, V, 'RFC 6733 §8.15'),
  ietf('Origin-Realm', 296, 'DiameterIdentity', M, V, 'RFC 6733 §6.4'),
  ietf('Experimental-Result', 297, 'Grouped', M, V, 'RFC 6733 §7.6'),
  ietf('Experimental-Result-Code', 298, 'Unsigned32', M, V, 'RFC 6733 §7.7'),
  ietf('Inband-Security-Id', 299, 'Unsigned32', M, V, 'RFC 6733 §6.10', { 0: 'NO_INBAND_SECURITY', 1: 'TLS' }),
  // RFC 7155 (NASREQ) AVPs that TS 29.229 §6.3.13 allows inside SIP-Auth-Data-Item.
  ietf('Framed-IP-Address', 8, 'OctetString', M, V, 'RFC 7155 §4.4.10.5.1'),
  ietf('Framed-Interface-Id', 96, 'Unsigned64', M, V, 'RFC 7155 §4.4.10.5.6'),
  ietf('Framed-IPv6-Prefix', 97, 'OctetString', M, V, 'RFC 7155 §4.4.10.5.7'),
  // RFC 4740 §9.5 digest AVPs, nested in SIP-Digest-Authenticate (TS 29.229 §6.3.36).
  ietf('Digest-Realm', 104, 'OctetString', M, V, 'RFC 4740 §9.5.1'),
  ietf('Digest-QoP', 110, 'OctetString', M, V, 'RFC 4740 §9.5.7'),
  ietf('Digest-Algorithm', 111, 'OctetString', M, V, 'RFC 4740 §9.5.8'),
  ietf('Digest-HA1', 121, 'OctetString', M, V, 'RFC 4740 §9.5.18'),
];

/** Application Id of the base protocol's own messages (RFC 6733 §2.4). */
export const BASE_APPLICATION_ID = 0;
/** Relay application (RFC 6733 §2.4): advertises support of every application. */
export const RELAY_APPLICATION_ID = 0xffffffff;

export const BaseCommandCode = {
  CapabilitiesExchange: 257,
  DeviceWatchdog: 280,
  DisconnectPeer: 282,
} as const;

/** RFC 6733 §5.3.1–§5.3.2, §5.4.1–§5.4.2, §5.5.1–§5.5.2. */
export const BASE_COMMANDS: readonly CommandDefinition[] = [
  {
    code: 257,
    name: 'Capabilities-Exchange',
    requestAbbrev: 'CER',
    answerAbbrev: 'CEA',
    applicationId: 0,
    proxiable: false,
    clause: 'RFC 6733 §5.3',
    request: rules(
      '{Origin-Host}',
      '{Origin-Realm}',
      '*{Host-IP-Address}',
      '{Vendor-Id}',
      '{Product-Name}',
      '[Origin-State-Id]',
      '*[Supported-Vendor-Id]',
      '*[Auth-Application-Id]',
      '*[Inband-Security-Id]',
      '*[Acct-Application-Id]',
      '*[Vendor-Specific-Application-Id]',
      '[Firmware-Revision]',
    ),
    answer: rules(
      '{Result-Code}',
      '{Origin-Host}',
      '{Origin-Realm}',
      '*{Host-IP-Address}',
      '{Vendor-Id}',
      '{Product-Name}',
      '[Origin-State-Id]',
      '[Error-Message]',
      '[Failed-AVP]',
      '*[Supported-Vendor-Id]',
      '*[Auth-Application-Id]',
      '*[Inband-Security-Id]',
      '*[Acct-Application-Id]',
      '*[Vendor-Specific-Application-Id]',
      '[Firmware-Revision]',
    ),
  },
  {
    code: 280,
    name: 'Device-Watchdog',
    requestAbbrev: 'DWR',
    answerAbbrev: 'DWA',
    applicationId: 0,
    proxiable: false,
    clause: 'RFC 6733 §5.5',
    request: rules('{Origin-Host}', '{Origin-Realm}', '[Origin-State-Id]'),
    answer: rules('{Result-Code}', '{Origin-Host}', '{Origin-Realm}', '[Error-Message]', '[Failed-AVP]', '[Origin-State-Id]'),
  },
  {
    code: 282,
    name: 'Disconnect-Peer',
    requestAbbrev: 'DPR',
    answerAbbrev: 'DPA',
    applicationId: 0,
    proxiable: false,
    clause: 'RFC 6733 §5.4',
    request: rules('{Origin-Host}', '{Origin-Realm}', '{Disconnect-Cause}'),
    answer: rules('{Result-Code}', '{Origin-Host}', '{Origin-Realm}', '[Error-Message]', '[Failed-AVP]'),
  },
];

/** Codes of base AVPs that code reads by number (RFC 6733 §4.5, RFC 4740 §9.5, RFC 7155). */
export const BaseAvpCode = {
  UserName: 1,
  FramedIpAddress: 8,
  DigestRealm: 104,
  DigestQop: 110,
  DigestAlgorithm: 111,
  DigestHa1: 121,
  HostIpAddress: 257,
  AuthApplicationId: 258,
  AcctApplicationId: 259,
  VendorSpecificApplicationId: 260,
  SessionId: 263,
  OriginHost: 264,
  SupportedVendorId: 265,
  VendorId: 266,
  FirmwareRevision: 267,
  ResultCode: 268,
  ProductName: 269,
  DisconnectCause: 273,
  AuthSessionState: 277,
  OriginStateId: 278,
  FailedAvp: 279,
  ErrorMessage: 281,
  RouteRecord: 282,
  DestinationRealm: 283,
  ProxyInfo: 284,
  DestinationHost: 293,
  OriginRealm: 296,
  ExperimentalResult: 297,
  ExperimentalResultCode: 298,
} as const;
