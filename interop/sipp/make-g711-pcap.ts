/**
 * Writes a G.711 RTP stream as a libpcap file for SIPp's `<exec play_pcap_audio="…"/>`, made with imslab's own
 * encoder: the tone a simulated UE sends (src/rtp ToneSource → μ-law/A-law, RFC 3551 §4.5.14), packed as RTP
 * (RFC 3550 §5.1: marker bit on the first packet, sequence +1 and timestamp +160 per 20 ms frame) and written
 * with the trace's pcap encoder (Ethernet/IPv4/UDP with correct checksums).
 *
 * SIPp replays the UDP payloads with the file's timing from its own media address and port towards the
 * address and port of the SDP it received; the addresses in the file are placeholders (RFC 5737 documentation
 * addresses would do; loopback keeps the file readable by tshark's loopback filters).
 *
 * Usage: npx tsx interop/sipp/make-g711-pcap.ts [--seconds 2] [--codec PCMU|PCMA] [--tone 1000] [--out g711-pcmu.pcap]
 */
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { CODEC_TABLE, type Codec } from '../../src/sdp/codecs.js';
import { createPayloadSource } from '../../src/rtp/frames.js';
import { FRAME_MS } from '../../src/rtp/g711.js';
import { encodeRtp } from '../../src/rtp/packet.js';
import type { PacketEvent } from '../../src/trace/events.js';
import { eventsToPcap } from '../../src/trace/pcap.js';

export interface G711PcapOptions {
  /** Length of the stream; 20 ms per packet. */
  seconds?: number;
  codec?: 'PCMU' | 'PCMA';
  /** Frequency of the tone, Hz (a simulated UE uses one per UE so that a capture can be heard). */
  toneHz?: number;
  /** SSRC of the stream (RFC 3550 §8: random in a real sender; fixed here so the file is reproducible). */
  ssrc?: number;
  /** Time of the first packet, ms since the epoch (only the differences matter to SIPp). */
  startMs?: number;
}

const MAX_SECONDS = 3600;

/** The pcap file's bytes. */
export function makeG711Pcap(options: G711PcapOptions = {}): Buffer {
  const { seconds = 2, codec = 'PCMU', toneHz = 1000, ssrc = 0x51990711, startMs = Date.UTC(2024, 0, 1) } = options;
  if (!(seconds > 0 && seconds <= MAX_SECONDS)) throw new RangeError(`seconds must be above 0 and at most ${MAX_SECONDS}, got ${seconds}`);
  if (codec !== 'PCMU' && codec !== 'PCMA') throw new RangeError(`codec must be PCMU or PCMA, got ${JSON.stringify(codec)}`);
  if (!(toneHz > 0 && toneHz < 4000)) throw new RangeError(`tone must be between 0 and 4000 Hz (8 kHz sampling), got ${toneHz}`);
  const { staticPayloadType, clockRate, channels } = CODEC_TABLE[codec];
  const payloadType = staticPayloadType!;
  const format: Codec = { name: codec, payloadType, clockRate, channels };
  const source = createPayloadSource(format, toneHz);
  const packets = Math.round((seconds * 1000) / FRAME_MS);
  const events: PacketEvent[] = [];
  for (let i = 0; i < packets; i++) {
    const bytes = encodeRtp({
      marker: i === 0,
      payloadType,
      sequenceNumber: i & 0xffff,
      timestamp: (i * source.samplesPerFrame) >>> 0,
      ssrc,
      payload: source.next(),
    });
    events.push({
      type: 'packet',
      seq: i + 1,
      time: startMs + i * FRAME_MS,
      node: 'sipp-media',
      direction: 'send',
      protocol: 'rtp',
      transport: 'udp',
      local: { address: '127.0.0.1', port: 6000 },
      remote: { address: '127.0.0.2', port: 6000 },
      bytes,
    });
  }
  return eventsToPcap(events);
}

function main(argv: string[]): number {
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        seconds: { type: 'string', default: '2' },
        codec: { type: 'string', default: 'PCMU' },
        tone: { type: 'string', default: '1000' },
        out: { type: 'string', default: 'g711-pcmu.pcap' },
      },
      strict: true,
    });
    const codec = values.codec.toUpperCase();
    if (codec !== 'PCMU' && codec !== 'PCMA') throw new RangeError(`codec must be PCMU or PCMA, got ${JSON.stringify(values.codec)}`);
    writeFileSync(values.out, makeG711Pcap({ seconds: Number(values.seconds), codec, toneHz: Number(values.tone) }));
    return 0;
  } catch (e) {
    process.stderr.write(`make-g711-pcap: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = main(process.argv.slice(2));
