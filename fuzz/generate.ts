/**
 * Input number `index` of a target: a seed of the target's corpus with one to five stacked mutations, all
 * drawn from a SeededRandom keyed by (seed, target, index). Any input can therefore be rebuilt alone,
 * without replaying the ones before it: the supervisor does that to save the input a worker hung on.
 */
import { SeededRandom } from '../src/util/random.js';
import type { Mutation, MutationContext } from './mutate/bytes.js';
import { DIAMETER_MESSAGE_MUTATIONS, fixMessageLength } from './mutate/diameter.js';
import { SIP_MESSAGE_MUTATIONS, TEXT_MUTATIONS } from './mutate/sip.js';
import type { CorpusKind, FuzzTarget } from './types.js';

/**
 * SIP inputs stay within the largest message imslab's transport accepts (TransportLimits.maxMessageSize): the
 * decoders are fuzzed on what can reach them. Diameter inputs may be larger (a DiameterNode takes up to 1 MiB).
 */
export const MAX_SIP_INPUT = 65_535;

const MUTATIONS: Record<CorpusKind, readonly Mutation[]> = {
  sip: SIP_MESSAGE_MUTATIONS,
  uri: TEXT_MUTATIONS,
  sdp: TEXT_MUTATIONS,
  diameter: DIAMETER_MESSAGE_MUTATIONS,
};

export class InputGenerator {
  private readonly mutations: readonly Mutation[];

  constructor(
    private readonly seeds: readonly Buffer[],
    private readonly kind: CorpusKind,
    private readonly seed: string,
    private readonly target: string,
  ) {
    if (seeds.length === 0) throw new Error(`no ${kind} seeds for target ${target}`);
    this.mutations = MUTATIONS[kind];
  }

  input(index: number): Buffer {
    const r = new SeededRandom(`${this.seed}/${this.target}/${index}`);
    const seeds = this.seeds;
    let out = seeds[r.int(seeds.length)]!;
    // A few seeds go through unchanged: the decoders must keep accepting what is valid.
    if (r.float() < 0.03) return out;
    const ctx: MutationContext = { other: () => seeds[r.int(seeds.length)]! };
    const n = r.float() < 0.5 ? 1 : 2 + r.int(4);
    for (let i = 0; i < n; i++) out = this.mutations[r.int(this.mutations.length)]!(out, r, ctx);
    if (this.kind === 'diameter') return fixMessageLength(out, r);
    return out.length > MAX_SIP_INPUT ? out.subarray(0, MAX_SIP_INPUT) : out;
  }
}

/** The generator for a target: its corpus kind, its own seed adaptation, its name in the random key. */
export function generatorFor(target: FuzzTarget, corpus: readonly Buffer[], seed: string): InputGenerator {
  return new InputGenerator(target.seeds ? target.seeds(corpus) : corpus, target.corpus, seed, target.name);
}
