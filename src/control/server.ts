import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { encodeLine, LineDecoder, LineTooLongError, parseRequest, type ControlResponse, type RequestId } from './protocol.js';

/** Runs one command; what it throws goes back to the client as `{ok: false, error}`. */
export type ControlHandler = (command: string, args: Record<string, unknown>) => Promise<unknown>;

export interface ControlServerOptions {
  /** The socket's path (`controlSocketPath(dataDir)`). */
  path: string;
  handle: ControlHandler;
  /** Told about clients that misbehave (the server's own log line; it never throws). */
  warn?: (text: string) => void;
  /** Clients connected at once at most (default 32); more are refused with an error line. */
  maxClients?: number;
}

/** Another `imslab serve` answers on the socket: two cores must not share one data directory. */
export class ControlSocketBusyError extends Error {
  override readonly name = 'ControlSocketBusyError';
}

/** What is at a control socket path: a serve that answers, a socket nobody listens on, or nothing. */
export async function probeControlSocket(path: string): Promise<'live' | 'stale' | 'absent'> {
  try {
    if (!lstatSync(path).isSocket()) throw new Error(`${path} exists and is not a socket; remove it or use another data directory`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw e;
  }
  return new Promise((resolve) => {
    const s = createConnection({ path });
    s.once('connect', () => {
      s.destroy();
      resolve('live');
    });
    // ECONNREFUSED: the serve that made it is gone (SIGKILL leaves the file behind).
    s.once('error', () => resolve('stale'));
  });
}

/**
 * The control endpoint of `imslab serve`: a Unix domain socket readable and writable by its owner only
 * (0600), newline-delimited JSON (protocol.ts). Each connection is on its own: a client that sends garbage
 * gets an error line (or, past the line limit, is disconnected) and nobody else notices.
 */
export class ControlServer {
  private readonly clients = new Set<Socket>();
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly server: Server,
    private readonly options: ControlServerOptions,
  ) {}

  static async open(options: ControlServerOptions): Promise<ControlServer> {
    const { path } = options;
    const found = await probeControlSocket(path);
    if (found === 'live') throw new ControlSocketBusyError(`an imslab serve is already running with this data directory (${path} answers)`);
    if (found === 'stale') unlinkSync(path);
    const server = createServer();
    const control = new ControlServer(path, server, options);
    server.on('connection', (s) => control.accept(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // The socket file is created by bind() inside listen(): with this umask it never exists with wider rights.
      const umask = process.umask(0o177);
      try {
        server.listen({ path }, () => {
          server.off('error', reject);
          resolve();
        });
      } finally {
        process.umask(umask);
      }
    });
    chmodSync(path, 0o600);
    server.on('error', (e) => options.warn?.(`control socket: ${e.message}`));
    return control;
  }

  /** Stops listening, drops every client, removes the socket file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const done = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.clients) s.destroy();
    await done;
    try {
      unlinkSync(this.path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }

  private accept(socket: Socket): void {
    socket.on('error', () => socket.destroy());
    if (this.closed || this.clients.size >= (this.options.maxClients ?? 32)) {
      socket.end(encodeLine({ id: null, ok: false, error: 'too many control clients; try again' }));
      return;
    }
    this.clients.add(socket);
    socket.on('close', () => this.clients.delete(socket));
    const decoder = new LineDecoder();
    socket.on('data', (chunk: Buffer) => {
      let lines: string[];
      try {
        lines = decoder.push(chunk);
      } catch (e) {
        if (!(e instanceof LineTooLongError)) throw e;
        this.options.warn?.(`control client dropped: ${e.message}`);
        socket.end(encodeLine({ id: null, ok: false, error: e.message }));
        socket.removeAllListeners('data');
        return;
      }
      for (const line of lines) void this.serve(socket, line);
    });
  }

  private async serve(socket: Socket, line: string): Promise<void> {
    const parsed = parseRequest(line);
    if ('error' in parsed) return this.reply(socket, { id: parsed.id, ok: false, error: parsed.error });
    const { id, command, args } = parsed.request;
    let response: ControlResponse;
    try {
      response = { id, ok: true, result: (await this.options.handle(command, args)) ?? null };
    } catch (e) {
      response = { id, ok: false, error: e instanceof Error ? e.message : String(e) };
    }
    this.reply(socket, response);
  }

  private reply(socket: Socket, response: ControlResponse & { id: RequestId | null }): void {
    if (socket.destroyed || !socket.writable) return;
    let line: string;
    try {
      line = encodeLine(response);
    } catch (e) {
      // A result that cannot be written as JSON (a cycle, a BigInt) is the server's fault, said as such.
      line = encodeLine({ id: response.id, ok: false, error: `result not serialisable: ${(e as Error).message}` });
    }
    socket.write(line);
  }
}
