import { join } from 'node:path';
import { z } from 'zod';

/**
 * The control channel of `imslab serve`: newline-delimited JSON over a Unix domain socket in the data
 * directory. One request per line, `{id, command, args}`; one response per line, `{id, ok, result | error}`,
 * in any order (a slow `node.start` does not hold up `status`), matched by id.
 */
export const CONTROL_SOCKET_NAME = 'control.sock';

/** Longest request line accepted; a longer one is refused and its connection closed. */
export const MAX_LINE_BYTES = 64 * 1024;

/** sockaddr_un.sun_path holds 108 bytes on Linux, 104 on the BSDs; the NUL takes one. */
const MAX_SOCKET_PATH_BYTES = 103;

export function controlSocketPath(dataDir: string): string {
  const path = join(dataDir, CONTROL_SOCKET_NAME);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
    throw new Error(`${path}: too long for a Unix socket path (${Buffer.byteLength(path)} > ${MAX_SOCKET_PATH_BYTES} bytes); use a shorter --data directory`);
  }
  return path;
}

export type RequestId = string | number;

export interface ControlRequest {
  id: RequestId;
  command: string;
  args: Record<string, unknown>;
}

export type ControlResponse =
  | { id: RequestId | null; ok: true; result: unknown }
  | { id: RequestId | null; ok: false; error: string };

const requestShape = z.strictObject({
  id: z.union([z.string().max(200), z.number().int()]),
  command: z.string().min(1).max(100),
  args: z.record(z.string(), z.unknown()).optional(),
});

/** A request line, or why it is not one (with the id when it could be read, so the client can match). */
export function parseRequest(line: string): { request: ControlRequest } | { error: string; id: RequestId | null } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (e) {
    return { error: `not JSON: ${(e as Error).message}`, id: null };
  }
  const r = requestShape.safeParse(value);
  if (!r.success) {
    const raw = (value as { id?: unknown } | null)?.id;
    const id = typeof raw === 'string' || (typeof raw === 'number' && Number.isInteger(raw)) ? raw : null;
    const first = r.error.issues[0]!;
    return { error: `bad request: ${first.path.length ? `${first.path.join('.')}: ` : ''}${first.message}`, id };
  }
  return { request: { id: r.data.id, command: r.data.command, args: r.data.args ?? {} } };
}

export function encodeLine(value: ControlRequest | ControlResponse): string {
  return `${JSON.stringify(value)}\n`;
}

export class LineTooLongError extends Error {
  override readonly name = 'LineTooLongError';
}

/** Splits a byte stream into lines; keeps at most one partial line, never more than MAX_LINE_BYTES. */
export class LineDecoder {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly maxLineBytes = MAX_LINE_BYTES) {}

  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, nl);
      if (this.pendingBytes + piece.length > this.maxLineBytes) throw this.tooLong();
      const bytes = this.pending.length ? Buffer.concat([...this.pending, piece]) : piece;
      this.pending = [];
      this.pendingBytes = 0;
      const line = bytes.toString('utf8').replace(/\r$/, '');
      if (line.trim() !== '') lines.push(line);
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      if (this.pendingBytes + rest.length > this.maxLineBytes) throw this.tooLong();
      this.pending.push(rest);
      this.pendingBytes += rest.length;
    }
    return lines;
  }

  private tooLong(): LineTooLongError {
    this.pending = [];
    this.pendingBytes = 0;
    return new LineTooLongError(`request line longer than ${this.maxLineBytes} bytes`);
  }
}
