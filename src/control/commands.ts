import { z } from 'zod';
import { ReasonCode } from '../diameter/cx/constants.js';
import type { CxAnswerHeader, DeregistrationReason } from '../diameter/cx/common.js';
import { resultCodeName } from '../diameter/result-codes.js';
import { HssNode } from '../hss/hss-node.js';
import { Pcscf } from '../pcscf/pcscf.js';
import { Scscf } from '../scscf/scscf/scscf.js';
import type { RunningTopology } from '../topology/runner.js';
import { Ue } from '../ue/ue.js';
import type { CallState } from '../ue/call.js';
import { CALL_RELEASE_TIMEOUT_MS, CALL_SETUP_TIMEOUT_MS } from '../ue/scenario-steps.js';
import type { RtpSessionStatistics } from '../rtp/session.js';
import type { TimerHandle } from '../util/clock.js';
import { collectCounters, type NodeCounters } from './counters.js';

/** A request the control channel understood but cannot carry out; its message goes back to the client. */
export class ControlError extends Error {
  override readonly name = 'ControlError';
}

/** `imslab hss deregister --reason` words → TS 29.229 §6.3.17 Reason-Code. */
export const DEREGISTRATION_REASONS = {
  permanent: ReasonCode.PERMANENT_TERMINATION,
  'new-server': ReasonCode.NEW_SERVER_ASSIGNED,
  'server-change': ReasonCode.SERVER_CHANGE,
  'remove-scscf': ReasonCode.REMOVE_S_CSCF,
} as const;
export type DeregistrationReasonWord = keyof typeof DEREGISTRATION_REASONS;

export interface NodeStatus {
  name: string;
  kind: string;
  address: string;
  ports: Record<string, number>;
  running: boolean;
}

export interface StatusResult {
  topology: string;
  dataDir: string;
  nodes: NodeStatus[];
  counters: Record<string, NodeCounters>;
}

/** The Cx answer of an HSS-initiated procedure, as the CLI prints it. */
export interface CxOutcome {
  hss: string;
  resultCode?: number;
  experimentalResultCode?: number;
  /** DIAMETER_SUCCESS, DIAMETER_UNABLE_TO_COMPLY … or the number. */
  result: string;
  success: boolean;
}

/** A simulated UE of the running topology, as `imslab ctl ues` prints it. */
export interface UeListEntry {
  name: string;
  impi: string;
  impu: string;
  address: string;
  transport: string;
  /** Registration state (TS 24.229 §5.1.1), with the reason when it failed or ended. */
  state: string;
  reason?: string;
  /** How it answers an incoming INVITE: auto (200), busy (486) or noanswer (180 until the caller gives up). */
  answer: string;
  /** What an answered call sends back: echo or tone. */
  media: string;
  calls: number;
}

/** The outcome of `ue.call`: the INVITE's final answer and, for an answered call, its media both ways. */
export interface UeCallResult {
  from: string;
  to: string;
  answered: boolean;
  /** Final status of the INVITE. */
  status?: number;
  reason?: string;
  callId?: string;
  /** From the 2xx to the end of the call. */
  durationMs?: number;
  /** How the call ended once answered (BYE answer, or the peer's BYE). */
  ended?: string;
  rtp?: Pick<RtpSessionStatistics, 'sent' | 'received' | 'lost' | 'duplicates' | 'jitterMs' | 'rtcpSent' | 'rtcpReceived' | 'unexpected'>;
}

/** The longest call `ue.call` holds open: a control request is not a soak test. */
export const MAX_CONTROL_CALL_MS = 3_600_000;
/** `ue.call` without durationMs. */
export const DEFAULT_CONTROL_CALL_MS = 5_000;

export interface RegistrationsResult {
  scscf: Record<string, Array<{ impi: string; impus: string[]; contacts: Array<{ uri: string; expiresInS: number }> }>>;
  pcscf: Record<string, Array<{ impi?: string; impu: string; contact: string; ue: string; expiresInS: number }>>;
}

const name = z.string().min(1).max(200);
const SCHEMAS = {
  status: z.strictObject({}),
  registrations: z.strictObject({}),
  'node.stop': z.strictObject({ name }),
  'node.start': z.strictObject({ name }),
  'hss.deregister': z.strictObject({
    target: z.string().min(1).max(2000),
    reason: z.enum(Object.keys(DEREGISTRATION_REASONS) as [DeregistrationReasonWord, ...DeregistrationReasonWord[]]).optional(),
    reasonInfo: z.string().max(500).optional(),
    hss: name.optional(),
  }),
  'hss.push-profile': z.strictObject({ impi: z.string().min(1).max(2000), hss: name.optional() }),
  'ue.list': z.strictObject({}),
  'ue.call': z.strictObject({
    from: name,
    to: z.string().min(1).max(2000),
    durationMs: z.number().int().min(0).max(MAX_CONTROL_CALL_MS).optional(),
  }),
} as const;
export type ControlCommand = keyof typeof SCHEMAS;
export const CONTROL_COMMANDS = Object.keys(SCHEMAS) as ControlCommand[];

/**
 * What the control channel can do to a running topology. Transport-free: the server hands it parsed requests,
 * tests may call it directly. Every failure is a ControlError (or the node's own error) with a message meant
 * for the person at the command line.
 */
export class ControlCommands {
  constructor(private readonly run: RunningTopology) {}

  async handle(command: string, args: Record<string, unknown>): Promise<unknown> {
    if (!(command in SCHEMAS)) throw new ControlError(`unknown command "${command}" (known: ${CONTROL_COMMANDS.join(', ')})`);
    const parsed = SCHEMAS[command as ControlCommand].safeParse(args);
    if (!parsed.success) {
      const i = parsed.error.issues[0]!;
      throw new ControlError(`${command}: ${i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}`);
    }
    const a = parsed.data as Record<string, string | undefined>;
    switch (command as ControlCommand) {
      case 'status':
        return this.status();
      case 'registrations':
        return this.registrations();
      case 'node.stop':
        await this.run.stopNode(a['name']!);
        return { name: a['name'], running: false };
      case 'node.start':
        await this.run.startNode(a['name']!);
        return { name: a['name'], running: true };
      case 'hss.deregister': {
        const hss = this.hss(a['hss']);
        const reason: DeregistrationReason = {
          reasonCode: DEREGISTRATION_REASONS[(a['reason'] ?? 'permanent') as DeregistrationReasonWord],
          ...(a['reasonInfo'] !== undefined ? { reasonInfo: a['reasonInfo'] } : {}),
        };
        return outcome(hss.name, await hss.deregister(a['target']!, reason));
      }
      case 'hss.push-profile': {
        const hss = this.hss(a['hss']);
        return outcome(hss.name, await hss.pushProfile(a['impi']!));
      }
      case 'ue.list':
        return this.ues();
      case 'ue.call': {
        const c = parsed.data as { from: string; to: string; durationMs?: number };
        return this.call(c.from, c.to, c.durationMs ?? DEFAULT_CONTROL_CALL_MS);
      }
    }
  }

  /** The simulated UEs that run in this serve (issue 5 point 8: the ones outside UEs can call). */
  ues(): UeListEntry[] {
    const out: UeListEntry[] = [];
    for (const [name, ue] of this.run.ues) {
      if (!(ue instanceof Ue)) continue;
      const spec = this.run.topology.ues.find((u) => u.name === name);
      out.push({
        name,
        impi: ue.config.impi,
        impu: ue.config.impu,
        address: spec?.address ?? '',
        transport: ue.config.transport,
        state: ue.state.state,
        ...(ue.state.reason !== undefined ? { reason: ue.state.reason } : {}),
        answer: ue.callSettings.answer,
        media: ue.answerMedia,
        calls: ue.calls.length,
      });
    }
    return out;
  }

  /**
   * Issue 5 point 8: a simulated UE calls any URI — typically an outside UE (softphone, SIPp UAS) registered
   * to this core — through its P-CSCF and Service-Route (TS 24.229 §5.1.2A.1), holds the call for
   * `durationMs` and hangs up with BYE. Resolves once the call has ended, with what each side's media did.
   * Every wait is bounded: Timer B for the answer (then CANCEL), Timer F for the BYE.
   */
  async call(from: string, to: string, durationMs: number): Promise<UeCallResult> {
    const ue = this.simulatedUe(from);
    const target = /^(sips?|tel):/i.test(to) ? to : this.simulatedUe(to).config.impu;
    if (ue.state.state !== 'registered') {
      throw new ControlError(`${from} is not registered (${ue.state.state}${ue.state.reason ? `: ${ue.state.reason}` : ''}); it calls only once registered (TS 24.229 §5.1.2A.1)`);
    }
    let call;
    try {
      call = ue.call(target, { durationMs });
    } catch (e) {
      throw new ControlError(`ue.call: ${(e as Error).message}`);
    }
    const base = { from, to: target };
    const setup = await this.within(call.settled(), CALL_SETUP_TIMEOUT_MS);
    if (!setup) {
      const gaveUp = await this.within(call.hangup('no final answer from the callee'), CALL_RELEASE_TIMEOUT_MS);
      return { ...base, answered: false, ...stateOf(gaveUp ?? call.state), reason: `no final answer within ${CALL_SETUP_TIMEOUT_MS} ms` };
    }
    if (setup.state !== 'confirmed') return { ...base, answered: false, ...stateOf(setup), ...(call.callId ? { callId: call.callId } : {}) };
    const answeredAt = this.run.clock.now();
    const status = setup.status;
    let end = await this.within(call.ended(), durationMs + CALL_RELEASE_TIMEOUT_MS);
    if (!end) end = await call.release('the call did not end in time');
    const s = call.statistics();
    return {
      ...base,
      answered: true,
      ...(status !== undefined ? { status } : {}),
      reason: setup.reason ?? 'OK',
      ...(call.callId ? { callId: call.callId } : {}),
      durationMs: Math.round(this.run.clock.now() - answeredAt),
      ...(end.reason ? { ended: end.reason } : {}),
      ...(s
        ? {
            rtp: {
              sent: s.sent,
              received: s.received,
              lost: s.lost,
              duplicates: s.duplicates,
              jitterMs: Math.round(s.jitterMs * 100) / 100,
              rtcpSent: s.rtcpSent,
              rtcpReceived: s.rtcpReceived,
              unexpected: s.unexpected,
            },
          }
        : {}),
    };
  }

  private simulatedUe(name: string): Ue {
    const ue = this.run.ues.get(name);
    if (!ue) {
      const known = [...this.run.ues.keys()];
      throw new ControlError(`no simulated UE named "${name}" runs here (${known.length ? `running: ${known.join(', ')}` : 'this serve runs none; start it without --no-ues'})`);
    }
    if (!(ue instanceof Ue)) throw new ControlError(`${name} is not a simulated UE that can call`);
    return ue;
  }

  /** `p`'s value, or undefined once `ms` have passed on the run's clock. */
  private within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
    return new Promise((resolve, reject) => {
      let timer: TimerHandle | undefined = this.run.clock.setTimeout(() => resolve(undefined), ms);
      p.then(
        (v) => {
          timer?.cancel();
          timer = undefined;
          resolve(v);
        },
        (e: unknown) => {
          timer?.cancel();
          reject(e instanceof Error ? e : new Error(String(e)));
        },
      );
    });
  }

  status(): StatusResult {
    const t = this.run.topology;
    const counters = collectCounters(this.run);
    // The trace stream carries the same counters (issue 8 point 5): a reliability run's record shows them.
    this.run.bus.note({ node: 'control', level: 'info', text: 'counters (status)', data: { counters } });
    return {
      topology: t.name,
      dataDir: this.run.dataDir,
      nodes: t.nodes.map((n) => ({
        name: n.name,
        kind: n.kind,
        address: n.address,
        ports: Object.fromEntries(Object.entries(n.transports).filter((e): e is [string, number] => typeof e[1] === 'number')),
        running: this.run.nodes.has(n.name),
      })),
      counters,
    };
  }

  registrations(): RegistrationsResult {
    const now = this.run.clock.now();
    const left = (at: number) => Math.max(0, Math.round((at - now) / 1000));
    const out: RegistrationsResult = { scscf: {}, pcscf: {} };
    for (const [name, node] of this.run.nodes) {
      if (node instanceof Scscf) {
        out.scscf[name] = node.store.list().map((r) => ({
          impi: r.impi,
          impus: r.impus,
          contacts: r.contacts.map((c) => ({ uri: c.uri, expiresInS: left(c.expiresAt) })),
        }));
      } else if (node instanceof Pcscf) {
        out.pcscf[name] = node.registrations().map((r) => ({
          ...(r.impi !== undefined ? { impi: r.impi } : {}),
          impu: r.registeredImpu,
          contact: r.contact,
          ue: `${r.ue.transport}:${r.ue.address}:${r.ue.port}`,
          expiresInS: left(r.expiresAt),
        }));
      }
    }
    return out;
  }

  private hss(wanted: string | undefined): HssNode {
    const all = this.run.topology.nodes.filter((n) => n.kind === 'hss' && (wanted === undefined || n.name === wanted));
    if (all.length === 0) throw new ControlError(wanted ? `no HSS named "${wanted}" in topology ${this.run.topology.name}` : `topology ${this.run.topology.name} has no HSS`);
    const running = all.map((n) => this.run.nodes.get(n.name)).find((n): n is HssNode => n instanceof HssNode);
    if (!running) throw new ControlError(`${all.map((n) => n.name).join(', ')} ${all.length === 1 ? 'is' : 'are'} not running`);
    return running;
  }
}

function stateOf(s: CallState): { status?: number; reason?: string } {
  return { ...(s.status !== undefined ? { status: s.status } : {}), ...(s.reason !== undefined ? { reason: s.reason } : {}) };
}

function outcome(hss: string, a: CxAnswerHeader): CxOutcome {
  const success = a.resultCode === 2001;
  const result = a.resultCode !== undefined ? resultCodeName(a.resultCode) : a.experimentalResultCode !== undefined ? `Experimental-Result-Code ${a.experimentalResultCode}` : 'no result code';
  return {
    hss,
    ...(a.resultCode !== undefined ? { resultCode: a.resultCode } : {}),
    ...(a.experimentalResultCode !== undefined ? { experimentalResultCode: a.experimentalResultCode } : {}),
    result,
    success,
  };
}
