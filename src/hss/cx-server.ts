import { avp, DiameterValueError } from '../diameter/avp.js';
import { DiameterDecodeError } from '../diameter/codec.js';
import { answerHead, type DeregistrationReason } from '../diameter/cx/common.js';
import { CX_APPLICATION_ID, CxCommandCode, ReasonCode } from '../diameter/cx/constants.js';
import { LocationInfoAnswer, LocationInfoRequest } from '../diameter/cx/location-info.js';
import { MultimediaAuthAnswer, MultimediaAuthRequest } from '../diameter/cx/multimedia-auth.js';
import { PushProfileAnswer, PushProfileRequest } from '../diameter/cx/push-profile.js';
import {
  RegistrationTerminationAnswer,
  RegistrationTerminationRequest,
} from '../diameter/cx/registration-termination.js';
import { ServerAssignmentAnswer, ServerAssignmentRequest } from '../diameter/cx/server-assignment.js';
import { UserAuthorizationAnswer, UserAuthorizationRequest } from '../diameter/cx/user-authorization.js';
import { CommandFlags, type DiameterMessage } from '../diameter/message.js';
import type { DiameterNode } from '../diameter/node.js';
import { isProtocolError, ResultCode } from '../diameter/result-codes.js';
import type { TraceBus } from '../trace/events.js';
import type { Random } from '../util/random.js';
import { createContext, type HssContext, type HssOptions } from './context.js';
import { locationInfo } from './location-info.js';
import { multimediaAuth } from './multimedia-auth.js';
import { planPushProfile, pushProfileRequest } from './push-profile.js';
import {
  applyDeregistration,
  HssRequestError,
  planDeregistration,
  registrationTerminationRequest,
} from './registration-termination.js';
import { serverAssignment } from './server-assignment.js';
import type { SubscriberStore } from './store.js';
import { userAuthorization } from './user-authorization.js';

/** Sends a request to the peer with this Diameter identity and resolves with its answer. */
export type CxRequestSender = (destinationHost: string, request: DiameterMessage) => Promise<DiameterMessage>;


export interface HssCxServerDeps {
  store: SubscriberStore;
  random: Random;
  trace?: TraceBus;
  /** How RTR and PPR reach an S-CSCF; without it deregister() and pushProfile() refuse. */
  send?: CxRequestSender;
}

const CX_COMMANDS = [
  CxCommandCode.UserAuthorization,
  CxCommandCode.ServerAssignment,
  CxCommandCode.LocationInfo,
  CxCommandCode.MultimediaAuth,
] as const;

/**
 * The HSS side of Cx (TS 29.228 §6, TS 29.229): answers UAR, SAR, LIR and MAR from the I-CSCF and S-CSCF,
 * and sends RTR and PPR to the S-CSCF. Every request gets an answer: malformed ones a base error with
 * Failed-AVP (RFC 6733 §7.5), a store failure DIAMETER_UNABLE_TO_COMPLY. Nothing a peer sends can throw out
 * of `handle`.
 */
export class HssCxServer {
  readonly context: HssContext;
  private send: CxRequestSender | undefined;
  private sessions = 0;
  /** RFC 6733 §8.8: <DiameterIdentity>;<high 32 bits>;<low 32 bits>; the node's own generator once attached. */
  private newSessionId = (): string => {
    const high = this.context.random.bytes(4).readUInt32BE(0);
    return `${this.options.originHost};${high};${++this.sessions}`;
  };

  constructor(deps: HssCxServerDeps, readonly options: HssOptions) {
    this.context = createContext(deps.store, deps.random, deps.trace, options);
    this.send = deps.send;
  }

  /**
   * Registers the four HSS-side procedures on a Diameter node; RTR and PPR then go out on the node's open
   * connection to the S-CSCF (the one its MAR/SAR came in on, found by Origin-Host).
   */
  attach(node: DiameterNode): void {
    for (const code of CX_COMMANDS) node.onRequest(code, (req) => this.answer(req));
    this.newSessionId = () => node.newSessionId();
    this.send = (host, request) => {
      const conn = node.peer(host);
      if (!conn) return Promise.reject(new HssRequestError(`no open Diameter connection to ${host}`));
      return node.request(conn, request);
    };
  }

  /** Answers one Cx request (TS 29.229 §6.1). */
  handle(req: DiameterMessage): DiameterMessage {
    let answer: DiameterMessage;
    try {
      answer = this.dispatch(req);
    } catch (e) {
      answer = this.errorAnswer(req, e);
    }
    answer.hopByHop = req.hopByHop;
    answer.endToEnd = req.endToEnd;
    return answer;
  }

  /**
   * `handle`, answered only once the store has made its writes durable: with group commit the SQN and the
   * S-CSCF assignment of an MAA or SAA reach the disk with the batch they were written in, and the answer
   * must not overtake them (TS 33.102 §6.3.2, issue 8). A batch that fails to commit turns every answer that
   * relied on it into DIAMETER_UNABLE_TO_COMPLY.
   */
  async answer(req: DiameterMessage): Promise<DiameterMessage> {
    const answer = this.handle(req);
    try {
      await this.context.store.flush();
    } catch (e) {
      const failed = this.errorAnswer(req, e);
      failed.hopByHop = req.hopByHop;
      failed.endToEnd = req.endToEnd;
      return failed;
    }
    return answer;
  }

  /**
   * Network-initiated de-registration (TS 29.228 §6.1.3): an RTR to the S-CSCF serving `target` (an IMPI,
   * or an IMPU together with its implicit registration set). On DIAMETER_SUCCESS the identities become
   * NOT_REGISTERED here too. Resolves with the RTA; rejects with HssRequestError when there is nobody to tell.
   */
  async deregister(target: string, reason: DeregistrationReason = { reasonCode: ReasonCode.PERMANENT_TERMINATION }): Promise<RegistrationTerminationAnswer> {
    const send = this.requireSender('RTR');
    const plan = planDeregistration(this.context, target);
    const request = RegistrationTerminationRequest.encode(registrationTerminationRequest(this.context, plan, reason, this.newSessionId()));
    const answer = RegistrationTerminationAnswer.decode(await send(plan.scscfHost, request));
    if (answer.resultCode === ResultCode.DIAMETER_SUCCESS) {
      applyDeregistration(this.context, plan);
      await this.context.store.flush();
      this.context.note('info', `RTA: ${plan.serverName} confirmed; ${plan.impus.join(', ')} not registered`, 'TS 29.228 §6.1.3.1');
    } else {
      this.context.note('warn', `RTA from ${plan.serverName}: ${answer.resultCode ?? answer.experimentalResultCode}; registration state kept`, 'TS 29.228 §6.1.3.1');
    }
    return answer;
  }

  /** Sends the current profile of `impi` to the S-CSCF holding it (PPR, TS 29.228 §6.2.2). */
  async pushProfile(impi: string): Promise<PushProfileAnswer> {
    const send = this.requireSender('PPR');
    const plan = planPushProfile(this.context, impi);
    const request = PushProfileRequest.encode(pushProfileRequest(this.context, plan, this.newSessionId()));
    const answer = PushProfileAnswer.decode(await send(plan.scscfHost, request));
    const ok = answer.resultCode === ResultCode.DIAMETER_SUCCESS;
    this.context.note(ok ? 'info' : 'warn', `PPA from ${plan.serverName}: ${answer.resultCode ?? answer.experimentalResultCode}`, 'TS 29.228 §6.2.2.1');
    return answer;
  }

  private dispatch(req: DiameterMessage): DiameterMessage {
    if (!req.isRequest) throw new DiameterDecodeError('not a request', ResultCode.DIAMETER_INVALID_HDR_BITS);
    if (req.applicationId !== CX_APPLICATION_ID)
      throw new DiameterDecodeError(`application ${req.applicationId} is not Cx`, ResultCode.DIAMETER_APPLICATION_UNSUPPORTED);
    const head = { sessionId: req.sessionId, originHost: this.options.originHost, originRealm: this.options.originRealm };
    const ctx = this.context;
    // Each procedure returns a fresh answer object, so the header is written into it: `{ ...answer, ...head }`
    // took V8's slow path for a spread followed by more properties (~1.5 us per answer).
    switch (req.commandCode) {
      case CxCommandCode.UserAuthorization:
        return UserAuthorizationAnswer.encode(Object.assign(userAuthorization(ctx, UserAuthorizationRequest.decode(req)), head));
      case CxCommandCode.MultimediaAuth:
        return MultimediaAuthAnswer.encode(Object.assign(multimediaAuth(ctx, MultimediaAuthRequest.decode(req)), head));
      case CxCommandCode.ServerAssignment:
        return ServerAssignmentAnswer.encode(Object.assign(serverAssignment(ctx, ServerAssignmentRequest.decode(req)), head));
      case CxCommandCode.LocationInfo:
        return LocationInfoAnswer.encode(Object.assign(locationInfo(ctx, LocationInfoRequest.decode(req)), head));
      default:
        throw new DiameterDecodeError(`command ${req.commandCode} is not one the HSS answers`, ResultCode.DIAMETER_COMMAND_UNSUPPORTED);
    }
  }

  private errorAnswer(req: DiameterMessage, e: unknown): DiameterMessage {
    let resultCode: number = ResultCode.DIAMETER_UNABLE_TO_COMPLY;
    let failed;
    if (e instanceof DiameterDecodeError) {
      resultCode = e.resultCode;
      failed = e.failedAvp;
      this.context.note('info', `${commandName(req.commandCode)}: ${e.message}; answering Result-Code ${resultCode}`, 'RFC 6733 §7.1');
    } else if (e instanceof DiameterValueError) {
      resultCode = ResultCode.DIAMETER_INVALID_AVP_VALUE;
      failed = e.avp;
      this.context.note('info', `${commandName(req.commandCode)}: ${e.message}; answering DIAMETER_INVALID_AVP_VALUE`, 'RFC 6733 §7.1.5');
    } else {
      // The store failed (disk full, locked, corrupt): say so rather than crash or invent an answer.
      this.context.note('error', `${commandName(req.commandCode)}: ${(e as Error)?.message ?? String(e)}; answering DIAMETER_UNABLE_TO_COMPLY`, 'RFC 6733 §7.1.5');
    }
    const answer = answerHead(
      { sessionId: req.sessionId, originHost: this.options.originHost, originRealm: this.options.originRealm, resultCode },
      req.commandCode,
    );
    answer.applicationId = req.applicationId;
    if (isProtocolError(resultCode)) answer.flags |= CommandFlags.Error;
    if (failed) answer.avps.push(avp('Failed-AVP', [failed]));
    return answer;
  }

  private requireSender(what: string): CxRequestSender {
    if (!this.send) throw new HssRequestError(`${what}: this HSS has no Diameter connection to send it on`);
    return this.send;
  }
}

function commandName(code: number): string {
  for (const [k, v] of Object.entries(CxCommandCode)) if (v === code) return k;
  return `command ${code}`;
}
