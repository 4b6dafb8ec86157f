import { Avp, avp, missingAvpStub } from './avp.js';
import { BaseAvpCode } from './dictionary/base.js';
import type { AvpDefinition, CommandDefinition, Dictionary } from './dictionary/index.js';
import { CommandFlags, DiameterMessage } from './message.js';
import { ResultCode, isProtocolError } from './result-codes.js';

/**
 * Checks a decoded request against its command's CCF before an application sees it, and builds the
 * answers for the errors found (RFC 6733 §7). Pure: no I/O.
 */

export interface RequestProblem {
  resultCode: number;
  failedAvp?: Avp;
  message: string;
}

/**
 * RFC 6733 §4.1: an AVP with the M bit that the receiver does not recognise MUST make it reject the
 * message with DIAMETER_AVP_UNSUPPORTED (§7.1.5), Failed-AVP carrying the AVP. §3.2 / §7.1.5: a required
 * AVP that is absent is DIAMETER_MISSING_AVP, with Failed-AVP carrying a zero-filled example of it (§7.5).
 */
export function checkRequest(m: DiameterMessage, command: CommandDefinition, dict: Dictionary): RequestProblem | undefined {
  const unknown = findUnsupportedMandatory(m.avps, dict);
  if (unknown) {
    return {
      resultCode: ResultCode.DIAMETER_AVP_UNSUPPORTED,
      failedAvp: unknown,
      message: `AVP ${unknown.code}${unknown.vendorId ? `/${unknown.vendorId}` : ''} with the M bit is not supported`,
    };
  }
  for (const def of requiredAvps(command, dict)) {
    if (!m.has(def.code, def.vendorId)) {
      return {
        resultCode: ResultCode.DIAMETER_MISSING_AVP,
        failedAvp: missingAvpStub(def.code, def.vendorId, dict),
        message: `${command.requestAbbrev} lacks the required ${def.name}`,
      };
    }
  }
  return undefined;
}

/** Required AVPs of a command's request, resolved once per command (this runs for every request). */
const requiredCache = new WeakMap<CommandDefinition, AvpDefinition[]>();
function requiredAvps(command: CommandDefinition, dict: Dictionary): AvpDefinition[] {
  let list = requiredCache.get(command);
  if (!list) {
    list = command.request.filter((r) => r.required).map((r) => dict.requireAvp(r.name));
    requiredCache.set(command, list);
  }
  return list;
}

function findUnsupportedMandatory(avps: Avp[], dict: Dictionary): Avp | undefined {
  for (const a of avps) {
    if (!(a.flags & 0x40)) continue;
    const def = dict.avp(a.code, a.vendorId);
    if (!def) return a;
    if (a.children) {
      const inner = findUnsupportedMandatory(a.children, dict);
      if (inner) return inner;
    }
  }
  return undefined;
}

export interface AnswerIdentity {
  originHost: string;
  originRealm: string;
}

/**
 * An answer reporting `resultCode` (RFC 6733 §7.2). Protocol errors (3xxx) use the generic error answer
 * with the E bit; others keep the command's own answer shape, so for a vendor application the
 * Vendor-Specific-Application-Id and Auth-Session-State of the request are echoed.
 */
export function errorAnswer(
  req: DiameterMessage,
  resultCode: number,
  id: AnswerIdentity,
  failedAvp?: Avp,
  errorMessage?: string,
): DiameterMessage {
  const avps: Avp[] = [];
  const e = isProtocolError(resultCode);
  if (!e) {
    const vsai = req.get(BaseAvpCode.VendorSpecificApplicationId);
    if (vsai) avps.push(vsai);
  }
  avps.push(avp('Result-Code', resultCode));
  if (!e) {
    const ass = req.get(BaseAvpCode.AuthSessionState);
    if (ass) avps.push(ass);
  }
  avps.push(avp('Origin-Host', id.originHost), avp('Origin-Realm', id.originRealm));
  if (errorMessage) avps.push(avp('Error-Message', errorMessage));
  if (failedAvp) avps.push(avp('Failed-AVP', [failedAvp]));
  const ans = DiameterMessage.answerTo(req, avps);
  if (e) ans.flags |= CommandFlags.Error;
  return ans;
}

/**
 * Session-Id of a request whose AVPs could not all be decoded: §8.8 puts it first, so it is usually
 * readable even when a later AVP is broken. Returns undefined if the first AVP is not a sane Session-Id.
 */
export function salvageSessionId(buf: Buffer): Avp | undefined {
  if (buf.length < 28) return undefined;
  if (buf.readUInt32BE(20) !== BaseAvpCode.SessionId) return undefined;
  const flags = buf[24]!;
  if (flags & 0x80) return undefined;
  const len = (buf[25]! << 16) | (buf[26]! << 8) | buf[27]!;
  if (len < 8 || 20 + len > buf.length) return undefined;
  return new Avp(BaseAvpCode.SessionId, flags, 0, Buffer.from(buf.subarray(28, 20 + len)));
}
