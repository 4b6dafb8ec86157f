import { CX_APPLICATION_ID, VENDOR_ID_3GPP } from '../dictionary/cx.js';

export { CX_APPLICATION_ID, VENDOR_ID_3GPP };

/** Cx command codes (TS 29.229 §6.1, Table 6.1.1). */
export const CxCommandCode = {
  UserAuthorization: 300,
  ServerAssignment: 301,
  LocationInfo: 302,
  MultimediaAuth: 303,
  RegistrationTermination: 304,
  PushProfile: 305,
} as const;

/**
 * Experimental-Result-Code values of TS 29.229 §6.2 (numbers from TS 29.230 §8.1). They travel in
 * Experimental-Result with Vendor-Id 10415 — 5001 here is USER_UNKNOWN, while base Result-Code 5001 is
 * DIAMETER_AVP_UNSUPPORTED: always look at which AVP carries the number.
 */
export const ExperimentalResultCode = {
  DIAMETER_FIRST_REGISTRATION: 2001,
  DIAMETER_SUBSEQUENT_REGISTRATION: 2002,
  DIAMETER_UNREGISTERED_SERVICE: 2003,
  DIAMETER_SUCCESS_SERVER_NAME_NOT_STORED: 2004,
  /** Deprecated since TS 29.229 V7.2.0. */
  DIAMETER_SERVER_SELECTION: 2005,
  DIAMETER_ERROR_USER_UNKNOWN: 5001,
  DIAMETER_ERROR_IDENTITIES_DONT_MATCH: 5002,
  DIAMETER_ERROR_IDENTITY_NOT_REGISTERED: 5003,
  DIAMETER_ERROR_ROAMING_NOT_ALLOWED: 5004,
  DIAMETER_ERROR_IDENTITY_ALREADY_REGISTERED: 5005,
  DIAMETER_ERROR_AUTH_SCHEME_NOT_SUPPORTED: 5006,
  DIAMETER_ERROR_IN_ASSIGNMENT_TYPE: 5007,
  DIAMETER_ERROR_TOO_MUCH_DATA: 5008,
  DIAMETER_ERROR_NOT_SUPPORTED_USER_DATA: 5009,
  DIAMETER_ERROR_FEATURE_UNSUPPORTED: 5011,
  DIAMETER_ERROR_SERVING_NODE_FEATURE_UNSUPPORTED: 5012,
} as const;

/** TS 29.229 §6.3.15. */
export const ServerAssignmentType = {
  NO_ASSIGNMENT: 0,
  REGISTRATION: 1,
  RE_REGISTRATION: 2,
  UNREGISTERED_USER: 3,
  TIMEOUT_DEREGISTRATION: 4,
  USER_DEREGISTRATION: 5,
  TIMEOUT_DEREGISTRATION_STORE_SERVER_NAME: 6,
  USER_DEREGISTRATION_STORE_SERVER_NAME: 7,
  ADMINISTRATIVE_DEREGISTRATION: 8,
  AUTHENTICATION_FAILURE: 9,
  AUTHENTICATION_TIMEOUT: 10,
  DEREGISTRATION_TOO_MUCH_DATA: 11,
  AAA_USER_DATA_REQUEST: 12,
  PGW_UPDATE: 13,
  RESTORATION: 14,
} as const;

/** TS 29.229 §6.3.24. */
export const UserAuthorizationType = {
  REGISTRATION: 0,
  DE_REGISTRATION: 1,
  REGISTRATION_AND_CAPABILITIES: 2,
} as const;

/** TS 29.229 §6.3.26. */
export const UserDataAlreadyAvailable = {
  USER_DATA_NOT_AVAILABLE: 0,
  USER_DATA_ALREADY_AVAILABLE: 1,
} as const;

/** TS 29.229 §6.3.17. */
export const ReasonCode = {
  PERMANENT_TERMINATION: 0,
  NEW_SERVER_ASSIGNED: 1,
  SERVER_CHANGE: 2,
  REMOVE_S_CSCF: 3,
} as const;

/** TS 29.229 §6.3.9 SIP-Authentication-Scheme values used by IMS (TS 33.203 §6.1, TS 29.228 Table 6.3.2). */
export const SipAuthenticationScheme = {
  AKAv1_MD5: 'Digest-AKAv1-MD5',
  AKAv2_MD5: 'Digest-AKAv2-MD5',
  SIP_DIGEST: 'SIP Digest',
  NASS_BUNDLED: 'NASS-Bundled',
  EARLY_IMS: 'Early-IMS-Security',
  /** In a MAR: let the HSS choose the scheme from the subscription (TS 29.228 §6.3.2). */
  UNKNOWN: 'Unknown',
} as const;

/** Codes of the Cx AVPs (TS 29.229 Table 6.3.1), all with Vendor-Id 10415. */
export const CxAvpCode = {
  VisitedNetworkIdentifier: 600,
  PublicIdentity: 601,
  ServerName: 602,
  ServerCapabilities: 603,
  MandatoryCapability: 604,
  OptionalCapability: 605,
  UserData: 606,
  SipNumberAuthItems: 607,
  SipAuthenticationScheme: 608,
  SipAuthenticate: 609,
  SipAuthorization: 610,
  SipAuthenticationContext: 611,
  SipAuthDataItem: 612,
  SipItemNumber: 613,
  ServerAssignmentType: 614,
  DeregistrationReason: 615,
  ReasonCode: 616,
  ReasonInfo: 617,
  ChargingInformation: 618,
  PrimaryEventChargingFunctionName: 619,
  SecondaryEventChargingFunctionName: 620,
  PrimaryChargingCollectionFunctionName: 621,
  SecondaryChargingCollectionFunctionName: 622,
  UserAuthorizationType: 623,
  UserDataAlreadyAvailable: 624,
  ConfidentialityKey: 625,
  IntegrityKey: 626,
  SupportedFeatures: 628,
  FeatureListId: 629,
  FeatureList: 630,
  AssociatedIdentities: 632,
  OriginatingRequest: 633,
  WildcardedPublicIdentity: 634,
  SipDigestAuthenticate: 635,
  UarFlags: 637,
  LooseRouteIndication: 638,
  MultipleRegistrationIndication: 648,
  SessionPriority: 650,
  PriviledgedSenderIndication: 652,
  LiaFlags: 653,
  SarFlags: 655,
  RtrFlags: 659,
} as const;
