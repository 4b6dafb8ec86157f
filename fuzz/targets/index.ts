/**
 * The targets `imslab fuzz` knows, in the order they run: the pure decoders first (fast, most inputs), then
 * the live nodes over loopback. A target is named by its module and export so that a worker thread can
 * load it on its own.
 */
import type { TargetRef } from '../types.js';

const ref = (name: string, file: string, exportName: string): TargetRef => ({
  name,
  module: new URL(file, import.meta.url).href,
  export: exportName,
});

export const TARGETS: readonly TargetRef[] = [
  ref('sip-parse', './sip.ts', 'sipParse'),
  ref('sip-framer', './sip.ts', 'sipFramer'),
  ref('sip-check', './sip.ts', 'sipCheck'),
  ref('sip-uri', './sip.ts', 'sipUri'),
  ref('sip-headers', './sip.ts', 'sipHeaders'),
  ref('sdp', './sdp.ts', 'sdpOfferAnswer'),
  ref('diameter-decode', './diameter.ts', 'diameterDecode'),
  ref('diameter-framer', './diameter.ts', 'diameterFramer'),
  ref('cx-decode', './diameter.ts', 'cxDecode'),
  ref('hss-handle', './diameter.ts', 'hssHandle'),
  ref('live-sip-udp', './live-sip.ts', 'liveSipUdp'),
  ref('live-sip-tcp', './live-sip.ts', 'liveSipTcp'),
  ref('live-diameter', './live-diameter.ts', 'liveDiameter'),
];

export function targetNames(): string[] {
  return TARGETS.map((t) => t.name);
}

/** The named targets, in registry order; throws with the known names for an unknown one. */
export function selectTargets(names: readonly string[] | undefined): TargetRef[] {
  if (!names || names.length === 0) return [...TARGETS];
  const unknown = names.filter((n) => !TARGETS.some((t) => t.name === n));
  if (unknown.length) throw new Error(`unknown target ${unknown.join(', ')} (known: ${targetNames().join(', ')})`);
  return TARGETS.filter((t) => names.includes(t.name));
}
