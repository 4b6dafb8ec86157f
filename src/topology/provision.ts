import { readFileSync } from 'node:fs';
import type { SubscriberStore } from '../hss/store.js';
import { importSubscriberCsv, parseSubscriberCsv } from '../hss/csv.js';
import { normaliseImpu, validateSubscriber, type AuthScheme, type Subscriber } from '../hss/subscriber.js';
import type { Subscriber as TopologySubscriber, Topology } from './schema.js';

const SCHEMES: Record<TopologySubscriber['schemes'][number], AuthScheme[]> = {
  aka: ['AKAv1-MD5', 'AKAv2-MD5'],
  digest: ['SIP Digest'],
};

/** A topology's subscriber as the HSS stores it. */
export function toHssSubscriber(s: TopologySubscriber): Subscriber {
  const hex = (v: string | undefined) => (v === undefined ? undefined : Buffer.from(v, 'hex'));
  const barred = new Set(s.barred.map(normaliseImpu));
  return {
    impi: s.impi,
    impus: s.impus.map((uri) => ({ uri, barred: barred.has(normaliseImpu(uri)) })),
    authSchemes: [...new Set(s.schemes.flatMap((x) => SCHEMES[x]))],
    ...(s.k ? { k: hex(s.k) } : {}),
    ...(s.op ? { op: hex(s.op) } : {}),
    ...(s.opc ? { opc: hex(s.opc) } : {}),
    amf: Buffer.from(s.amf, 'hex'),
    sqn: BigInt(s.sqn),
    ...(s.password !== undefined ? { password: s.password } : {}),
    allowedVisitedNetworks: [],
  };
}

/**
 * Puts the topology's subscribers (inline and from its CSV) and the S-CSCF capability table into the HSS
 * store, in one transaction: a bad entry changes nothing. A subscriber already stored keeps its SQN, which is
 * newer than the file's (TS 33.102 §6.3.2: the HSS's counter only moves forward).
 */
export function provisionHss(store: SubscriberStore, topology: Topology): number {
  // A subscriber marked `provisioned: false` stays out of the HSS: its UE stands for an unknown IMPI.
  const subscribers = topology.subscribers.filter((s) => s.provisioned !== false).map(toHssSubscriber);
  if (topology.subscribersCsv) {
    subscribers.push(...parseSubscriberCsv(readFileSync(topology.subscribersCsv, 'utf8'), topology.subscribersCsv));
  }
  for (const s of subscribers) validateSubscriber(s);
  store.transaction((tx) => {
    for (const s of subscribers) {
      const existing = tx.get(s.impi);
      tx.put(existing && existing.sqn > s.sqn ? { ...s, sqn: existing.sqn } : s);
    }
    for (const n of topology.nodes) {
      if (n.kind === 'scscf') tx.putScscf({ serverName: n.uri, capabilities: n.capabilities });
    }
  });
  return subscribers.length;
}

/** `imslab serve --subscribers FILE.csv`: imports into the running HSS's store, all or nothing. */
export function provisionCsv(run: { nodes: Map<string, unknown> }, file: string): number {
  const hss = [...run.nodes.values()].find((n): n is { kind: 'hss'; store: SubscriberStore } => (n as { kind?: string }).kind === 'hss');
  if (!hss) throw new Error('the topology has no HSS to import subscribers into');
  return importSubscriberCsv(hss.store, readFileSync(file, 'utf8'), file).length;
}
