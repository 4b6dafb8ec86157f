import { createConnection, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { encodeLine, LineDecoder, type ControlResponse, type RequestId } from './protocol.js';

/** Nobody answers on the control socket: no serve runs with that data directory. */
export class ControlUnavailableError extends Error {
  override readonly name = 'ControlUnavailableError';
}

/** The serve answered the request with an error. */
export class ControlRequestError extends Error {
  override readonly name = 'ControlRequestError';
}

/** A client of the control channel (protocol.ts): requests may overlap; answers are matched by id. */
export class ControlClient {
  private nextId = 1;
  private readonly waiting = new Map<RequestId, { resolve: (r: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private failure: Error | undefined;

  private constructor(
    private readonly socket: Socket,
    readonly path: string,
  ) {
    const decoder = new LineDecoder(16 * 1024 * 1024);
    socket.on('data', (chunk: Buffer) => {
      let lines: string[];
      try {
        lines = decoder.push(chunk);
      } catch (e) {
        return this.fail(e as Error);
      }
      for (const line of lines) this.onLine(line);
    });
    socket.on('error', (e) => this.fail(e));
    socket.on('close', () => this.fail(new ControlRequestError('the serve closed the control connection')));
  }

  static connect(path: string, timeoutMs = 5000): Promise<ControlClient> {
    return new Promise((resolve, reject) => {
      const socket = createConnection({ path });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new ControlUnavailableError(`no answer on ${path} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new ControlClient(socket, path));
      });
      socket.once('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        const why = e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? '' : ` (${e.code ?? e.message})`;
        reject(new ControlUnavailableError(`no imslab serve is running with data dir ${dirname(path)}${why}`));
      });
    });
  }

  /** Sends one command; resolves with its result, rejects with ControlRequestError carrying the serve's reason. */
  request<T = unknown>(command: string, args: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new ControlRequestError(`${command}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, { resolve: resolve as (r: unknown) => void, reject, timer });
      this.socket.write(encodeLine({ id, command, args }));
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onLine(line: string): void {
    let r: ControlResponse;
    try {
      r = JSON.parse(line) as ControlResponse;
    } catch {
      return this.fail(new ControlRequestError(`unreadable answer from the serve: ${line.slice(0, 80)}`));
    }
    const w = r.id === null ? undefined : this.waiting.get(r.id);
    if (!w) {
      // An error for no request of ours (e.g. the server refused the connection): everyone waiting hears it.
      if (!r.ok) this.fail(new ControlRequestError(r.error));
      return;
    }
    this.waiting.delete(r.id!);
    clearTimeout(w.timer);
    if (r.ok) w.resolve(r.result);
    else w.reject(new ControlRequestError(r.error));
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const [id, w] of this.waiting) {
      clearTimeout(w.timer);
      w.reject(this.failure);
      this.waiting.delete(id);
    }
  }
}

/** Connects, asks one thing, disconnects. */
export async function controlRequest<T = unknown>(path: string, command: string, args: Record<string, unknown> = {}): Promise<T> {
  const client = await ControlClient.connect(path);
  try {
    return await client.request<T>(command, args);
  } finally {
    client.close();
  }
}
