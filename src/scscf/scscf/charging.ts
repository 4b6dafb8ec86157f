import { formatPChargingVector, parsePChargingVector, type ChargingVector } from '../../sip/headers/p-headers.js';
import type { SipMessage } from '../../sip/message.js';
import type { Random } from '../../util/random.js';

/**
 * The P-Charging-Vector of a message (RFC 7315 §5.6), or undefined when it has none or it cannot be read.
 * An unreadable vector is replaced rather than refused: charging correlation is not a reason to fail a call.
 */
export function chargingVectorOf(message: SipMessage): ChargingVector | undefined {
  const v = message.headers.get('P-Charging-Vector');
  if (v === undefined) return undefined;
  try {
    return parsePChargingVector(v);
  } catch {
    return undefined;
  }
}

/**
 * The originating S-CSCF keeps the vector the P-CSCF created and marks the home network as originating
 * (TS 24.229 §5.4.3.2: orig-ioi identifying the originating network). Without a vector (a request that did
 * not pass a P-CSCF of ours) it creates one, icid from the node's random source (TS 24.229 §7.2A.5.1).
 */
export function addOrigIoi(message: SipMessage, domain: string, random: Random, generatedAt: string): void {
  const v: ChargingVector = chargingVectorOf(message) ?? { icidValue: random.token(32), icidGeneratedAt: generatedAt, params: new Map() };
  v.origIoi = domain;
  message.headers.set('P-Charging-Vector', formatPChargingVector(v));
}

/**
 * The terminating S-CSCF answers with the network's term-ioi beside the icid and orig-ioi of the request
 * (TS 24.229 §5.4.3.3, responses to the initial request; the checklist of TS 24.228 §7 "term-ioi").
 */
export function addTermIoi(response: SipMessage, request: ChargingVector | undefined, domain: string): void {
  const v = chargingVectorOf(response) ?? (request ? { ...request, params: new Map(request.params) } : undefined);
  if (!v) return;
  v.termIoi = domain;
  response.headers.set('P-Charging-Vector', formatPChargingVector(v));
}
