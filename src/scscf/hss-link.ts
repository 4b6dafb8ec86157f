import { CxClient } from '../diameter/cx/client.js';
import { DiameterNode } from '../diameter/node.js';
import type { DiameterConnection } from '../diameter/peer.js';
import type { Directory } from '../topology/directory.js';
import type { NodeSpec } from '../topology/node-spec.js';
import type { TraceBus } from '../trace/events.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Random } from '../util/random.js';

/** The HSS could not be asked: no connection, no CEA, or no answer within the request timeout. */
export class HssUnavailableError extends Error {
  override readonly name = 'HssUnavailableError';
}

export interface HssLinkOptions {
  spec: Pick<NodeSpec, 'name' | 'domain' | 'address' | 'ports'>;
  directory: Directory;
  clock: Clock;
  random: Random;
  trace: TraceBus;
  /** The HSS node's name in the directory (settings.hss). */
  hss: string;
  /** How long a Cx request waits for its answer (default 5 s, the Diameter request timeout). */
  requestTimeoutMs?: number;
  /** Tc of RFC 6733 §5.1 / RFC 3539 §3.4.1: how long after a lost connection to try again (default 30 s). */
  reconnectIntervalMs?: number;
}

/** RFC 6733 §12: "Tc timer ... recommended value is 30 seconds". */
export const DEFAULT_TC_MS = 30_000;

/**
 * A CSCF's Diameter side toward the HSS (TS 29.228 §5, Cx over TCP per TS 29.229 §5): a Diameter node with
 * the CSCF's identity (Origin-Host = its FQDN, Origin-Realm = its domain, contract "Diameter identities"),
 * bound to the CSCF's own address so captures read right, and one connection to the HSS opened on first use
 * and re-opened after a failure. The HSS sends RTR and PPR back over that same connection, so a lost
 * connection is not left for the next MAR/SAR to notice: the Tc timer (RFC 6733 §5.1, RFC 3539 §3.4.1
 * "reopen") re-establishes it (CER/CEA) on its own, every Tc until the HSS answers again.
 */
export class HssLink {
  readonly diameter: DiameterNode;
  private connection: DiameterConnection | undefined;
  private client: { connection: DiameterConnection; cx: CxClient } | undefined;
  private connecting: Promise<DiameterConnection> | undefined;
  private closed = false;
  private reconnectTimer: TimerHandle | undefined;
  readonly reconnectIntervalMs: number;

  constructor(private readonly options: HssLinkOptions) {
    const { spec } = options;
    this.diameter = new DiameterNode({
      name: spec.name,
      originHost: `${spec.name}.${spec.domain}`.toLowerCase(),
      originRealm: spec.domain,
      address: spec.address,
      ...(spec.ports.diameter !== undefined ? { port: spec.ports.diameter } : {}),
      clock: options.clock,
      random: options.random,
      trace: options.trace,
      ...(options.requestTimeoutMs !== undefined ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
    });
    const tc = options.reconnectIntervalMs ?? DEFAULT_TC_MS;
    if (!Number.isFinite(tc) || tc <= 0) throw new RangeError(`reconnectIntervalMs ${tc}: Tc must be a positive duration`);
    this.reconnectIntervalMs = tc;
  }

  /** True while a connection to the HSS is Open. */
  get connected(): boolean {
    return this.connection?.state === 'Open';
  }

  get originHost(): string {
    return this.diameter.identity.originHost;
  }

  /** Listens for Diameter too when the node has a Diameter port (a real S-CSCF does; the HSS may connect). */
  async start(): Promise<void> {
    if (this.options.spec.ports.diameter !== undefined) await this.diameter.listen();
  }

  /** A Cx client on an Open connection to the HSS; throws HssUnavailableError when there is none to be had. */
  async cx(): Promise<CxClient> {
    if (this.closed) throw new HssUnavailableError('the node is stopping');
    const open = this.connection;
    // Every MAR and SAR asks: the client of the connection that is Open is kept, not made anew each time.
    if (open !== undefined && open.state === 'Open' && this.client?.connection === open) return this.client.cx;
    const conn = await this.open();
    const cx = new CxClient(this.diameter, conn);
    this.client = { connection: conn, cx };
    return cx;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.reconnectTimer?.cancel();
    this.reconnectTimer = undefined;
    await this.diameter.close();
  }

  private async open(): Promise<DiameterConnection> {
    if (this.connection && this.connection.state === 'Open') return this.connection;
    if (!this.connecting) {
      const hss = this.options.directory.find(this.options.hss);
      if (!hss) throw new HssUnavailableError(`no node named "${this.options.hss}" in the directory`);
      const port = hss.ports.diameter ?? 3868;
      this.connecting = this.diameter.connect(hss.address, port).then(
        (c) => {
          this.connection = c;
          this.connecting = undefined;
          this.reconnectTimer?.cancel();
          this.reconnectTimer = undefined;
          void c.closed.then(() => this.lost(c));
          return c;
        },
        (e: Error) => {
          this.connecting = undefined;
          throw new HssUnavailableError(`no Diameter connection to ${this.options.hss} (${hss.address}:${port}): ${e.message}`);
        },
      );
    }
    return this.connecting;
  }

  /**
   * The connection to the HSS closed. RFC 6733 §5.1: a node "MUST attempt to establish a connection" to a
   * peer it is configured with, retrying every Tc. Except when the HSS said DO_NOT_WANT_TO_TALK_TO_YOU
   * (§5.4.3: it expects no messages soon): then the next Cx request opens it again, as before.
   */
  private lost(conn: DiameterConnection): void {
    if (this.closed || this.connection !== conn) return;
    this.connection = undefined;
    if (conn.closeReason?.includes('DO_NOT_WANT_TO_TALK_TO_YOU')) return;
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    this.reconnectTimer = this.options.clock.setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.closed || this.connected) return;
      this.open().then(
        () => this.options.trace.note({ node: this.options.spec.name, level: 'info', text: `Diameter connection to ${this.options.hss} re-established after Tc (RFC 6733 §5.1)` }),
        (e: Error) => {
          if (this.closed) return;
          this.options.trace.note({ node: this.options.spec.name, level: 'warn', text: `${e.message}; trying again in ${this.reconnectIntervalMs} ms (Tc, RFC 6733 §5.1)` });
          this.scheduleReconnect();
        },
      );
    }, this.reconnectIntervalMs);
  }
}
