import { DiameterNode } from '../diameter/node.js';
import type { DeregistrationReason } from '../diameter/cx/common.js';
import type { PushProfileAnswer } from '../diameter/cx/push-profile.js';
import type { RegistrationTerminationAnswer } from '../diameter/cx/registration-termination.js';
import type { NetworkNode } from '../topology/network-node.js';
import type { HssSettings, NodeSpec } from '../topology/node-spec.js';
import type { TraceBus } from '../trace/events.js';
import type { Clock } from '../util/clock.js';
import type { Random } from '../util/random.js';
import type { HssOptions } from './context.js';
import { HssCxServer } from './cx-server.js';
import { SqliteSubscriberStore } from './sqlite-store.js';
import type { SubscriberStore } from './store.js';

export interface HssNodeDeps {
  spec: NodeSpec<HssSettings>;
  clock: Clock;
  random: Random;
  trace: TraceBus;
  /** Where `hss.sqlite` lives (TOKENS.DataDir); ignored when `store` is given. */
  dataDir: string;
  store?: SubscriberStore;
  /** Extra HSS settings (charging addresses, vector limit, log sink). */
  options?: Partial<HssOptions>;
}

/**
 * The HSS as a network node: the subscriber store, the Cx procedures, and a Diameter node listening on
 * the node's address (port `ports.diameter`, default 3868). Its Diameter identity is `<name>.<domain>`.
 */
export class HssNode implements NetworkNode {
  readonly kind = 'hss' as const;
  readonly name: string;
  readonly store: SubscriberStore;
  readonly diameter: DiameterNode;
  readonly cx: HssCxServer;

  constructor(deps: HssNodeDeps) {
    const { spec } = deps;
    this.name = spec.name;
    const realm = spec.settings.realm || spec.domain;
    const originHost = `${spec.name}.${spec.domain}`;
    // Group commit: the Cx server answers only after the batch holding its writes is committed (cx-server.ts).
    this.store = deps.store ?? new SqliteSubscriberStore(deps.dataDir, { groupCommit: true });
    this.diameter = new DiameterNode({
      name: spec.name,
      originHost,
      originRealm: realm,
      address: spec.address,
      port: spec.ports.diameter ?? 3868,
      clock: deps.clock,
      random: deps.random,
      trace: deps.trace,
    });
    this.cx = new HssCxServer(
      { store: this.store, random: deps.random, trace: deps.trace },
      { name: spec.name, originHost, originRealm: realm, homeNetworks: [spec.domain], ...deps.options },
    );
    this.cx.attach(this.diameter);
  }

  async start(): Promise<void> {
    await this.diameter.listen();
  }

  async stop(): Promise<void> {
    await this.diameter.close();
    this.store.close();
  }

  /** `imslab hss deregister IMPU|IMPI`: RTR to the serving S-CSCF (TS 29.228 §6.1.3). */
  deregister(target: string, reason?: DeregistrationReason): Promise<RegistrationTerminationAnswer> {
    return this.cx.deregister(target, reason);
  }

  /** `imslab hss push-profile IMPI`: PPR with the current User-Data (TS 29.228 §6.2.2). */
  pushProfile(impi: string): Promise<PushProfileAnswer> {
    return this.cx.pushProfile(impi);
  }
}
