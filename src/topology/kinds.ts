import type { Container } from 'inversify';
import { HssNode } from '../hss/hss-node.js';
import { bindIcscf } from '../scscf/icscf/index.js';
import { bindScscf, REGISTRATION_STORE, SqliteRegistrationStore } from '../scscf/scscf/index.js';
import { bindUe } from '../ue/index.js';
import { bindPcscf } from '../pcscf/index.js';
import { bindProxy } from '../proxy/index.js';
import type { SubscriberStore } from '../hss/store.js';
import type { Clock } from '../util/clock.js';
import type { Random } from '../util/random.js';
import type { TraceBus } from '../trace/events.js';
import type { HssSettings, NodeSpec } from './node-spec.js';
import { provisionHss } from './provision.js';
import type { NodeKind } from './network-node.js';
import type { Topology } from './schema.js';
import { TOKENS } from './tokens.js';

export interface NodeBinder {
  /** Whether the runner gives the node a SIP stack (transport + transactions) in its container. */
  sip: boolean;
  bind(c: Container, topology: Topology): void;
}

const hss: NodeBinder = {
  sip: false,
  bind(c, topology) {
    c.bind(TOKENS.Node)
      .toDynamicValue(() => {
        const node = new HssNode({
          spec: c.get<NodeSpec<HssSettings>>(TOKENS.NodeSpec),
          clock: c.get<Clock>(TOKENS.Clock),
          random: c.get<Random>(TOKENS.Random),
          trace: c.get<TraceBus>(TOKENS.TraceBus),
          dataDir: c.get<string>(TOKENS.DataDir),
        });
        provisionHss(node.store as SubscriberStore, topology);
        return node;
      })
      .inSingletonScope();
  },
};

/** How each kind of network function is put into its container. */
export const NODE_BINDERS: Partial<Record<NodeKind, NodeBinder>> = {
  hss,
  icscf: { sip: true, bind: (c, topology) => bindIcscf(c, topology) },
  scscf: {
    sip: true,
    bind(c) {
      // Issue 8 point 2: under the runner the S-CSCF's registrations live in the data directory, so a restart
      // (stopNode/startNode, or a killed `imslab serve`) keeps every binding confirmed with a 200.
      c.bind(REGISTRATION_STORE)
        .toDynamicValue(() => new SqliteRegistrationStore(c.get<string>(TOKENS.DataDir), { node: c.get<NodeSpec>(TOKENS.NodeSpec).name, groupCommit: true }))
        .inSingletonScope();
      bindScscf(c);
    },
  },
  pcscf: { sip: true, bind: (c) => bindPcscf(c) },
  proxy: { sip: true, bind: (c, topology) => bindProxy(c, topology.subscribers) },
};

/** How a simulated UE is put into its container. */
export const UE_BINDER: ((c: Container) => void) | undefined = bindUe;
