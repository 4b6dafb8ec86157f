import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { TraceEvent } from '../../src/trace/events.js';
import { liveLadder, renderLadder } from '../../src/trace/ladder.js';
import { events, NODES, registrationFlow, sip } from './fixtures.js';

/** Column of the lifeline at index i in a header line. */
const col = (header: string, name: string) => header.indexOf(name);

describe('text ladder', () => {
  const text = renderLadder(registrationFlow(), { nodes: NODES, format: 'text', width: 100 });
  const lines = text.split('\n');

  it('has a header of node columns and their addresses, in the given order', () => {
    expect(lines[0]).toMatch(/^\s+t \(ms\)\s+alice\s+pcscf1\s+icscf1\s+scscf1\s+hss1$/);
    expect(lines[1]).toMatch(/127\.0\.10\.1\s+127\.0\.1\.1\s+127\.0\.2\.1\s+127\.0\.3\.1\s+127\.0\.4\.1$/);
    expect(lines.every((l) => l.length <= 100)).toBe(true);
  });

  it('draws each message once, from sender column to receiver column, with time, summary and reason', () => {
    const arrows = lines.filter((l) => /^\s+\d+(\.\d)?\s+\|/.test(l));
    // 10 SIP/Diameter messages, each recorded as send + recv: drawn once.
    expect(arrows).toHaveLength(10);
    const h = lines[0]!;
    const first = arrows[0]!;
    expect(first.trimStart().startsWith('0 ')).toBe(true);
    // alice → pcscf1: the arrow head sits just left of pcscf1's lifeline.
    expect(first[col(h, 'pcscf1') - 1]).toBe('>');
    expect(first.slice(col(h, 'alice'), col(h, 'pcscf1') + 1)).toMatch(/^\|-+>\|$/);
    expect(first).toContain('REGISTER sip:ims.mnc001');
    const uaa = arrows.find((l) => l.includes('UAA 2001 FIRST_REGISTRATION'))!;
    expect(uaa[col(h, 'icscf1') + 1]).toBe('<');
    expect(uaa).toContain('[tcp]');
    const last = arrows[arrows.length - 1]!;
    expect(last.trimStart().startsWith('9 ')).toBe(true);
    expect(last.slice(col(h, 'alice'), col(h, 'pcscf1') + 1)).toMatch(/^\|<- 401 -*\|$/);
  });

  it('puts the explanations in flow order, each under its message', () => {
    const order = [
      'TS 24.229 §5.1.1.2.1', 'TS 24.229 §5.2.2.1', 'TS 29.228 §6.1.1', 'TS 29.229 §6.2', 'TS 24.229 §5.3.1.2',
      'AKA vector requested for alice', 'TS 29.228 §6.3', 'TS 24.229 §5.4.1.2.1', 'TS 33.203 §7.1',
    ];
    let at = 0;
    for (const s of order) {
      const i = text.indexOf(s, at);
      expect(i, s).toBeGreaterThan(at);
      at = i;
    }
    expect(text).toMatch(/\n\s+5\s+\* \[scscf1\] AKA vector requested for alice \(TS 33\.203 §6\.1\)\n/);
  });

  it('gives an outside UE (only its receiver reports) a column of its own', () => {
    const ev = events([
      { from: '127.0.0.99', to: 'pcscf1', outside: true, bytes: sip('OPTIONS sip:pcscf1 SIP/2.0', [['CSeq', '1 OPTIONS']]) },
      { from: 'pcscf1', to: '127.0.0.99', bytes: sip('SIP/2.0 200 OK', [['CSeq', '1 OPTIONS']]) },
    ]);
    const t = renderLadder(ev, { nodes: NODES.slice(1, 3), format: 'text' }).split('\n');
    expect(t[0]).toMatch(/pcscf1\s+icscf1\s+127\.0\.0\.99$/);
    const rows = t.filter((l) => l.includes('|'));
    expect(rows).toHaveLength(2);
    // From the outside column (right) to pcscf1 (left), across icscf1's lifeline.
    expect(rows[0]).toMatch(/^\s+0\s+\|<- OPTIONS -+\|\s+OPTIONS sip:pcscf1$/);
    expect(rows[1]).toMatch(/^\s+0\.8\s+\|- 200 -+>\|\s+200 OK$/);
  });
});

describe('mermaid ladder', () => {
  it('declares participants and draws requests ->> and answers -->> with notes', () => {
    const m = renderLadder(registrationFlow(), { nodes: NODES, format: 'mermaid' }).split('\n');
    expect(m[0]).toBe('sequenceDiagram');
    expect(m[1]).toBe('    participant alice as alice<br/>127.0.10.1');
    expect(m[6]).toBe('    alice->>pcscf1: REGISTER sip:ims.mnc001.mcc001.3gppnetwork.org');
    expect(m[7]).toMatch(/^ {4}Note over alice,pcscf1: The UE asks to register .*#59; .*\(TS 24\.229 §5\.1\.1\.2\.1#59; TS 24\.228 §6\.2\)$/);
    expect(m).toContain('    hss1-->>icscf1: UAA 2001 FIRST_REGISTRATION');
    expect(m).toContain('    Note over scscf1: AKA vector requested for alice (TS 33.203 §6.1)');
    expect(m.filter((l) => /->>|-->>/.test(l))).toHaveLength(10);
  });
});

describe('live ladder', () => {
  it('prints the header, then rows as events arrive', () => {
    const s = new Subject<TraceEvent>();
    const out: string[] = [];
    const sub = liveLadder(s, { nodes: NODES, explain: false }, (l) => out.push(l));
    expect(out).toHaveLength(1);
    const ev = registrationFlow();
    s.next(ev[0]!);
    s.next(ev[1]!); // the matching recv: no new row
    expect(out).toHaveLength(2);
    expect(out[1]).toContain('REGISTER sip:ims');
    sub.unsubscribe();
  });
});
