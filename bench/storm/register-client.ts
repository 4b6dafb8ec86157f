/**
 * The load generator of the registration storm: one process acting for many IMS AKA subscribers. It speaks
 * SIP through the project's own stack (TransportLayer → TransactionLayer → UserAgent, one UDP socket per
 * loopback address) rather than through one simulated Ue per user, whose containers, RTP port blocks and
 * reg-event subscriptions would load the generator more than the core.
 *
 * Each attempt is the initial registration of TS 24.228 §6.2 / TS 24.229 §5.1.1.2: REGISTER with an empty
 * Authorization and a Security-Client (RFC 3329 §2.3.1), the 401 answered as a UE does — the USIM verifies
 * AUTN (MAC and SQN freshness, TS 33.102 §6.3.3) before RES is used as the digest password (RFC 3310 §3.3) —
 * with Security-Verify echoing the Security-Server, then the 200. Nothing is precomputed.
 */
import { Usim } from '../../src/aka/usim.js';
import { parseChallenge } from '../../src/sip/headers/auth.js';
import { formatSecurityMechanism } from '../../src/sip/headers/security.js';
import { TransactionLayer } from '../../src/sip/transaction/index.js';
import { TransportLayer } from '../../src/sip/transport/layer.js';
import { UserAgent, type ChallengeAnswer } from '../../src/sip/ua/index.js';
import { TraceBus } from '../../src/trace/events.js';
import { answerChallenge, initialAuthorization } from '../../src/ue/credentials.js';
import { SystemClock, type Clock } from '../../src/util/clock.js';
import { SeededRandom } from '../../src/util/random.js';
import type { StormSubscriber } from './topology.js';

export interface RegisterOutcome {
  ok: boolean;
  /** First REGISTER handed to the transaction layer → final response received (ms). */
  latencyMs: number;
  status: number;
  /** Why it failed, when it did. */
  reason?: string;
  /** The Service-Route of the 200 (RFC 3608 §6): after the P-CSCF, the preloaded route of the UE's requests. */
  serviceRoute?: string[];
}

export interface RegisterClientOptions {
  /** Loopback addresses to bind, one UDP socket each (ephemeral port). */
  addresses: readonly string[];
  pcscf: { address: string; port: number };
  domain: string;
  seed?: number;
  clock?: Clock;
}

/** One UDP socket with its transaction layer and UA core: what a storm subscriber sends and receives through. */
export interface StormEndpoint {
  transport: TransportLayer;
  transactions: TransactionLayer;
  ua: UserAgent;
  address: string;
  port: number;
}

/** Opens a storm endpoint on `address` (ephemeral UDP port), with the P-CSCF as outbound proxy (RFC 3261 §8.1.2). */
export async function openStormEndpoint(o: { name: string; address: string; pcscf: { address: string; port: number }; clock: Clock; random: SeededRandom; trace: TraceBus; user?: string }): Promise<StormEndpoint> {
  const { name, address, clock, random, trace } = o;
  const transport = new TransportLayer({ node: name, address, ports: { udp: 0 }, trace, clock, random: random.fork('transport') });
  await transport.start();
  const transactions = new TransactionLayer(transport, clock, random.fork('transactions'), { trace, node: name });
  const port = transport.localAddress('udp').port;
  const ua = new UserAgent({
    node: name,
    transactions,
    clock,
    random,
    trace,
    contact: `sip:${o.user ?? 'storm'}@${address}:${port}`,
    outboundProxy: { transport: 'udp', address: o.pcscf.address, port: o.pcscf.port },
    supported: ['path', 'sec-agree'],
    product: 'imslab-storm',
  });
  return { transport, transactions, ua, address, port };
}

export async function closeStormEndpoint(ep: StormEndpoint): Promise<void> {
  ep.ua.close();
  ep.transactions.close();
  await ep.transport.close();
}

export class RegisterStormClient {
  private readonly endpoints: StormEndpoint[] = [];
  private readonly clock: Clock;
  private readonly random: SeededRandom;
  private next = 0;
  private closed = false;

  constructor(private readonly options: RegisterClientOptions) {
    this.clock = options.clock ?? new SystemClock();
    this.random = new SeededRandom(options.seed ?? 11);
  }

  async start(): Promise<void> {
    // An unobserved bus costs a counter per packet: the generator reports like every node, at no price.
    const trace = new TraceBus(this.clock);
    for (const address of this.options.addresses) {
      const name = `storm-${address}`;
      this.endpoints.push(await openStormEndpoint({ name, address, pcscf: this.options.pcscf, clock: this.clock, random: this.random.fork(name), trace }));
    }
  }

  /** One initial registration of `sub`, from the next socket in turn. Never rejects: a failure is an outcome. */
  async register(sub: StormSubscriber, expires = 600_000): Promise<RegisterOutcome> {
    if (this.closed || this.endpoints.length === 0) return { ok: false, latencyMs: 0, status: 0, reason: 'the storm client is not running' };
    return registerAt(this.endpoints[this.next++ % this.endpoints.length]!, sub, { domain: this.options.domain, random: this.random, expires });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.endpoints.map((ep) => closeStormEndpoint(ep)));
    this.endpoints.length = 0;
  }
}

/** One initial registration of `sub` from `ep` (see the file comment). Never rejects: a failure is an outcome. */
export async function registerAt(ep: StormEndpoint, sub: StormSubscriber, o: { domain: string; random: SeededRandom; expires?: number }): Promise<RegisterOutcome> {
  const started = performance.now();
  const expires = o.expires ?? 600_000;
  const fail = (status: number, reason: string): RegisterOutcome => ({ ok: false, latencyMs: performance.now() - started, status, reason });
  const { ua } = ep;
  const user = sub.impi.slice(0, sub.impi.indexOf('@'));
  const uri = `sip:${o.domain}`;
  // TS 33.203 §7.1: the UE's SPIs; unique per subscriber so that the P-CSCF's SAs (address + SPIs) do not clash.
  const spi = () => 256 + o.random.int(0xffffff00);
  const securityClient = formatSecurityMechanism({
    mechanism: 'ipsec-3gpp',
    params: new Map([
      ['alg', 'hmac-sha-1-96'],
      ['ealg', 'null'],
      ['spi-c', String(spi())],
      ['spi-s', String(spi())],
      ['port-c', String(ep.port)],
      ['port-s', String(ep.port)],
    ]),
  });
  const usim = new Usim({ k: sub.k, opc: sub.opc });
  let refused: string | undefined;
  const request = ua.createRequest('REGISTER', uri, {
    from: `<${sub.impu}>`,
    to: `<${sub.impu}>`,
    cseq: 1,
    contact: `<sip:${user}@${ep.address}:${ep.port}>;expires=${Math.round(expires / 1000)}`,
    headers: [
      ['Expires', String(Math.round(expires / 1000))],
      ['Authorization', initialAuthorization({ impi: sub.impi, uri }, o.domain)],
      ['Security-Client', securityClient],
      ['Require', 'sec-agree'],
      ['Proxy-Require', 'sec-agree'],
      ['Supported', 'path, sec-agree'],
    ],
  });
  try {
    const result = await ua.send(request, {
      maxChallenges: 1,
      onChallenge: (response, sent): ChallengeAnswer | undefined => {
        const server = response.headers.list('Security-Server');
        const value = response.headers.get('WWW-Authenticate');
        if (server.length === 0 || value === undefined) {
          refused = `${response.status} without ${value === undefined ? 'WWW-Authenticate' : 'Security-Server'}`;
          return undefined;
        }
        const verdict = answerChallenge(parseChallenge(value), { impi: sub.impi, uri: sent.uri }, 'REGISTER', { usim }, o.random.token(16));
        if (verdict.kind !== 'answer') {
          refused = verdict.kind === 'reject' ? verdict.reason : 'the USIM asked for resynchronisation';
          return undefined;
        }
        return { headers: { Authorization: verdict.authorization, 'Security-Verify': server.join(', ') } };
      },
    });
    const status = result.response.status;
    if (status >= 200 && status < 300) return { ok: true, latencyMs: performance.now() - started, status, serviceRoute: result.response.headers.list('Service-Route') };
    return fail(status, refused ?? `${status} ${result.response.reason}`);
  } catch (err) {
    return fail(0, (err as Error).message);
  }
}
