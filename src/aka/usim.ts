import { timingSafeEqual } from 'node:crypto';
import { AkaInputError, requireLength } from './bytes.js';
import { Milenage, computeOpc } from './milenage.js';
import { computeAuts } from './resync.js';
import { SqnTracker, type SqnPolicy, type SqnTrackerState } from './sqn.js';
import { parseAutn } from './vector.js';

export interface UsimOptions extends SqnPolicy {
  k: Buffer;
  op?: Buffer;
  opc?: Buffer;
  /**
   * The AMF this card expects. Left out (the TS 33.102 behaviour), MAC-A is checked over the AMF carried in AUTN.
   * Set, MAC-A is checked over this AMF instead, as SIPp's aka_AMF does: a network using another AMF then fails.
   */
  amf?: Buffer;
  /** The saved SEQ_MS array (SqnTracker.toJSON()), so that a UE keeps its freshness state across runs. */
  sqnState?: SqnTrackerState;
}

export type UsimResult =
  | { ok: true; res: Buffer; ck: Buffer; ik: Buffer; sqn: Buffer }
  | { ok: false; cause: 'mac-failure' }
  | { ok: false; cause: 'sync-failure'; auts: Buffer; sqnMs: Buffer };

/** The USIM side of AKA (TS 33.102 §6.3.3): verify AUTN, check SQN freshness, answer RES/CK/IK or AUTS. */
export class Usim {
  readonly sqn: SqnTracker;
  private readonly milenage: Milenage;
  private readonly amf: Buffer | undefined;

  constructor(options: UsimOptions) {
    if (options.op && options.opc) throw new AkaInputError('OP/OPc', 'give either OP or OPc, not both');
    if (!options.op && !options.opc) throw new AkaInputError('OP/OPc', 'one of OP or OPc is required');
    const opc = options.opc ?? computeOpc(options.k, options.op!);
    this.milenage = new Milenage(options.k, opc);
    this.amf = options.amf ? requireLength('AMF', options.amf, 2) : undefined;
    this.sqn = new SqnTracker({
      ...(options.indBits !== undefined ? { indBits: options.indBits } : {}),
      ...(options.delta !== undefined ? { delta: options.delta } : {}),
      ...(options.limit !== undefined ? { limit: options.limit } : {}),
      ...(options.sqnState ? { state: options.sqnState } : {}),
    });
  }

  get opc(): Buffer {
    return this.milenage.opc;
  }

  /**
   * TS 33.102 §6.3.3: compute AK, unmask SQN, check XMAC = MAC (else MAC failure, §6.3.3 "user authentication
   * reject"), then SQN freshness (else synchronisation failure with AUTS, §6.3.5). Only a fully accepted
   * challenge changes the SEQ_MS array; a rejected one changes nothing.
   */
  authenticate(rand: Buffer, autn: Buffer): UsimResult {
    requireLength('RAND', rand, 16);
    const fields = parseAutn(autn);
    const { res, ck, ik, ak } = this.milenage.f2345(rand);
    const sqn = Buffer.allocUnsafe(6);
    for (let i = 0; i < 6; i++) sqn[i] = fields.sqnXorAk[i]! ^ ak[i]!;
    const { macA: xmac } = this.milenage.f1(rand, sqn, this.amf ?? fields.amf);
    if (!timingSafeEqual(xmac, fields.macA)) return { ok: false, cause: 'mac-failure' };
    const verdict = this.sqn.check(sqn);
    if (!verdict.fresh) {
      const sqnMs = this.sqn.highestSqn();
      return { ok: false, cause: 'sync-failure', auts: computeAuts({ k: this.milenage.k, opc: this.opc, rand, sqnMs, milenage: this.milenage }), sqnMs };
    }
    this.sqn.accept(sqn);
    return { ok: true, res, ck, ik, sqn };
  }

  /** The state to persist (C.2.2 array of SEQ_MS). */
  sqnState(): SqnTrackerState {
    return this.sqn.toJSON();
  }
}
