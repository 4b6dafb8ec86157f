/**
 * ITU-T G.711 companding of 16-bit linear PCM (μ-law and A-law) and a sine tone source for test calls.
 *
 * G.711 defines both laws on 14-bit (μ) and 13-bit (A) magnitudes; 16-bit input is used here and scaled,
 * so the decision levels of G.711 tables 1a/2a land on multiples of 4 (μ) and 8 (A).
 */

/** μ-law: bias 33 in 14-bit units (132 in 16-bit) makes the segments end at powers of two (G.711 §3.1). */
const MU_BIAS = 0x84;
const MU_CLIP = 32635;

export function linearToMulaw(sample: number): number {
  let s = sample | 0;
  let sign = 0;
  if (s < 0) {
    sign = 0x80;
    s = -s;
  }
  if (s > MU_CLIP) s = MU_CLIP;
  s += MU_BIAS;
  // The segment is the position of the highest set bit above bit 7 (biased values run 132..32767).
  const exponent = 31 - Math.clz32(s) - 7;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  // G.711 transmits the μ-law character with all bits inverted.
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

export function mulawToLinear(code: number): number {
  const u = ~code & 0xff;
  const exponent = (u >> 4) & 0x07;
  const magnitude = ((((u & 0x0f) << 3) + MU_BIAS) << exponent) - MU_BIAS;
  return u & 0x80 ? -magnitude : magnitude;
}

export function linearToAlaw(sample: number): number {
  let s = sample | 0;
  let sign = 0x80;
  if (s < 0) {
    sign = 0;
    // One's-complement magnitude: A-law has no code for −0, the negative range starts at −1.
    s = -s - 1;
  }
  const m = s >> 3; // 13-bit scale, 0..4095
  let code: number;
  if (m < 32) {
    code = m >> 1;
  } else {
    const segment = 31 - Math.clz32(m) - 4;
    code = (segment << 4) | ((m >> segment) & 0x0f);
  }
  // G.711 §3.2: even bits are inverted on the line (XOR 0x55).
  return (code | sign) ^ 0x55;
}

export function alawToLinear(code: number): number {
  const a = (code ^ 0x55) & 0xff;
  const segment = (a >> 4) & 0x07;
  const mantissa = a & 0x0f;
  const magnitude = segment === 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (segment - 1);
  return a & 0x80 ? magnitude : -magnitude;
}

export function encodeMulaw(samples: Int16Array, out: Buffer = Buffer.allocUnsafe(samples.length)): Buffer {
  for (let i = 0; i < samples.length; i++) out[i] = linearToMulaw(samples[i]!);
  return out;
}

export function encodeAlaw(samples: Int16Array, out: Buffer = Buffer.allocUnsafe(samples.length)): Buffer {
  for (let i = 0; i < samples.length; i++) out[i] = linearToAlaw(samples[i]!);
  return out;
}

/** Frame length of every source here: 20 ms (TS 26.114 §7.4.2; a=ptime:20). */
export const FRAME_MS = 20;

/**
 * A sine tone cut into 20 ms frames with continuous phase across frames (no click at frame edges).
 * Sample n is sin(2π·f·n/rate) computed from the integer n, so the phase does not drift over long calls;
 * for integer frequencies the frame sequence repeats after rate / gcd(f·N, rate) frames (at most 50 for
 * 20 ms frames), and that cycle is computed once.
 */
export class ToneSource {
  readonly samplesPerFrame: number;
  private n = 0;
  private readonly cycle: Int16Array[] | undefined;
  private index = 0;

  constructor(
    readonly frequencyHz: number,
    readonly sampleRate = 8000,
    /** Peak amplitude in 16-bit units; the default is about −12 dBFS. */
    readonly amplitude = 8192,
  ) {
    if (!(frequencyHz >= 0) || frequencyHz >= sampleRate / 2) throw new RangeError('tone frequency must be in [0, rate/2)');
    this.samplesPerFrame = (sampleRate * FRAME_MS) / 1000;
    if (Number.isInteger(frequencyHz) && Number.isInteger(this.samplesPerFrame)) {
      const frames = sampleRate / gcd(frequencyHz * this.samplesPerFrame, sampleRate);
      this.cycle = [];
      for (let i = 0; i < frames; i++) this.cycle.push(this.compute());
    }
  }

  /** The next frame. With a cached cycle the array is shared: read it before asking for the next one. */
  nextFrame(): Int16Array {
    if (!this.cycle) return this.compute();
    const f = this.cycle[this.index]!;
    this.index = (this.index + 1) % this.cycle.length;
    return f;
  }

  private compute(): Int16Array {
    const out = new Int16Array(this.samplesPerFrame);
    const w = (2 * Math.PI * this.frequencyHz) / this.sampleRate;
    // For integer frequencies one second is a whole number of periods, so n may be reduced modulo the
    // rate and the argument of sin stays small; otherwise n is used as is (exact up to 2^53 samples).
    const period = Number.isInteger(this.frequencyHz) ? this.sampleRate : Number.POSITIVE_INFINITY;
    for (let i = 0; i < out.length; i++, this.n++) {
      out[i] = Math.round(this.amplitude * Math.sin(w * (this.n % period)));
    }
    return out;
  }
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}
