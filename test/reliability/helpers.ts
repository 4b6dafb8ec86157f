import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filter, firstValueFrom, take, timeout } from 'rxjs';
import type { NoteEvent, TraceBus } from '../../src/trace/events.js';

export const DOMAIN = 'ims.mnc053.mcc001.3gppnetwork.org';
export const impiOf = (user: string) => `${user}@${DOMAIN}`;
export const impuOf = (user: string) => `sip:${user}@${DOMAIN}`;

const K = ['465b5ce8b199b49faa5f0a2ee238a6bc', '0396eb317b6d1c36f19c1c84cd6ffd16'];
const OP = ['cdc202d5123e20f62b6d676ac72cb318', 'ff53bade17df5d4e793073ce9d7579fa'];

/**
 * One home network on 127.0.53.x (this folder's addresses): P-CSCF, I-CSCF, S-CSCF, HSS and IMS AKA UEs
 * alice and bob. `base` is the last octet of the first node so that tests can run side by side.
 */
export function reliabilityTopology(base: number, options: { pcscf?: string; ue?: string; extra?: string; secAgree?: boolean } = {}): string {
  const a = (i: number) => `127.0.53.${base + i}`;
  const subscriber = (user: string, i: number) => `
  - impi: ${impiOf(user)}
    impus: [${impuOf(user)}]
    auth: aka
    k: ${K[i]}
    op: ${OP[i]}
    amf: "8000"
    sqn: 0`;
  return `
name: reliability-${base}
domains: [${DOMAIN}]
seed: 8
nodes:
  - { name: pcscf1, kind: pcscf, address: ${a(0)}, transports: { udp: 25060, tcp: 25060 }, icscf: icscf1, secAgree: ${options.secAgree ?? false}${options.pcscf ?? ''} }
  - { name: icscf1, kind: icscf, address: ${a(1)}, transports: { udp: 25060, tcp: 25060 }, hss: hss1, scscfs: [scscf1] }
  - { name: scscf1, kind: scscf, address: ${a(2)}, transports: { udp: 25060, tcp: 25060 }, hss: hss1, capabilities: [0] }
  - { name: hss1, kind: hss, address: ${a(3)}, transports: { diameter: 23868 } }
subscribers:${subscriber('alice', 0)}${subscriber('bob', 1)}
ues:
  - { name: alice, subscriber: ${impiOf('alice')}, pcscf: pcscf1, address: ${a(8)}, port: 25060, transport: udp${options.ue ?? ''} }
  - { name: bob, subscriber: ${impiOf('bob')}, pcscf: pcscf1, address: ${a(9)}, port: 25060, transport: udp${options.ue ?? ''} }
${options.extra ?? ''}`;
}

/** A short temporary directory (a Unix socket path has at most 103 bytes). */
export function tempDir(prefix = 'imsrel-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** The next note of a node whose text matches, or a rejection after `ms`. */
export function nextNote(bus: TraceBus, node: string, pattern: RegExp, ms = 5000): Promise<NoteEvent> {
  return firstValueFrom(
    bus.events$.pipe(
      filter((e): e is NoteEvent => e.type === 'note' && e.node === node && pattern.test(e.text)),
      take(1),
      timeout(ms),
    ),
  );
}
