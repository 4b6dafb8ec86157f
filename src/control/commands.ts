import { z } from 'zod';
import { ReasonCode } from '../diameter/cx/constants.js';
import type { CxAnswerHeader, DeregistrationReason } from '../diameter/cx/common.js';
import { resultCodeName } from '../diameter/result-codes.js';
import { HssNode } from '../hss/hss-node.js';
import { Pcscf } from '../pcscf/pcscf.js';
import { Scscf } from '../scscf/scscf/scscf.js';
import type { RunningTopology } from '../topology/runner.js';
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
    }
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
