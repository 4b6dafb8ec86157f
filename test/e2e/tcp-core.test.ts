import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTopology } from '../../src/topology/loader.js';
import type { PacketEvent } from '../../src/trace/events.js';
import { parseMessage } from '../../src/sip/parser.js';
import { isRequest } from '../../src/sip/message.js';
import { playScenario } from './helpers/play.js';

/**
 * An I-CSCF and an S-CSCF that listen on TCP only, as many operator cores run their CSCFs. Their URIs must
 * say so: a `sip:` URI without a transport parameter means UDP (RFC 3263 §4.1), so a Server-Name of
 * `sip:127.0.3.1:5060` would send the I-CSCF to a UDP port nobody listens on (TS 29.228 §6.1.1).
 */
const BASIC = join(__dirname, '../../topologies/basic.yaml');
const P = '127.0.1.1';
const I = '127.0.2.1';
const S = '127.0.3.1';
const CORE = new Set([P, I, S]);

describe('a core whose I-CSCF and S-CSCF listen on TCP only', () => {
  it('registers, calls and messages, every hop between CSCFs over TCP, their registrations from the UEs over UDP', async () => {
    const text = readFileSync(BASIC, 'utf8').replaceAll('transports: { udp: 5060, tcp: 5060 }', 'transports: { tcp: 5060 }');
    const topology = parseTopology(text, BASIC);
    const scscf = topology.nodes.find((n) => n.kind === 'scscf')!;
    expect(scscf.kind === 'scscf' && scscf.uri).toBe('sip:127.0.3.1:5060;transport=tcp');

    const { events, result, failed } = await playScenario(topology, 'default', 5);
    expect(failed).toBeUndefined();
    expect(result.steps.every((s) => s.ok)).toBe(true);

    const sip = events.filter((e): e is PacketEvent => e.type === 'packet' && e.protocol === 'sip' && e.direction === 'send');
    const between = sip.filter((e) => CORE.has(e.local.address) && CORE.has(e.remote.address));
    const methods = new Set(between.map((e) => parseMessage(e.bytes)).filter(isRequest).map((m) => m.method));
    // REGISTER P → I → S, the P-CSCF's reg-event SUBSCRIBE and its NOTIFY, the call and the MESSAGE.
    for (const m of ['REGISTER', 'SUBSCRIBE', 'NOTIFY', 'INVITE', 'ACK', 'BYE', 'MESSAGE']) expect(methods).toContain(m);
    expect(between.filter((e) => e.transport !== 'tcp').map((e) => `${e.local.address}>${e.remote.address} ${e.transport}`)).toEqual([]);
    // The UEs registered over UDP and hear their REGISTER answers there (larger requests, such as an INVITE
    // with its SDP, may still take TCP: RFC 3261 §18.1.1).
    const registerAnswers = sip.filter((e) => e.local.address === P && !CORE.has(e.remote.address) && / REGISTER\r\n/.test(e.bytes.toString('latin1')));
    expect(registerAnswers.length).toBeGreaterThanOrEqual(4);
    expect(new Set(registerAnswers.map((e) => e.transport))).toEqual(new Set(['udp']));
  }, 60_000);
});
