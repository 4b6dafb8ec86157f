/**
 * Where the time goes: the functions with the most self time in a V8 CPU profile (`node --cpu-prof`), and the
 * share of each source file. Used for docs/performance.md:
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/sip-transactions.ts 4
 *   npx tsx bench/top-frames.ts /tmp/prof/*.cpuprofile [count]
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
}

export interface FrameShare {
  frame: string;
  share: number;
}

function label(n: ProfileNode): string {
  const { functionName, url, lineNumber } = n.callFrame;
  const file = url.replace(/^file:\/\/.*?\/(src|bench|node_modules)\//, '$1/').replace(/^node:/, 'node:');
  // Modules compiled by tsx report line 0 for everything: a line number is shown only when it means something.
  const where = file && lineNumber > 0 ? `${file}:${lineNumber + 1}` : file;
  return `${functionName || '(anonymous)'} ${where}`.trim();
}

function fileOf(n: ProfileNode): string {
  const { url, functionName } = n.callFrame;
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  return url.replace(/^file:\/\/.*?\/(src|bench|node_modules)\//, '$1/');
}

/** Self time per frame and per file, as shares of all samples, largest first. */
export function topFrames(profile: CpuProfile, count: number): { frames: FrameShare[]; files: FrameShare[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const hits = new Map<number, number>();
  for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  const total = profile.samples.length || 1;
  const frames = new Map<string, number>();
  const files = new Map<string, number>();
  for (const [id, h] of hits) {
    const n = byId.get(id);
    if (!n) continue;
    frames.set(label(n), (frames.get(label(n)) ?? 0) + h);
    files.set(fileOf(n), (files.get(fileOf(n)) ?? 0) + h);
  }
  const top = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(([frame, h]) => ({ frame, share: Math.round((h / total) * 1000) / 10 }));
  return { frames: top(frames), files: top(files) };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: top-frames.ts FILE.cpuprofile [count]');
    process.exit(2);
  }
  const { frames, files } = topFrames(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, Number(process.argv[3] ?? 20));
  console.log('self time by function:');
  for (const f of frames) console.log(`${f.share.toFixed(1).padStart(5)} %  ${f.frame}`);
  console.log('\nself time by file:');
  for (const f of files) console.log(`${f.share.toFixed(1).padStart(5)} %  ${f.frame}`);
}
