import { rules, type AvpDefinition, type AvpFlagName, type AvpType, type CommandDefinition } from './types.js';

/**
 * The Cx/Dx application (3GPP TS 29.228 procedures, TS 29.229 protocol): AVPs of TS 29.229 Table 6.3.1,
 * the six commands of §6.1 with their CCFs, and the Experimental-Result-Code values of §6.2.
 */
export const CX_APPLICATION_ID = 16777216;
export const VENDOR_ID_3GPP = 10415;

const VM: AvpFlagName[] = ['V', 'M'];
const V: AvpFlagName[] = ['V'];
const NONE: AvpFlagName[] = [];
const NOT_M: AvpFlagName[] = ['M'];

function cx(
  name: string,
  code: number,
  type: AvpType,
  must: AvpFlagName[],
  mustNot: AvpFlagName[],
  clause: string,
  values?: Record<number, string>,
): AvpDefinition {
  return { name, code, vendorId: VENDOR_ID_3GPP, type, must, mustNot, clause, ...(values ? { values } : {}) };
}

/**
 * TS 29.229 Table 6.3.1: AVPs 600–626 and 633 carry V and M; 628–659 carry V and not M, except
 * Supported-Features (628), which may carry M (TS 29.229 §6.3.29, TS 29.329 §6.3.11).
 * AVP 627 (User-Data-Request-Type) was removed in TS 29.229 V6.5.0.
 */
export const CX_AVPS: readonly AvpDefinition[] = [
  cx('Visited-Network-Identifier', 600, 'OctetString', VM, NONE, 'TS 29.229 §6.3.1'),
  cx('Public-Identity', 601, 'UTF8String', VM, NONE, 'TS 29.229 §6.3.2'),
  cx('Server-Name', 602, 'UTF8String', VM, NONE, 'TS 29.229 §6.3.3'),
  cx('Server-Capabilities', 603, 'Grouped', VM, NONE, 'TS 29.229 §6.3.4'),
  cx('Mandatory-Capability', 604, 'Unsigned32', VM, NONE, 'TS 29.229 §6.3.5'),
  cx('Optional-Capability', 605, 'Unsigned32', VM, NONE, 'TS 29.229 §6.3.6'),
  cx('User-Data', 606, 'OctetString', VM, NONE, 'TS 29.229 §6.3.7'),
  cx('SIP-Number-Auth-Items', 607, 'Unsigned32', VM, NONE, 'TS 29.229 §6.3.8'),
  cx('SIP-Authentication-Scheme', 608, 'UTF8String', VM, NONE, 'TS 29.229 §6.3.9'),
  cx('SIP-Authenticate', 609, 'OctetString', VM, NONE, 'TS 29.229 §6.3.10'),
  cx('SIP-Authorization', 610, 'OctetString', VM, NONE, 'TS 29.229 §6.3.11'),
  cx('SIP-Authentication-Context', 611, 'OctetString', VM, NONE, 'TS 29.229 §6.3.12'),
  cx('SIP-Auth-Data-Item', 612, 'Grouped', VM, NONE, 'TS 29.229 §6.3.13'),
  cx('SIP-Item-Number', 613, 'Unsigned32', VM, NONE, 'TS 29.229 §6.3.14'),
  cx('Server-Assignment-Type', 614, 'Enumerated', VM, NONE, 'TS 29.229 §6.3.15', { 0: 'NO_ASSIGNMENT', 1: 'REGISTRATION', 2: 'RE_REGISTRATION', 3: 'UNREGISTERED_USER', 4: 'TIMEOUT_DEREGISTRATION', 5: 'USER_DEREGISTRATION', 6: 'TIMEOUT_DEREGISTRATION_STORE_SERVER_NAME', 7: 'USER_DEREGISTRATION_STORE_SERVER_NAME', 8: 'ADMINISTRATIVE_DEREGISTRATION', 9: 'AUTHENTICATION_FAILURE', 10: 'AUTHENTICATION_TIMEOUT', 11: 'DEREGISTRATION_TOO_MUCH_DATA', 12: 'AAA_USER_DATA_REQUEST', 13: 'PGW_UPDATE', 14: 'RESTORATION' }),
  cx('Deregistration-Reason', 615, 'Grouped', VM, NONE, 'TS 29.229 §6.3.16'),
  cx('Reason-Code', 616, 'Enumerated', VM, NONE, 'TS 29.229 §6.3.17', { 0: 'PERMANENT_TERMINATION', 1: 'NEW_SERVER_ASSIGNED', 2: 'SERVER_CHANGE', 3: 'REMOVE_S-CSCF' }),
  cx('Reason-Info', 617, 'UTF8String', VM, NONE, 'TS 29.229 §6.3.18'),
  cx('Charging-Information', 618, 'Grouped', VM, NONE, 'TS 29.229 §6.3.19'),
  cx('Primary-Event-Charging-Function-Name', 619, 'DiameterURI', VM, NONE, 'TS 29.229 §6.3.20'),
  cx('Secondary-Event-Charging-Function-Name', 620, 'DiameterURI', VM, NONE, 'TS 29.229 §6.3.21'),
  cx('Primary-Charging-Collection-Function-Name', 621, 'DiameterURI', VM, NONE, 'TS 29.229 §6.3.22'),
  cx('Secondary-Charging-Collection-Function-Name', 622, 'DiameterURI', VM, NONE, 'TS 29.229 §6.3.23'),
  cx('User-Authorization-Type', 623, 'Enumerated', VM, NONE, 'TS 29.229 §6.3.24', { 0: 'REGISTRATION', 1: 'DE_REGISTRATION', 2: 'REGISTRATION_AND_CAPABILITIES' }),
  cx('User-Data-Already-Available', 624, 'Enumerated', VM, NONE, 'TS 29.229 §6.3.26', { 0: 'USER_DATA_NOT_AVAILABLE', 1: 'USER_DATA_ALREADY_AVAILABLE' }),
  cx('Confidentiality-Key', 625, 'OctetString', VM, NONE, 'TS 29.229 §6.3.27'),
  cx('Integrity-Key', 626, 'OctetString', VM, NONE, 'TS 29.229 §6.3.28'),
  cx('Supported-Features', 628, 'Grouped', V, NONE, 'TS 29.229 §6.3.29'),
  cx('Feature-List-ID', 629, 'Unsigned32', V, NOT_M, 'TS 29.229 §6.3.30'),
  cx('Feature-List', 630, 'Unsigned32', V, NOT_M, 'TS 29.229 §6.3.31'),
  cx('Supported-Applications', 631, 'Grouped', V, NOT_M, 'TS 29.229 §6.3.32'),
  cx('Associated-Identities', 632, 'Grouped', V, NOT_M, 'TS 29.229 §6.3.33'),
  cx('Originating-Request', 633, 'Enumerated', VM, NONE, 'TS 29.229 §6.3.34', { 0: 'ORIGINATING' }),
  cx('Wildcarded-Public-Identity', 634, 'UTF8String', V, NOT_M, 'TS 29.229 §6.3.35'),
  cx('SIP-Digest-Authenticate', 635, 'Grouped', V, NOT_M, 'TS 29.229 §6.3.36'),
  cx('Wildcarded-IMPU', 636, 'UTF8String', V, NOT_M, 'TS 29.229 §6.3.43'),
  cx('UAR-Flags', 637, 'Unsigned32', V, NOT_M, 'TS 29.229 §6.3.44', { 1: 'IMS_EMERGENCY_REGISTRATION' }),
  cx('Loose-Route-Indication', 638, 'Enumerated', V, NOT_M, 'TS 29.229 §6.3.45', { 0: 'LOOSE_ROUTE_NOT_REQUIRED', 1: 'LOOSE_ROUTE_REQUIRED' }),
  cx('SCSCF-Restoration-Info', 639, 'Grouped', V, NOT_M, 'TS 29.229 §6.3.46'),
  cx('Path', 640, 'OctetString', V, NOT_M, 'TS 29.229 §6.3.47'),
  cx('Contact', 641, 'OctetString', V, NOT_M, 'TS 29.229 §6.3.48'),
  cx('Subscription-Info', 642, 'Grouped', V, NOT_M, 'TS 29.229 §6.3.49'),
  cx('Call-ID-SIP-Header', 643, 'OctetString', V, NOT_M, '6.3.49.1'),
  cx('From-SIP-Header', 644, 'OctetString', V, NOT_M, '6.3.49.2'),
  cx('To-SIP-Header', 645, 'OctetString', V, NOT_M, '6.3.49.3'),
  cx('Record-Route', 646, 'OctetString', V, NOT_M, '6.3.49.4'),
  cx('Associated-Registered-Identities', 647, 'Grouped', V, NOT_M, 'TS 29.229 §6.3.50'),
  cx('Multiple-Registration-Indication', 648, 'Enumerated', V, NOT_M, 'TS 29.229 §6.3.51', { 0: 'NOT_MULTIPLE_REGISTRATION', 1: 'MULTIPLE_REGISTRATION' }),
  cx('Restoration-Info', 649, 'Grouped', V, NOT_M, 'TS 29.229 §6.3.52'),
  cx('Session-Priority', 650, 'Enumerated', V, NOT_M, 'TS 29.229 §6.3.56', { 0: 'PRIORITY-0', 1: 'PRIORITY-1', 2: 'PRIORITY-2', 3: 'PRIORITY-3', 4: 'PRIORITY-4' }),
  cx('Identity-with-Emergency-Registration', 651, 'Grouped', V, NOT_M, 'TS 29.229 §6.3.57'),
  cx('Priviledged-Sender-Indication', 652, 'Enumerated', V, NOT_M, 'TS 29.229 §6.3.58', { 0: 'NOT_PRIVILEDGED_SENDER', 1: 'PRIVILEDGED_SENDER' }),
  cx('LIA-Flags', 653, 'Unsigned32', V, NOT_M, 'TS 29.229 §6.3.59'),
  cx('Initial-CSeq-Sequence-Number', 654, 'Unsigned32', V, NOT_M, 'TS 29.229 §6.3.62'),
  cx('SAR-Flags', 655, 'Unsigned32', V, NOT_M, 'TS 29.229 §6.3.63'),
  cx('Allowed-WAF-WWSF-Identities', 656, 'Grouped', V, NOT_M, 'TS 29.229 §6.3.64'),
  cx('WebRTC-Authentication-Function-Name', 657, 'UTF8String', V, NOT_M, 'TS 29.229 §6.3.65'),
  cx('WebRTC-Web-Server-Function-Name', 658, 'UTF8String', V, NOT_M, 'TS 29.229 §6.3.66'),
  cx('RTR-Flags', 659, 'Unsigned32', V, NOT_M, 'TS 29.229 §6.3.69'),
];

/** The header every Cx request and answer carries (TS 29.229 §6.1: <Session-Id> first, stateless application). */
const REQUEST_HEAD = ['< Session-Id >', '{ Vendor-Specific-Application-Id }', '{ Auth-Session-State }', '{ Origin-Host }', '{ Origin-Realm }'];
const ANSWER_HEAD = [
  '< Session-Id >',
  '{ Vendor-Specific-Application-Id }',
  '[ Result-Code ]',
  '[ Experimental-Result ]',
  '{ Auth-Session-State }',
  '{ Origin-Host }',
  '{ Origin-Realm }',
];
const ANSWER_TAIL = ['*[ Supported-Features ]', '*[ Failed-AVP ]', '*[ Proxy-Info ]', '*[ Route-Record ]'];
const REQUEST_TAIL = ['*[ Proxy-Info ]', '*[ Route-Record ]'];

function cxCommand(
  code: number,
  name: string,
  requestAbbrev: string,
  answerAbbrev: string,
  clause: string,
  request: string[],
  answer: string[],
): CommandDefinition {
  return {
    code,
    name,
    requestAbbrev,
    answerAbbrev,
    applicationId: CX_APPLICATION_ID,
    proxiable: true,
    clause,
    request: rules(...REQUEST_HEAD, ...request, ...REQUEST_TAIL),
    answer: rules(...ANSWER_HEAD, ...answer, ...ANSWER_TAIL),
  };
}

/** TS 29.229 §6.1.1–§6.1.12: command codes 300–305, R and P set on requests, P on answers. */
export const CX_COMMANDS: readonly CommandDefinition[] = [
  cxCommand(
    300,
    'User-Authorization',
    'UAR',
    'UAA',
    'TS 29.229 §6.1.1, §6.1.2',
    [
      '[ Destination-Host ]',
      '{ Destination-Realm }',
      '{ User-Name }',
      '*[ Supported-Features ]',
      '{ Public-Identity }',
      '{ Visited-Network-Identifier }',
      '[ User-Authorization-Type ]',
      '[ UAR-Flags ]',
    ],
    ['[ Server-Name ]', '[ Server-Capabilities ]'],
  ),
  cxCommand(
    301,
    'Server-Assignment',
    'SAR',
    'SAA',
    'TS 29.229 §6.1.3, §6.1.4',
    [
      '[ Destination-Host ]',
      '{ Destination-Realm }',
      '[ User-Name ]',
      '*[ Supported-Features ]',
      '*[ Public-Identity ]',
      '[ Wildcarded-Public-Identity ]',
      '{ Server-Name }',
      '{ Server-Assignment-Type }',
      '{ User-Data-Already-Available }',
      '*[ SCSCF-Restoration-Info ]',
      '[ Multiple-Registration-Indication ]',
      '[ Session-Priority ]',
      '[ SAR-Flags ]',
    ],
    [
      '[ User-Name ]',
      '[ User-Data ]',
      '[ Charging-Information ]',
      '[ Associated-Identities ]',
      '[ Loose-Route-Indication ]',
      '*[ SCSCF-Restoration-Info ]',
      '[ Associated-Registered-Identities ]',
      '[ Server-Name ]',
      '[ Wildcarded-Public-Identity ]',
      '[ Priviledged-Sender-Indication ]',
    ],
  ),
  cxCommand(
    302,
    'Location-Info',
    'LIR',
    'LIA',
    'TS 29.229 §6.1.5, §6.1.6',
    [
      '[ Destination-Host ]',
      '{ Destination-Realm }',
      '[ Originating-Request ]',
      '*[ Supported-Features ]',
      '{ Public-Identity }',
      '[ User-Authorization-Type ]',
      '[ Session-Priority ]',
    ],
    ['[ Server-Name ]', '[ Server-Capabilities ]', '[ Wildcarded-Public-Identity ]', '[ LIA-Flags ]'],
  ),
  cxCommand(
    303,
    'Multimedia-Auth',
    'MAR',
    'MAA',
    'TS 29.229 §6.1.7, §6.1.8',
    [
      '{ Destination-Realm }',
      '[ Destination-Host ]',
      '{ User-Name }',
      '*[ Supported-Features ]',
      '{ Public-Identity }',
      '{ SIP-Auth-Data-Item }',
      '{ SIP-Number-Auth-Items }',
      '{ Server-Name }',
    ],
    ['[ User-Name ]', '[ Public-Identity ]', '[ SIP-Number-Auth-Items ]', '*[ SIP-Auth-Data-Item ]'],
  ),
  cxCommand(
    304,
    'Registration-Termination',
    'RTR',
    'RTA',
    'TS 29.229 §6.1.9, §6.1.10',
    [
      '{ Destination-Host }',
      '{ Destination-Realm }',
      '{ User-Name }',
      '[ Associated-Identities ]',
      '*[ Supported-Features ]',
      '*[ Public-Identity ]',
      '{ Deregistration-Reason }',
      '[ RTR-Flags ]',
    ],
    ['[ Associated-Identities ]', '*[ Identity-with-Emergency-Registration ]'],
  ),
  cxCommand(
    305,
    'Push-Profile',
    'PPR',
    'PPA',
    'TS 29.229 §6.1.11, §6.1.12',
    [
      '{ Destination-Host }',
      '{ Destination-Realm }',
      '{ User-Name }',
      '*[ Supported-Features ]',
      '[ User-Data ]',
      '[ Charging-Information ]',
      '[ SIP-Auth-Data-Item ]',
      '[ Allowed-WAF-WWSF-Identities ]',
    ],
    [],
  ),
];

/** TS 29.229 §6.2 (values from TS 29.230 §8.1), carried in Experimental-Result, never in Result-Code. */
export const CX_EXPERIMENTAL_RESULT_CODES: Readonly<Record<number, string>> = {
  2001: 'DIAMETER_FIRST_REGISTRATION',
  2002: 'DIAMETER_SUBSEQUENT_REGISTRATION',
  2003: 'DIAMETER_UNREGISTERED_SERVICE',
  2004: 'DIAMETER_SUCCESS_SERVER_NAME_NOT_STORED',
  2005: 'DIAMETER_SERVER_SELECTION',
  5001: 'DIAMETER_ERROR_USER_UNKNOWN',
  5002: 'DIAMETER_ERROR_IDENTITIES_DONT_MATCH',
  5003: 'DIAMETER_ERROR_IDENTITY_NOT_REGISTERED',
  5004: 'DIAMETER_ERROR_ROAMING_NOT_ALLOWED',
  5005: 'DIAMETER_ERROR_IDENTITY_ALREADY_REGISTERED',
  5006: 'DIAMETER_ERROR_AUTH_SCHEME_NOT_SUPPORTED',
  5007: 'DIAMETER_ERROR_IN_ASSIGNMENT_TYPE',
  5008: 'DIAMETER_ERROR_TOO_MUCH_DATA',
  5009: 'DIAMETER_ERROR_NOT_SUPPORTED_USER_DATA',
  5011: 'DIAMETER_ERROR_FEATURE_UNSUPPORTED',
  5012: 'DIAMETER_ERROR_SERVING_NODE_FEATURE_UNSUPPORTED',
};
