import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve as resolvePath } from 'node:path';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import { CsvError, parseSubscriberCsv } from '../hss/csv.js';
import { TopologyError, type TopologyIssue, type TopologyPathSegment } from './errors.js';
import { topologySchema, topologyErrorMap, type Topology } from './schema.js';

/**
 * Reads a topology file. Every problem, from YAML syntax to an unknown node name in a scenario, comes back
 * in one TopologyError whose lines read `file:line:column: field.path: what is wrong`.
 */
export function loadTopology(path: string): Topology {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder, not a file' : (e as Error).message;
    throw new TopologyError([{ file: path, line: 1, column: 1, path: [], message: `cannot read the topology: ${why}` }]);
  }
  return parseTopology(text, path);
}

/**
 * Parses topology text. `fileName` is used in messages and, when it names a real path, as the folder that
 * relative paths (dataDir, subscribersCsv) are resolved against; otherwise the working folder.
 */
export function parseTopology(text: string, fileName = '<inline>'): Topology {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const pos = (offset: number) => lineCounter.linePos(offset);

  const syntax: TopologyIssue[] = doc.errors.map((e) => {
    const { line, col } = pos(e.pos[0]);
    return { file: fileName, line, column: col, path: [], message: `YAML: ${firstLine(e.message)}` };
  });
  if (syntax.length > 0) throw new TopologyError(syntax);
  if (doc.contents === null) throw new TopologyError([{ file: fileName, line: 1, column: 1, path: [], message: 'the file is empty' }]);

  const baseDir = fileName === '<inline>' ? process.cwd() : dirname(resolvePath(fileName));
  const data: unknown = doc.toJS({ maxAliasCount: 100 });
  const result = topologySchema({ resolvePath: (p) => (isAbsolute(p) ? p : resolvePath(baseDir, p)) }).safeParse(data, {
    error: topologyErrorMap,
  });

  const issues: TopologyIssue[] = [];
  const at = (path: TopologyPathSegment[], message: string, keyOf = false) => {
    const { line, col } = locate(doc, path, pos, keyOf);
    issues.push({ file: fileName, line, column: col, path, message });
  };

  if (!result.success) {
    for (const iss of result.error.issues) {
      const path = iss.path.filter((p): p is string | number => typeof p !== 'symbol');
      if (iss.code === 'unrecognized_keys') {
        const lines = iss.message.split('\n');
        iss.keys.forEach((k, i) => at([...path, k], lines[i] ?? `unknown field "${k}"`, true));
      } else {
        at(path, iss.message);
      }
    }
    throw new TopologyError(issues);
  }

  // Files named by the topology must exist now, not when a node first needs them.
  const topo = result.data;
  if (topo.subscribersCsv !== undefined) {
    const f = topo.subscribersCsv;
    if (!existsSync(f)) at(['subscribersCsv'], `${JSON.stringify(f)} does not exist (paths are relative to the topology file)`);
    else if (!statSync(f).isFile()) at(['subscribersCsv'], `${JSON.stringify(f)} is not a file`);
    else checkCsvSubscribers(topo, f, at);
  }
  if (topo.dataDir !== undefined && existsSync(topo.dataDir) && !statSync(topo.dataDir).isDirectory())
    at(['dataDir'], `${JSON.stringify(topo.dataDir)} exists and is not a folder`);
  if (issues.length > 0) throw new TopologyError(issues);
  return topo;
}

/**
 * The HSS imports the CSV at start; reading it here too means a bad line or a UE naming a subscriber that
 * is nowhere fails at load time, with the CSV's own file:line inside the message.
 */
function checkCsvSubscribers(topo: Topology, file: string, at: (path: TopologyPathSegment[], message: string) => void): void {
  let identities: Set<string>;
  try {
    const subs = parseSubscriberCsv(readFileSync(file, 'utf8'), file);
    identities = new Set(subs.flatMap((s) => [s.impi, ...s.impus.map((u) => u.uri)]));
  } catch (e) {
    at(['subscribersCsv'], e instanceof CsvError ? `bad subscriber file: ${e.message}` : `cannot read ${JSON.stringify(file)}: ${(e as Error).message}`);
    return;
  }
  const inline = new Set(topo.subscribers.flatMap((s) => [s.impi, ...s.impus]));
  topo.ues.forEach((u, i) => {
    if (!inline.has(u.subscriber) && !identities.has(u.subscriber))
      at(['ues', i, 'subscriber'], `no subscriber has the IMPI or IMPU "${u.subscriber}", inline or in ${JSON.stringify(file)}`);
  });
}

function firstLine(s: string): string {
  const i = s.indexOf('\n');
  return i < 0 ? s : s.slice(0, i);
}

/**
 * The YAML position of a field path: the value's node if present; for `keyOf`, the key; when the path
 * runs out (a missing field), the deepest mapping or sequence that exists.
 */
function locate(
  doc: Document,
  path: readonly TopologyPathSegment[],
  pos: (offset: number) => { line: number; col: number },
  keyOf: boolean,
): { line: number; col: number } {
  let node: unknown = doc.contents;
  let best = rangeStart(node) ?? 0;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && keyText(p.key) === String(seg));
      if (!pair) break;
      const keyStart = rangeStart(pair.key);
      if (last && keyOf && keyStart !== undefined) return pos(keyStart);
      node = pair.value;
      // A key with no value (`address:`) has no node of its own: point at the key.
      best = rangeStart(node) ?? keyStart ?? best;
      if (node === null || node === undefined) break;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      if (item === undefined) break;
      node = item;
      best = rangeStart(item) ?? best;
    } else break;
  }
  return pos(best);
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return undefined;
}

function rangeStart(node: unknown): number | undefined {
  const r = (node as YamlNode | null | undefined)?.range;
  return r ? r[0] : undefined;
}
