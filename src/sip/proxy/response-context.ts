import type { SipRequest, SipResponse } from '../message.js';
import type { TransactionLayer } from '../transaction/layer.js';
import { createResponse } from '../transaction/response.js';
import { TransactionTimer } from '../transaction/timers.js';
import type { ClientTransaction, FinalCause, ServerTransaction } from '../transaction/types.js';
import type { TransportAddress } from '../transport/types.js';
import { chooseBestResponse } from './best-response.js';
import type { BranchInfo, ForwardDecision, ProxyTarget } from './types.js';

/** One forwarded copy of the request (§16.6) and what has come back on it. */
export interface Branch {
  index: number;
  target: ProxyTarget;
  /** The copy as forwarded, until the branch has its final (only Timer C's 408 is made from it). */
  request: SipRequest | undefined;
  txn?: ClientTransaction;
  provisional: boolean;
  /** A final response has been taken for this branch (received, synthetic, or Timer C's 408). */
  done: boolean;
  timerC?: TransactionTimer;
}

export interface ResponseContextDeps {
  layer: TransactionLayer;
  /** Timer C (§16.6 step 11), in ms. */
  timerC: number;
  /** Sends a response upstream when the server transaction can no longer (a late 2xx fork, §16.7 step 9). */
  relayStateless: (response: SipResponse) => void;
  /**
   * A non-INVITE context whose final response has gone upstream: nothing it holds can matter to the upstream
   * side any more (§16.7 step 5: later finals are not forwarded; no CANCEL applies, §9.2), so its owner may
   * forget it rather than keep it, with every copy of the request, for the server transaction's Timer J.
   */
  settled?: () => void;
}

/**
 * The response context of one proxied request (RFC 3261 §16.7): its branches, the final responses collected,
 * whether a final has gone upstream, and the CANCEL logic of §16.7 step 10 and §16.10.
 *
 * An INVITE's context outlives its final: it relays further 2xx (retransmissions and forks, RFC 6026 §7.2)
 * until the server transaction leaves Accepted, 64·T1 later. For that it needs the upstream transaction, the
 * branches' transactions and the router's hooks, not the request: no copy of it is kept, each branch's is let
 * go with the branch's final and the collected finals with the one sent upstream.
 */
export class ResponseContext {
  readonly branches: Branch[] = [];
  private finals: SipResponse[] = [];
  readonly isInvite: boolean;
  finalSent = false;
  cancelled = false;
  /** §16.7 step 5: after a 6xx no new branch may start. */
  closedToNewBranches = false;
  decision: ForwardDecision | undefined;

  constructor(
    private readonly deps: ResponseContextDeps,
    readonly upstream: ServerTransaction,
    method: string,
  ) {
    this.isInvite = method === 'INVITE';
  }

  /** Sends one branch through the transaction layer; `destination` undefined means it could not be resolved. */
  fork(target: ProxyTarget, request: SipRequest, destination: TransportAddress | undefined, branchId: string): void {
    if (this.closedToNewBranches || this.finalSent) return;
    const branch: Branch = { index: this.branches.length, target, request, provisional: false, done: false };
    this.branches.push(branch);
    if (!destination) {
      // No DNS here: a target the static table cannot place fails like an unreachable one (§8.1.3.1).
      request.headers.prepend('Via', this.deps.layer.viaFor('udp', branchId));
      this.onFinal(branch, createResponse(request, 503, 'Service Unavailable'), 'transport-error');
      return;
    }
    branch.txn = this.deps.layer.sendRequest(
      request,
      destination,
      {
        provisional: (r) => this.onProvisional(branch, r),
        final: (r, cause) => this.onFinal(branch, r, cause),
      },
      { branch: branchId },
    );
    if (this.isInvite) {
      branch.timerC = new TransactionTimer(this.deps.layer.clock);
      this.armTimerC(branch);
    }
  }

  /** Sends a final response upstream when no branch was started (a router that returned no target, §16.6). */
  respondUpstream(response: SipResponse): void {
    this.finalSent = true;
    this.finals = [];
    this.upstream.respond(response);
    if (!this.isInvite) this.deps.settled?.();
  }

  /**
   * Cancels every branch still waiting (§16.7 step 10, §16.10, §9.1), with the given headers (RFC 3326 Reason).
   * Branches without a provisional response get their CANCEL once one arrives.
   */
  cancelPending(extra: ReadonlyArray<readonly [string, string]> = []): void {
    if (!this.isInvite) return;
    for (const b of this.branches) if (!b.done && b.txn) this.deps.layer.cancel(b.txn, extra);
  }

  /** Upstream CANCEL (§16.10). */
  cancel(extra: ReadonlyArray<readonly [string, string]>): void {
    this.cancelled = true;
    if (this.branches.length === 0 && !this.finalSent && this.isInvite) {
      this.respondUpstream(createResponse(this.upstream.request, 487));
      return;
    }
    this.cancelPending(extra);
  }

  private onProvisional(branch: Branch, response: SipResponse): void {
    if (branch.done) return;
    branch.provisional = true;
    if (branch.timerC) this.armTimerC(branch); // §16.7 step 2: a provisional resets Timer C.
    this.decision?.onResponse?.(response, this.info(branch, false));
    response.headers.shift('Via'); // §16.7 step 3: our own Via.
    if (response.status === 100 || this.finalSent) return; // §16.7 step 5: 100 is hop-by-hop.
    this.decision?.onForward?.(response);
    this.upstream.respond(response);
  }

  private onFinal(branch: Branch, response: SipResponse, cause: FinalCause): void {
    const success = response.status < 300;
    // 2xx keep flowing after the branch ended: forks and retransmissions of the INVITE's 2xx (RFC 6026).
    if (branch.done && !(success && this.isInvite)) return;
    branch.done = true;
    branch.request = undefined;
    if (branch.timerC) {
      branch.timerC.cancel();
      branch.timerC = undefined;
    }
    this.decision?.onResponse?.(response, this.info(branch, cause !== 'response'));
    response.headers.shift('Via');
    if (success) {
      this.decision?.onForward?.(response);
      const first = !this.finalSent;
      this.finalSent = true;
      this.finals = [];
      if (this.upstream.state === 'terminated') this.deps.relayStateless(response);
      else this.upstream.respond(response);
      if (!this.isInvite) this.deps.settled?.();
      // §16.7 step 10: a final sent upstream cancels what is still pending (RFC 3326 says why).
      if (first) this.cancelPending([['Reason', 'SIP;cause=200;text="Call completed elsewhere"']]);
      return;
    }
    if (!this.finalSent) this.finals.push(response); // §16.7 step 6 chooses among these only until a final went up.
    if (response.status >= 600 && this.isInvite) {
      this.closedToNewBranches = true;
      this.cancelPending([['Reason', `SIP;cause=${response.status};text="${response.reason.replace(/["\\]/g, '')}"`]]);
    }
    this.concludeIfDone();
  }

  /** §16.7 step 6: with every branch final and nothing sent yet, the best response goes upstream. */
  private concludeIfDone(): void {
    if (this.finalSent || this.branches.some((b) => !b.done)) return;
    const best = chooseBestResponse(this.finals) ?? createResponse(this.upstream.request, 408);
    this.decision?.onForward?.(best);
    this.respondUpstream(best);
  }

  /**
   * §16.8: Timer C firing cancels a branch that has had a provisional response; one that never had one is
   * treated as if it had received a 408.
   */
  private armTimerC(branch: Branch): void {
    branch.timerC!.start(this.deps.timerC, () => {
      if (branch.done || !branch.request) return;
      if (branch.provisional && branch.txn) this.deps.layer.cancel(branch.txn);
      else this.onFinal(branch, createResponse(branch.request, 408), 'timeout');
    });
  }

  private info(branch: Branch, synthetic: boolean): BranchInfo {
    return { index: branch.index, target: branch.target, synthetic };
  }
}
