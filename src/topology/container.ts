import 'reflect-metadata';
import { Container } from 'inversify';
import type { Clock } from '../util/clock.js';
import type { SeededRandom } from '../util/random.js';
import type { TraceBus } from '../trace/events.js';
import { TransportLayer } from '../sip/transport/layer.js';
import type { TlsCredentials } from '../tls/authority.js';
import { TransactionLayer } from '../sip/transaction/index.js';
import { UAS_TRYING } from '../sip/transaction/index.js';
import type { ImpairmentProfile } from '../sip/transport/impairment.js';
import { InboundLimits, type InboundLimitSettings } from '../sip/transport/limits.js';
import type { Directory } from './directory.js';
import type { NodeSpec } from './node-spec.js';
import type { Timers } from './schema.js';
import { TOKENS } from './tokens.js';

/** What every node of one run shares: time, the seed's root generator, the trace stream and the directory. */
export interface RunServices {
  clock: Clock;
  random: SeededRandom;
  bus: TraceBus;
  directory: Directory;
  dataDir: string;
  timers: Timers;
}

export interface SipStackOptions {
  tls?: TlsCredentials;
  impairment?: ImpairmentProfile;
  /** Proxies send 100 Trying at once (RFC 3261 §16.2); UAs after 200 ms (§17.2.1). */
  tryingImmediately?: boolean;
  /**
   * Inbound request limits (issue 8 point 4). The rate limit applies to UEs and unknown sources only: the
   * topology's own network functions are trusted peers (TS 24.229 §4.4) and never throttled.
   */
  limits?: Omit<InboundLimitSettings, 'exempt'>;
}

/**
 * One container per node (ARCHITECTURE: "a node is a set of objects in its own container: transport →
 * transaction layer → the function's logic"). The shared services are bound here; the node's own binder
 * (bindPcscf, bindScscf …) adds its logic on top and binds TOKENS.Node.
 */
export function createNodeContainer(run: RunServices, spec: NodeSpec, sip?: SipStackOptions): Container {
  const c = new Container();
  const random = run.random.fork(spec.name);
  c.bind(TOKENS.Clock).toConstantValue(run.clock);
  c.bind(TOKENS.Random).toConstantValue(random);
  c.bind(TOKENS.TraceBus).toConstantValue(run.bus);
  c.bind(TOKENS.Directory).toConstantValue(run.directory);
  c.bind(TOKENS.NodeSpec).toConstantValue(spec);
  c.bind(TOKENS.DataDir).toConstantValue(run.dataDir);
  if (sip) {
    const ports = { udp: spec.ports.udp, tcp: spec.ports.tcp, tls: sip.tls ? spec.ports.tls : undefined };
    const transport = new TransportLayer({
      node: spec.name,
      address: spec.address,
      hostNames: [`${spec.name}.${spec.domain}`],
      ports,
      trace: run.bus,
      clock: run.clock,
      random: random.fork('transport'),
      ...(sip.tls ? { tls: sip.tls } : {}),
      ...(sip.impairment ? { impairment: sip.impairment } : {}),
      ...(sip.limits
        ? {
            admission: new InboundLimits(run.clock, {
              ...sip.limits,
              exempt: (source) => {
                const peer = run.directory.byAddress(source.address);
                return peer !== undefined && peer.kind !== 'ue';
              },
            }),
          }
        : {}),
    });
    const transactions = new TransactionLayer(transport, run.clock, random.fork('transactions'), {
      timers: { t1: run.timers.T1, t2: run.timers.T2, t4: run.timers.T4 },
      trace: run.bus,
      node: spec.name,
      trying: sip.tryingImmediately ? 'immediate' : UAS_TRYING,
    });
    c.bind(TOKENS.Transport).toConstantValue(transport);
    c.bind(TOKENS.Transactions).toConstantValue(transactions);
  }
  return c;
}
