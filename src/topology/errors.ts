/**
 * Errors in a topology file, each pointing at the place a person has to edit: `file:line:column: path: what`.
 * The format is the one compilers use, so editors and terminals turn it into a link.
 */
export type TopologyPathSegment = string | number;

export interface TopologyIssue {
  /** The file as the user named it (or `<inline>` for text without a file). */
  file: string;
  /** 1-based line and column of the offending YAML node (the parent mapping when a field is missing). */
  line: number;
  column: number;
  /** Field path inside the document, e.g. ['nodes', 2, 'address']. Empty for syntax errors. */
  path: TopologyPathSegment[];
  message: string;
}

/** `nodes[2].address`, `scenarios.default[0].call.to`, `subscribers[0]["odd key"]`. */
export function formatTopologyPath(path: readonly TopologyPathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

export function formatTopologyIssue(issue: TopologyIssue): string {
  const where = `${issue.file}:${issue.line}:${issue.column}`;
  const path = formatTopologyPath(issue.path);
  return path === '' ? `${where}: ${issue.message}` : `${where}: ${path}: ${issue.message}`;
}

/** Every problem found in one file, in document order; the message lists them one per line. */
export class TopologyError extends Error {
  readonly issues: readonly TopologyIssue[];

  constructor(issues: TopologyIssue[]) {
    const sorted = [...issues].sort((a, b) => a.line - b.line || a.column - b.column);
    super(sorted.map(formatTopologyIssue).join('\n'));
    this.name = 'TopologyError';
    this.issues = sorted;
  }

  get file(): string | undefined {
    return this.issues[0]?.file;
  }
}
