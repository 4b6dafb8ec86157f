import { StoreError, type SubscriberStore } from './store.js';
import {
  normaliseImpu,
  notRegistered,
  validateSubscriber,
  type Registration,
  type ScscfCapabilities,
  type Subscriber,
} from './subscriber.js';

/** The same contract as SqliteSubscriberStore, held in memory: for unit tests and benchmarks of the Cx logic. */
export class MemorySubscriberStore implements SubscriberStore {
  private subscribers = new Map<string, Subscriber>();
  private owners = new Map<string, string>();
  private registrations = new Map<string, Registration>();
  private scscfs = new Map<string, ScscfCapabilities>();

  get(impi: string): Subscriber | undefined {
    const s = this.subscribers.get(impi);
    return s ? cloneSubscriber(s) : undefined;
  }

  findImpiByImpu(impu: string): string | undefined {
    return this.owners.get(normaliseImpu(impu));
  }

  list(): Subscriber[] {
    return [...this.subscribers.keys()].sort().map((k) => cloneSubscriber(this.subscribers.get(k)!));
  }

  put(s: Subscriber): void {
    validateSubscriber(s);
    for (const p of s.impus) {
      const owner = this.owners.get(normaliseImpu(p.uri));
      if (owner !== undefined && owner !== s.impi) throw new StoreError(`public identity ${p.uri} already belongs to ${owner}`);
    }
    const keep = new Set(s.impus.map((p) => normaliseImpu(p.uri)));
    const previous = this.subscribers.get(s.impi);
    for (const p of previous?.impus ?? []) {
      const key = normaliseImpu(p.uri);
      if (!keep.has(key)) {
        this.owners.delete(key);
        this.registrations.delete(key);
      }
    }
    for (const key of keep) this.owners.set(key, s.impi);
    this.subscribers.set(s.impi, cloneSubscriber(s));
  }

  remove(impi: string): boolean {
    const s = this.subscribers.get(impi);
    if (!s) return false;
    for (const p of s.impus) {
      const key = normaliseImpu(p.uri);
      this.owners.delete(key);
      this.registrations.delete(key);
    }
    return this.subscribers.delete(impi);
  }

  nextSqn(impi: string, advance: (sqn: bigint) => bigint): bigint {
    const s = this.subscribers.get(impi);
    if (!s) throw new StoreError(`no subscriber ${impi}`);
    const next = advance(s.sqn);
    if (next < 0n || next >= 1n << 48n) throw new StoreError(`SQN 0x${next.toString(16)} does not fit in 48 bits`);
    s.sqn = next;
    return next;
  }

  setSqn(impi: string, sqn: bigint): void {
    const s = this.subscribers.get(impi);
    if (!s) throw new StoreError(`no subscriber ${impi}`);
    if (sqn < 0n || sqn >= 1n << 48n) throw new StoreError(`SQN 0x${sqn.toString(16)} does not fit in 48 bits`);
    s.sqn = sqn;
  }

  getRegistration(impu: string): Registration {
    const key = normaliseImpu(impu);
    const r = this.registrations.get(key);
    return r ? { ...r } : notRegistered(key);
  }

  setRegistrations(registrations: Registration[]): void {
    for (const r of registrations) {
      const key = normaliseImpu(r.impu);
      if (r.state === 'NOT_REGISTERED' && !r.serverName && !r.authPending) this.registrations.delete(key);
      else this.registrations.set(key, { ...r, impu: key });
    }
  }

  listRegistrations(): Registration[] {
    return [...this.registrations.values()].sort((a, b) => (a.impu < b.impu ? -1 : 1)).map((r) => ({ ...r }));
  }

  listScscfs(): ScscfCapabilities[] {
    return [...this.scscfs.values()].map((s) => ({ serverName: s.serverName, capabilities: [...s.capabilities] }));
  }

  putScscf(scscf: ScscfCapabilities): void {
    this.scscfs.set(scscf.serverName, { serverName: scscf.serverName, capabilities: [...scscf.capabilities] });
  }

  removeScscf(serverName: string): boolean {
    return this.scscfs.delete(serverName);
  }

  transaction<T>(fn: (store: SubscriberStore) => T): T {
    const snapshot = {
      subscribers: new Map([...this.subscribers].map(([k, v]) => [k, cloneSubscriber(v)])),
      owners: new Map(this.owners),
      registrations: new Map([...this.registrations].map(([k, v]) => [k, { ...v }])),
      scscfs: new Map(this.scscfs),
    };
    try {
      return fn(this);
    } catch (e) {
      Object.assign(this, snapshot);
      throw e;
    }
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  close(): void {}
}

function cloneSubscriber(s: Subscriber): Subscriber {
  return {
    ...s,
    impus: s.impus.map((p) => ({ ...p })),
    authSchemes: [...s.authSchemes],
    allowedVisitedNetworks: [...s.allowedVisitedNetworks],
    ...(s.capabilities ? { capabilities: { mandatory: [...s.capabilities.mandatory], optional: [...s.capabilities.optional] } } : {}),
  };
}
