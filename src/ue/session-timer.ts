/**
 * Session timers (RFC 4028) of a UE's call: the Session-Expires / Min-SE codec, the negotiation of both
 * sides (§7 UAC, §9 UAS), and the SessionTimer that keeps a confirmed session alive or ends it. A peer that
 * vanishes mid-call (battery pulled, radio lost) sends no BYE; the session timer is what ends the dialog.
 *
 *   const timer = new SessionTimer(clock, { intervalS: 1800, weRefresh: true, refresh, expire });
 *   timer.start();            // refresher: a refresh at half the interval (§10)
 *   timer.refreshed(1800);    // a refresh went through (ours answered 2xx, or the peer's arrived)
 *   timer.stop();             // the call ended
 */
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Headers } from '../sip/message.js';

/** RFC 4028 §4: the session interval a UE asks for when not configured (30 minutes is the §4 recommendation). */
export const DEFAULT_SESSION_EXPIRES_S = 1800;
/** RFC 4028 §5: the smallest session interval a UE accepts unless configured otherwise. */
export const DEFAULT_MIN_SE_S = 90;

export type Refresher = 'uac' | 'uas';

/** A Session-Expires header field value (RFC 4028 §4): delta-seconds and who refreshes. */
export interface SessionExpires {
  deltaSeconds: number;
  refresher?: Refresher;
}

/** What a UE's calls do about session timers (the topology's `sessionExpires` and `minSe`, seconds). */
export interface SessionTimerSettings {
  /** The interval asked for in our INVITEs and the largest one granted as UAS (§9 lets the UAS lower it). */
  sessionExpiresS: number;
  /** Below this an INVITE's Session-Expires gets 422 (§6). */
  minSeS: number;
}

export class SessionTimerError extends Error {
  override readonly name = 'SessionTimerError';
}

/** RFC 4028 §4: `Session-Expires = delta-seconds *(SEMI se-params)`, se-params `refresher=uac|uas` or generic. */
export function parseSessionExpires(value: string): SessionExpires {
  const parts = value.split(';');
  const delta = parts[0]!.trim();
  if (!/^\d{1,10}$/.test(delta)) throw new SessionTimerError(`Session-Expires "${value}" does not start with delta-seconds (RFC 4028 §4)`);
  const se: SessionExpires = { deltaSeconds: Number(delta) };
  if (se.deltaSeconds < 1) throw new SessionTimerError(`Session-Expires "${value}" is zero (RFC 4028 §4: it is a positive interval)`);
  for (const p of parts.slice(1)) {
    const eq = p.indexOf('=');
    const name = (eq < 0 ? p : p.slice(0, eq)).trim().toLowerCase();
    if (name !== 'refresher') continue;
    const v = eq < 0 ? '' : p.slice(eq + 1).trim().toLowerCase();
    if (v !== 'uac' && v !== 'uas') throw new SessionTimerError(`Session-Expires "${value}": refresher is "${v}", not uac or uas (RFC 4028 §4)`);
    se.refresher = v;
  }
  return se;
}

export function formatSessionExpires(se: SessionExpires): string {
  return se.refresher ? `${se.deltaSeconds};refresher=${se.refresher}` : String(se.deltaSeconds);
}

/** RFC 4028 §5: `Min-SE = delta-seconds *(SEMI generic-param)`. */
export function parseMinSe(value: string): number {
  const delta = value.split(';')[0]!.trim();
  if (!/^\d{1,10}$/.test(delta)) throw new SessionTimerError(`Min-SE "${value}" is not delta-seconds (RFC 4028 §5)`);
  return Number(delta);
}

/** The Session-Expires of a message (the compact form `x` is the same key), undefined when absent. */
export function sessionExpiresOf(headers: Headers): SessionExpires | undefined {
  const v = headers.get('Session-Expires');
  return v === undefined ? undefined : parseSessionExpires(v);
}

/** The session timer a UAS grants for an INVITE (or refresh), or why it refuses it. */
export type UasDecision =
  | { kind: 'none' }
  | { kind: 'timer'; intervalS: number; refresher: Refresher; requireTimer: boolean }
  | { kind: 'too-small'; minSeS: number }
  | { kind: 'bad'; reason: string };

/**
 * RFC 4028 §9, the UAS of a session refresh or initial INVITE: an interval below our Min-SE is refused with 422
 * (§6); one above our own maximum is lowered to it (never below the request's Min-SE); without a refresher in the
 * request the UAS chooses: the UAC when it supports timers, else itself. `Require: timer` goes in the 2xx only
 * when the UAC supports the extension (§9).
 */
export function decideAsUas(headers: Headers, uacSupportsTimer: boolean, ours: SessionTimerSettings): UasDecision {
  let requested: SessionExpires | undefined;
  let theirMin = 0;
  try {
    requested = sessionExpiresOf(headers);
    const m = headers.get('Min-SE');
    if (m !== undefined) theirMin = parseMinSe(m);
  } catch (e) {
    return { kind: 'bad', reason: (e as Error).message };
  }
  if (!requested) {
    // §9: without Session-Expires the UAS may still ask for one, refreshed by the UAC if it can.
    if (!uacSupportsTimer) return { kind: 'none' };
    return { kind: 'timer', intervalS: ours.sessionExpiresS, refresher: 'uac', requireTimer: true };
  }
  if (requested.deltaSeconds < ours.minSeS) return { kind: 'too-small', minSeS: ours.minSeS };
  const intervalS = Math.max(Math.min(requested.deltaSeconds, ours.sessionExpiresS), theirMin, ours.minSeS);
  const refresher = requested.refresher ?? (uacSupportsTimer ? 'uac' : 'uas');
  return { kind: 'timer', intervalS, refresher, requireTimer: uacSupportsTimer };
}

/**
 * RFC 4028 §10: how long before expiry the side that does not refresh gives up and sends BYE. The RFC
 * recommends the minimum of 32 s and a third of the interval, so a short lab interval scales with it.
 */
export function byeLeadMs(intervalS: number): number {
  return Math.min(32_000, (intervalS * 1000) / 3);
}

/** How a refresh we sent ended: its final status and whether the transaction itself failed (§10). */
export interface RefreshOutcome {
  status: number;
  /** 'timeout' / 'transport-error' when the status was made up by the transaction (RFC 3261 §8.1.3.1). */
  cause: 'response' | 'timeout' | 'transport-error';
  /** The interval the 2xx granted (its Session-Expires), when it carried one. */
  intervalS?: number;
}

export interface SessionTimerOptions {
  intervalS: number;
  /** Whether this UE is the refresher (RFC 4028 §7.2 / §9: from the refresher parameter of the 2xx). */
  weRefresh: boolean;
  /** Sends one session refresh (an UPDATE, RFC 4028 §7.4 / RFC 3311) and reports how it ended. */
  refresh: () => Promise<RefreshOutcome>;
  /** The session is over: the caller sends BYE and puts `why` on the trace. */
  expire: (why: SessionExpiry) => void;
}

/** Why the session timer ended a session. */
export type SessionExpiry =
  | { kind: 'refresh-failed'; status: number; cause: RefreshOutcome['cause'] }
  | { kind: 'not-refreshed'; intervalS: number };

/**
 * One session's timer (RFC 4028 §10). The refresher sends a refresh at half the interval; a refresh answered
 * 408 or 481, or whose transaction timed out or hit a transport error, ends the session at once; any other
 * failure leaves it to expire. The other side ends the session when no refresh came by expiry minus
 * byeLeadMs. The refresher also stops at expiry when its refresh is still unanswered then (the session is
 * already gone at the peer).
 */
export class SessionTimer {
  private refreshTimer: TimerHandle | undefined;
  private expiryTimer: TimerHandle | undefined;
  private intervalS: number;
  private stopped = false;
  private generation = 0;

  constructor(
    private readonly clock: Clock,
    private readonly options: SessionTimerOptions,
  ) {
    this.intervalS = options.intervalS;
  }

  get interval(): number {
    return this.intervalS;
  }

  get weRefresh(): boolean {
    return this.options.weRefresh;
  }

  /** Starts the interval from now (the 2xx of the INVITE, §7.2 / §9). */
  start(): void {
    this.arm();
  }

  /** A refresh succeeded (ours answered 2xx, or the peer's answered by us): the interval starts again (§10). */
  refreshed(intervalS = this.intervalS): void {
    if (this.stopped) return;
    this.intervalS = intervalS;
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    this.generation++;
    this.refreshTimer?.cancel();
    this.expiryTimer?.cancel();
  }

  private arm(): void {
    const generation = ++this.generation;
    this.refreshTimer?.cancel();
    this.expiryTimer?.cancel();
    const intervalMs = this.intervalS * 1000;
    if (this.options.weRefresh) {
      this.refreshTimer = this.clock.setTimeout(() => void this.sendRefresh(generation), intervalMs / 2);
      this.expiryTimer = this.clock.setTimeout(() => this.end(generation, { kind: 'not-refreshed', intervalS: this.intervalS }), intervalMs);
    } else {
      this.expiryTimer = this.clock.setTimeout(() => this.end(generation, { kind: 'not-refreshed', intervalS: this.intervalS }), intervalMs - byeLeadMs(this.intervalS));
    }
  }

  private async sendRefresh(generation: number): Promise<void> {
    let outcome: RefreshOutcome;
    try {
      outcome = await this.options.refresh();
    } catch {
      outcome = { status: 503, cause: 'transport-error' };
    }
    if (this.stopped || generation !== this.generation) return;
    if (outcome.status >= 200 && outcome.status < 300) {
      this.refreshed(outcome.intervalS ?? this.intervalS);
      return;
    }
    // §10: 408, 481 or a failed transaction mean the session is gone at the peer; BYE at once.
    if (outcome.status === 408 || outcome.status === 481 || outcome.cause !== 'response') {
      this.end(generation, { kind: 'refresh-failed', status: outcome.status, cause: outcome.cause });
    }
  }

  private end(generation: number, why: SessionExpiry): void {
    if (this.stopped || generation !== this.generation) return;
    this.stop();
    this.options.expire(why);
  }
}
