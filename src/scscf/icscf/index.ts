import 'reflect-metadata';
import type { Container } from 'inversify';
import type { TransactionLayer } from '../../sip/transaction/layer.js';
import type { TransportLayer } from '../../sip/transport/layer.js';
import type { Directory } from '../../topology/directory.js';
import type { NodeSpec } from '../../topology/node-spec.js';
import type { Topology } from '../../topology/schema.js';
import { TOKENS } from '../../topology/tokens.js';
import type { TraceBus } from '../../trace/events.js';
import type { Clock } from '../../util/clock.js';
import type { Random } from '../../util/random.js';
import { Icscf, type IcscfNodeSettings } from './icscf.js';

export { Icscf, isDeregistration, type IcscfNodeSettings, type IcscfDeps } from './icscf.js';
export { selectScscfs, resolveServerName, uaaRefusal, derivePrivateIdentity, type ScscfCandidate, type Refusal } from './selection.js';

/**
 * Puts an I-CSCF into a node container. With the topology (the runner's NodeBinder passes it), the
 * capabilities and Server-Names of its S-CSCFs are taken from there for the selection of TS 29.228 §6.7.
 */
export function bindIcscf(container: Container, topology?: Topology): void {
  container
    .bind(TOKENS.Node)
    .toDynamicValue(() => {
      const spec = container.get<NodeSpec<IcscfNodeSettings>>(TOKENS.NodeSpec);
      let settings = spec.settings;
      if (topology) {
        const scscfCapabilities: Record<string, number[]> = { ...(settings.scscfCapabilities ?? {}) };
        const scscfServerNames: Record<string, string> = { ...(settings.scscfServerNames ?? {}) };
        for (const n of topology.nodes) {
          if (n.kind !== 'scscf') continue;
          scscfCapabilities[n.name] ??= n.capabilities;
          scscfServerNames[n.name] ??= n.uri;
        }
        settings = { ...settings, scscfCapabilities, scscfServerNames };
      }
      return new Icscf({
        spec: { ...spec, settings },
        clock: container.get<Clock>(TOKENS.Clock),
        random: container.get<Random>(TOKENS.Random),
        trace: container.get<TraceBus>(TOKENS.TraceBus),
        directory: container.get<Directory>(TOKENS.Directory),
        transport: container.get<TransportLayer>(TOKENS.Transport),
        transactions: container.get<TransactionLayer>(TOKENS.Transactions),
      });
    })
    .inSingletonScope();
}
