/**
 * A simulated UE (kind 'ue'): its own SIP stack on its own loopback address, a USIM, and the IMS
 * registration client of TS 24.229 §5.1.1. The P-CSCF is its outbound proxy (§5.1.1.1: the UE knows the
 * P-CSCF address, here from the topology's directory).
 */
import 'reflect-metadata';
import { inject, injectable } from 'inversify';
import { BehaviorSubject, type Observable } from 'rxjs';
import type { Directory } from '../topology/directory.js';
import type { NetworkNode } from '../topology/network-node.js';
import type { NodeSpec } from '../topology/node-spec.js';
import { TOKENS } from '../topology/tokens.js';
import type { TraceBus } from '../trace/events.js';
import type { Clock } from '../util/clock.js';
import type { Random } from '../util/random.js';
import type { TransactionLayer } from '../sip/transaction/index.js';
import type { SipTransportLayer, TransportAddress } from '../sip/transport/types.js';
import { hostPort } from '../sip/transport/address.js';
import { UserAgent } from '../sip/ua/index.js';
import { ImsRegistration, type UeState } from './registration.js';
import { ueConfig, type UeConfig } from './settings.js';

@injectable()
export class Ue implements NetworkNode {
  readonly kind = 'ue' as const;
  readonly name: string;
  readonly config: UeConfig;
  /** The UA core, for calls and messages of later waves; undefined before start(). */
  ua: UserAgent | undefined;
  private registration: ImsRegistration | undefined;
  private started = false;
  private readonly stateSubject = new BehaviorSubject<UeState>({ state: 'idle' });

  constructor(
    @inject(TOKENS.NodeSpec) private readonly spec: NodeSpec,
    @inject(TOKENS.Clock) private readonly clock: Clock,
    @inject(TOKENS.Random) private readonly random: Random,
    @inject(TOKENS.TraceBus) private readonly trace: TraceBus,
    @inject(TOKENS.Directory) private readonly directory: Directory,
    @inject(TOKENS.Transport) private readonly transport: SipTransportLayer,
    @inject(TOKENS.Transactions) private readonly transactions: TransactionLayer,
  ) {
    this.name = spec.name;
    this.config = ueConfig(spec.name, spec.settings, random);
  }

  /** The registration state; idle until register(). */
  get state(): UeState {
    return this.stateSubject.value;
  }

  /** Every registration state change (TS 24.229 §5.1.1), current value first. */
  get state$(): Observable<UeState> {
    return this.stateSubject.asObservable();
  }

  /** The route set for requests after registration: P-CSCF then Service-Route (RFC 3608 §6). */
  get preloadedRoute(): string[] {
    return this.registration?.preloadedRoute ?? [];
  }

  async start(): Promise<void> {
    if (this.started) throw new Error(`UE ${this.name} already started`);
    this.started = true;
    const t = this.transport as SipTransportLayer & { start?: () => Promise<void> };
    if (typeof t.start === 'function' && t.listening.length === 0) await t.start();
    const { config } = this;
    const local = this.transport.localAddress(config.transport);
    const pcscf = this.directory.get(config.pcscf);
    const port = pcscf.ports[config.transport];
    if (port === undefined) throw new Error(`UE ${this.name}: P-CSCF ${config.pcscf} does not listen on ${config.transport.toUpperCase()}`);
    const outboundProxy: TransportAddress = { transport: config.transport, address: pcscf.address, port };
    const contactUri = `sip:${config.contactUser}@${hostPort(local.address, local.port)};transport=${config.transport}`;
    this.ua = new UserAgent({
      node: this.name,
      transactions: this.transactions,
      clock: this.clock,
      random: this.random,
      trace: this.trace,
      contact: contactUri,
      identity: `<${config.impu}>`,
      outboundProxy,
      resolveHost: (h) => this.directory.resolveHost(h)?.address,
      supported: ['path', 'sec-agree', 'outbound'],
      product: 'imslab-ue',
    });
    this.registration = new ImsRegistration({
      node: this.name,
      ua: this.ua,
      clock: this.clock,
      random: this.random,
      trace: this.trace,
      config,
      domain: this.spec.domain,
      contactUri,
      localPort: local.port,
      pcscfRoute: `<${this.directory.sipUri(config.pcscf, { transport: config.transport, lr: true })}>`,
      state: this.stateSubject,
    });
    this.trace.note({ node: this.name, level: 'info', text: `UE ${config.impu} (${config.impi}) up at ${contactUri}, P-CSCF ${config.pcscf}`, clause: 'TS 24.229 §5.1.1.1' });
  }

  register(): Promise<void> {
    if (!this.registration) return Promise.reject(new Error(`UE ${this.name} is not started`));
    return this.registration.register();
  }

  deregister(): Promise<void> {
    if (!this.registration) return Promise.reject(new Error(`UE ${this.name} is not started`));
    return this.registration.deregister();
  }

  async stop(): Promise<void> {
    this.registration?.close();
    this.ua?.close();
    this.transactions.close();
    await this.transport.close();
  }
}
