/**
 * Where a UE's media lives: its own RTP port range and its own tone. UEs share one host (often one address
 * in hand-made topologies), so each takes a disjoint block of 100 ports (50 RTP/RTCP pairs, RFC 3550 §11),
 * and each sends a different frequency so that a capture played back tells the two directions apart.
 * Pure: the UE's position among the topology's UEs decides both, so a seeded run is reproducible.
 */
import type { PortRange } from '../rtp/ports.js';

export const RTP_BASE_PORT = 40000;
export const RTP_PORTS_PER_UE = 100;
/** Blocks of 100 from 40000 up to 65499. */
const BLOCKS = Math.floor((65535 - RTP_BASE_PORT + 1) / RTP_PORTS_PER_UE);
/** A4, E5, A5, … : consonant steps so that a two-party call sounds like two voices. */
const TONES_HZ = [440, 660, 880, 550, 770, 990, 330, 1100] as const;

export interface MediaPlan {
  ports: PortRange;
  toneHz: number;
}

/**
 * The plan of the UE at `index` among the topology's UEs (0 = first). A UE that is not in the list (-1, a
 * hand-built test) gets a block from a hash of its name.
 */
export function mediaPlan(name: string, index: number): MediaPlan {
  const slot = index >= 0 ? index : hashName(name);
  const block = slot % BLOCKS;
  const min = RTP_BASE_PORT + RTP_PORTS_PER_UE * block;
  return { ports: { min, max: min + RTP_PORTS_PER_UE - 1 }, toneHz: TONES_HZ[slot % TONES_HZ.length]! };
}

function hashName(name: string): number {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619) >>> 0;
  return h;
}
