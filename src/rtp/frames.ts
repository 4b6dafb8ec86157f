import type { Codec } from '../sdp/codecs.js';
import { encodeAlaw, encodeMulaw, FRAME_MS, ToneSource } from './g711.js';

/**
 * 20 ms payloads for each codec a UE may negotiate. G.711 carries a real tone; for AMR-WB and opus, which
 * imslab does not encode, it sends the payloads a real terminal sends in silence, so that Wireshark still
 * decodes a well-formed stream:
 *  - AMR-WB octet-aligned (RFC 4867 §4.4): CMR = 15 (no request), one ToC entry F=0, FT = 15 (NO_DATA), Q = 1;
 *  - opus (RFC 6716 §3.1): a TOC octet for SILK wideband 20 ms mono (config 9, code 0) and no frame data,
 *    which RFC 6716 §3.2.1 defines as a lost/DTX frame.
 */
export interface PayloadSource {
  /** Timestamp units one frame advances (RFC 3550 §5.1): 160 for 8 kHz, 320 for 16 kHz, 960 for opus. */
  readonly samplesPerFrame: number;
  next(): Buffer;
}

export function createPayloadSource(codec: Codec, toneHz: number): PayloadSource {
  const samplesPerFrame = (codec.clockRate * FRAME_MS) / 1000;
  switch (codec.name) {
    case 'PCMU':
    case 'PCMA':
      return new G711Source(codec.name, new ToneSource(toneHz, codec.clockRate));
    case 'AMR-WB': {
      const frame = Buffer.from([0xf0, (15 << 3) | 0x04]);
      return { samplesPerFrame, next: () => frame };
    }
    case 'opus': {
      const frame = Buffer.from([9 << 3]);
      return { samplesPerFrame, next: () => frame };
    }
    default:
      throw new RangeError(`no payload source for ${codec.name}`);
  }
}

/** Encodes each frame of the tone once: the tone's frames repeat after at most 50 frames (see ToneSource). */
class G711Source implements PayloadSource {
  readonly samplesPerFrame: number;
  private readonly cache = new Map<Int16Array, Buffer>();

  constructor(
    private readonly law: 'PCMU' | 'PCMA',
    private readonly tone: ToneSource,
  ) {
    this.samplesPerFrame = tone.samplesPerFrame;
  }

  next(): Buffer {
    const samples = this.tone.nextFrame();
    let b = this.cache.get(samples);
    if (!b) {
      b = this.law === 'PCMU' ? encodeMulaw(samples) : encodeAlaw(samples);
      // Only cycle frames are shared arrays worth caching; one-off frames would grow the map forever.
      if (this.cache.size < 64) this.cache.set(samples, b);
    }
    return b;
  }
}
