import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filter, firstValueFrom, take, timeout } from 'rxjs';
import type { PacketEvent, TraceBus } from '../../src/trace/events.js';

export const DOMAIN = 'ims.mnc052.mcc001.3gppnetwork.org';
export const ALICE_IMPI = `alice@${DOMAIN}`;
export const ALICE_IMPU = `sip:alice@${DOMAIN}`;

/**
 * One home network on 127.0.52.x (this folder's addresses): P-CSCF, I-CSCF, S-CSCF, HSS and one IMS AKA UE.
 * `base` is the last octet of the first node so that two tests can run side by side.
 */
export function controlTopology(base = 1, extra = ''): string {
  const a = (i: number) => `127.0.52.${base + i}`;
  return `
name: control-${base}
domains: [${DOMAIN}]
seed: 5
nodes:
  # No sec-agree: the simulated UE keeps its old Security-Verify after a de-registration (see docs/serve.md).
  - { name: pcscf1, kind: pcscf, address: ${a(0)}, transports: { udp: 25060, tcp: 25060 }, icscf: icscf1, secAgree: false }
  - { name: icscf1, kind: icscf, address: ${a(1)}, transports: { udp: 25060, tcp: 25060 }, hss: hss1, scscfs: [scscf1] }
  - { name: scscf1, kind: scscf, address: ${a(2)}, transports: { udp: 25060, tcp: 25060 }, hss: hss1, capabilities: [0] }
  - { name: hss1, kind: hss, address: ${a(3)}, transports: { diameter: 23868 } }
subscribers:
  - impi: ${ALICE_IMPI}
    impus: [${ALICE_IMPU}]
    auth: aka
    k: 465b5ce8b199b49faa5f0a2ee238a6bc
    op: cdc202d5123e20f62b6d676ac72cb318
    amf: "8000"
    sqn: 0
ues:
  - { name: alice, subscriber: ${ALICE_IMPI}, pcscf: pcscf1, address: ${a(9)}, transport: udp }
${extra}`;
}

/** A short temporary directory (a Unix socket path has at most 103 bytes). */
export function tempDir(): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), 'imsctl-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** The next packet a node sends whose text matches, or a rejection after `ms`. */
export function nextSent(bus: TraceBus, node: string, pattern: RegExp, ms = 5000): Promise<PacketEvent> {
  return firstValueFrom(
    bus.events$.pipe(
      filter((e): e is PacketEvent => e.type === 'packet' && e.node === node && e.direction === 'send' && pattern.test(e.bytes.toString('latin1'))),
      take(1),
      timeout(ms),
    ),
  );
}
