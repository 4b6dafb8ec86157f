import 'reflect-metadata';
import type { Container } from 'inversify';
import type { Topology } from '../../topology/schema.js';
import { TOKENS } from '../../topology/tokens.js';
import { Icscf, type IcscfNodeSettings } from './icscf.js';
import { sipNodeDeps } from '../../topology/sip-node-deps.js';

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
      const deps = sipNodeDeps<IcscfNodeSettings>(container);
      let settings = deps.spec.settings;
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
      return new Icscf({ ...deps, spec: { ...deps.spec, settings } });
    })
    .inSingletonScope();
}
