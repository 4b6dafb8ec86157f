import type { ChargingInformation } from '../diameter/cx/common.js';
import { ExperimentalResultCode } from '../diameter/cx/constants.js';
import type { TraceBus } from '../trace/events.js';
import type { Random } from '../util/random.js';
import type { SubscriberStore } from './store.js';
import { realmOf, type Subscriber } from './subscriber.js';

/** Settings of one HSS (what a topology gives it, plus lab defaults). */
export interface HssOptions {
  /** Node name in traces, e.g. "hss". */
  name: string;
  /** Diameter identity (RFC 6733 §4.3.1 DiameterIdentity), e.g. "hss.ims.lab". */
  originHost: string;
  originRealm: string;
  /**
   * Network identifiers treated as home for the roaming check of a UAR (TS 29.228 §6.1.1.1), beside the
   * realm of the subscriber's IMPI and `originRealm`.
   */
  homeNetworks?: string[];
  /** Charging-Information sent in an SAA (TS 29.228 §6.1.2); default: a lab CCF in the HSS realm. */
  chargingInformation?: ChargingInformation;
  /** Upper bound on vectors per MAA whatever SIP-Number-Auth-Items asks (TS 29.228 §6.3.1); default 5. */
  maxVectors?: number;
  /** Realm for SIP Digest H(A1) (TS 33.203 Annex N); default: the realm of the IMPI. */
  digestRealm?: string;
  /** Where the HSS's plain-words diagnostics go besides the trace, one line each (e.g. stderr). */
  log?: (line: string) => void;
}

/** What every Cx procedure works with. */
export interface HssContext {
  readonly store: SubscriberStore;
  readonly random: Random;
  readonly options: HssOptions;
  /** Explains a decision on the trace (and in the log), with the clause it comes from. */
  note(level: 'debug' | 'info' | 'warn' | 'error', text: string, clause?: string, data?: Record<string, unknown>): void;
  /** MARs per IMPI since its last SAR: a count above one means the UE did not pass the challenge. */
  readonly pendingChallenges: Map<string, number>;
}

export function createContext(store: SubscriberStore, random: Random, trace: TraceBus | undefined, options: HssOptions): HssContext {
  return {
    store,
    random,
    options,
    pendingChallenges: new Map(),
    note(level, text, clause, data) {
      trace?.note({ node: options.name, level, text, ...(clause ? { clause } : {}), ...(data ? { data } : {}) });
      options.log?.(`${options.name} ${level}: ${text}${clause ? ` (${clause})` : ''}`);
    },
  };
}

/** The short name people call a subscriber by in notes: the user part of the IMPI. */
export function who(s: Subscriber | string): string {
  const impi = typeof s === 'string' ? s : s.impi;
  const at = impi.indexOf('@');
  return at > 0 ? impi.slice(0, at) : impi;
}

/**
 * The network a Visited-Network-Identifier names. P-Visited-Network-ID is a token or a quoted-string (RFC 3455
 * §4.3) and I-CSCFs such as Kamailio's ims_icscf copy it into the AVP (TS 29.229 §6.3.1) with its quotes:
 * `"ims.example.net"` and `ims.example.net` are the same network.
 */
function visitedNetworkName(visitedNetwork: string): string {
  const t = visitedNetwork.trim();
  const unquoted = t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1).replace(/\\(.)/g, '$1') : t;
  return unquoted.toLowerCase();
}

/** Whether a visited network may serve this subscriber (TS 29.228 §6.1.1.1; the model's rule in subscriber.ts). */
export function roamingAllowed(ctx: HssContext, s: Subscriber, visitedNetwork: string): boolean {
  const v = visitedNetworkName(visitedNetwork);
  if (v === realmOf(s.impi) || v === ctx.options.originRealm.toLowerCase()) return true;
  if ((ctx.options.homeNetworks ?? []).some((h) => h.toLowerCase() === v)) return true;
  return s.allowedVisitedNetworks.some((n) => n === '*' || n.toLowerCase() === v);
}

export function chargingInformation(ctx: HssContext): ChargingInformation {
  return ctx.options.chargingInformation ?? { primaryChargingCollectionFunctionName: `aaa://ccf.${ctx.options.originRealm}:3868;transport=tcp` };
}

/**
 * Whether the subscription has services for the unregistered state: an initial filter criterion whose
 * ProfilePartIndicator is absent (applies in both states) or UNREGISTERED (1) (TS 29.228 Annex B.2.2, E).
 */
export function hasUnregisteredServices(userData: string | undefined): boolean {
  if (!userData) return false;
  let from = 0;
  for (;;) {
    const start = userData.indexOf('<InitialFilterCriteria>', from);
    if (start < 0) return false;
    const end = userData.indexOf('</InitialFilterCriteria>', start);
    if (end < 0) return false;
    const ifc = userData.slice(start, end);
    const ppi = /<ProfilePartIndicator>\s*(\d+)\s*<\/ProfilePartIndicator>/.exec(ifc);
    if (!ppi || ppi[1] === '1') return true;
    from = end;
  }
}

/** The TS 29.229 §6.2 name of an Experimental-Result-Code, for notes. */
export function experimentalName(code: number): string {
  for (const [k, v] of Object.entries(ExperimentalResultCode)) if (v === code) return k;
  return String(code);
}
