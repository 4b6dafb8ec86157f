import type { HssSettings, IcscfSettings, NodeSpec, PcscfSettings, ScscfSettings, UeSettings } from './node-spec.js';
import type { Subscriber, Topology, TopologyNode, UeSpec } from './schema.js';

/** A node's NodeSpec: the common fields plus the settings of its kind, as its binder expects them. */
export function nodeSpecOf(topology: Topology, n: TopologyNode): NodeSpec {
  const base = { name: n.name, kind: n.kind, address: n.address, ports: { ...n.transports }, domain: n.domain };
  switch (n.kind) {
    case 'pcscf': {
      const settings: PcscfSettings & { visitedNetworkId: string } = {
        icscf: n.icscf.kind === 'node' ? n.icscf.name : n.icscf.uri,
        secAgree: n.secAgree,
        visitedNetworkId: n.visitedNetworkId,
      };
      return { ...base, settings: settings as unknown as Record<string, unknown> };
    }
    case 'icscf': {
      const settings: IcscfSettings = {
        hss: n.hss,
        scscfs: n.scscfs,
        ...(n.trustedPeers ? { trustedPeers: n.trustedPeers } : {}),
        ...(topology.timers.Tc !== undefined ? { diameterTcMs: topology.timers.Tc } : {}),
      };
      return { ...base, settings: settings as unknown as Record<string, unknown> };
    }
    case 'scscf': {
      const settings: ScscfSettings = {
        hss: n.hss,
        capabilities: n.capabilities,
        serverName: n.uri,
        minExpires: n.minExpires,
        maxExpires: n.maxExpires,
        ...(n.trustedPeers ? { trustedPeers: n.trustedPeers } : {}),
        ...(topology.timers.Tc !== undefined ? { diameterTcMs: topology.timers.Tc } : {}),
      };
      return { ...base, settings: settings as unknown as Record<string, unknown> };
    }
    case 'hss': {
      const settings: HssSettings & { host: string } = { realm: n.realm, host: n.host };
      return { ...base, settings: settings as unknown as Record<string, unknown> };
    }
    default:
      return { ...base, settings: { ...n } as unknown as Record<string, unknown> };
  }
}

/** The subscriber a UE is bound to: by IMPI, or by one of its IMPUs. */
export function subscriberOf(topology: Topology, ue: UeSpec): Subscriber {
  const s =
    topology.subscribers.find((x) => x.impi === ue.subscriber) ??
    topology.subscribers.find((x) => x.impus.includes(ue.subscriber));
  if (!s) throw new Error(`UE ${ue.name}: no subscriber "${ue.subscriber}" in topology ${topology.name}`);
  return s;
}

/**
 * A UE's NodeSpec. Its USIM holds the subscriber's credentials unless the topology overrides them — which is
 * how a scenario shows a resync (an SQN behind the HSS) or a wrong K.
 */
export function ueSpecOf(topology: Topology, ue: UeSpec): NodeSpec {
  const s = subscriberOf(topology, ue);
  const impu = s.impus.includes(ue.subscriber) ? ue.subscriber : s.impus[0]!;
  const o = ue.usim ?? {};
  const sqn = o.sqn ?? s.sqn;
  const settings: UeSettings & { preconditions: boolean; answer: UeSpec['answer']; answerAfterMs: number } = {
    impi: s.impi,
    impu,
    pcscf: ue.pcscf,
    transport: ue.transport,
    secAgree: ue.secAgree,
    auth: ue.auth,
    k: o.k ?? s.k,
    op: o.opc ? undefined : (o.op ?? s.op),
    opc: o.op ? undefined : (o.opc ?? s.opc),
    amf: o.amf ?? s.amf,
    sqn: sqn.toString(16).padStart(12, '0'),
    password: s.password,
    expires: ue.expires,
    instanceId: ue.instanceId,
    preconditions: ue.preconditions,
    answer: ue.answer,
    answerAfterMs: ue.answerAfterMs,
    ...(ue.codecs ? { codecs: ue.codecs } : {}),
    ...(ue.srtp ? { srtp: true } : {}),
    ...(ue.sessionExpires !== undefined ? { sessionExpires: ue.sessionExpires } : {}),
    ...(ue.minSe !== undefined ? { minSe: ue.minSe } : {}),
    ...(ue.mediaTimeoutMs !== undefined ? { mediaTimeoutMs: ue.mediaTimeoutMs } : {}),
  };
  return {
    name: ue.name,
    kind: 'ue',
    address: ue.address,
    ports: ueListeningPorts(ue),
    domain: topology.domains[0]!,
    settings: settings as unknown as Record<string, unknown>,
  };
}

/**
 * A UE on UDP also listens on TCP at the same port: the network switches to TCP for requests over 1300 bytes
 * (RFC 3261 §18.1.1) — a full reginfo NOTIFY is one — and an IMS UE must accept them (TS 24.229 §5.1.1.1).
 */
export function ueListeningPorts(ue: UeSpec): NodeSpec['ports'] {
  return ue.transport === 'udp' ? { udp: ue.port, tcp: ue.port } : { [ue.transport]: ue.port };
}
