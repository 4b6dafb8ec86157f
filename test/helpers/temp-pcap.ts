import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import type { TraceEvent } from '../../src/trace/events.js';
import { eventsToPcap, type PcapOptions } from '../../src/trace/pcap.js';

/** Writes a trace as a pcap file for tshark to read, in a folder of its own that goes when the test ends. */
export function tempPcap(events: Iterable<TraceEvent>, name: string, options?: PcapOptions): string {
  const dir = mkdtempSync(join(tmpdir(), 'imslab-pcap-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, name);
  writeFileSync(path, eventsToPcap(events, options));
  return path;
}
