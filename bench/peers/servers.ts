/**
 * The two servers bench:peers compares, each started as its own process on its own loopback address and
 * stopped by its process id: imslab's proxy node (`imslab node`) and Kamailio (bench/peers/kamailio.cfg).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { exited } from './sipp.js';

export interface Server {
  name: 'imslab' | 'kamailio';
  address: string;
  port: number;
  child: ChildProcess;
  /** The last lines it wrote to stderr, for a failure report. */
  log(): string;
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function capture(child: ChildProcess): () => string {
  let tail = '';
  const keep = (d: Buffer) => (tail = (tail + d.toString()).slice(-4000));
  child.stderr?.on('data', keep);
  return () => tail;
}

/** `imslab node --topology FILE --name NODE`, ready when it prints its ready line. */
export async function startImslab(topologyFile: string, nodeName: string, address: string, port: number): Promise<Server> {
  // IMSLAB_PEERS_CPU_PROF=DIR: a V8 CPU profile of the proxy's process, written to DIR when it stops.
  const prof = process.env.IMSLAB_PEERS_CPU_PROF;
  const flags = prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : [];
  const child = spawn(process.execPath, [...flags, `${ROOT}bin/imslab.mjs`, 'node', '--topology', topologyFile, '--name', nodeName, '--stdin-lifeline'], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const log = capture(child);
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`imslab node did not start within 20 s: ${log()}`)), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('imslab node ready:')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`imslab node exited with ${code}: ${log()}`));
    });
  });
  return { name: 'imslab', address, port, child, log };
}

/** Kamailio in the foreground (-DD: its two workers are its children), ready when it answers an OPTIONS. */
export async function startKamailio(cfg: string, address: string, port: number, users: number, runtimeDir: string): Promise<Server> {
  const child = spawn(
    'kamailio',
    ['-DD', '-E', '-f', cfg, '-Y', runtimeDir, '-m', '256', '-M', '16', '-A', `BENCH_LISTEN=udp:${address}:${port}`, '-A', `BENCH_USERS=${users}`],
    { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
  );
  const log = capture(child);
  const server: Server = { name: 'kamailio', address, port, child, log };
  if (!(await answers(address, port, 10_000))) {
    await stopServer(server);
    throw new Error(`kamailio did not answer on ${address}:${port} within 10 s: ${log()}`);
  }
  return server;
}

/** Whether something answers an OPTIONS on this UDP address within `ms` (probing every 200 ms). */
export async function answers(address: string, port: number, ms: number): Promise<boolean> {
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind({ address: '127.0.0.1', port: 0 }, () => r()));
  const local = socket.address();
  let got = false;
  socket.on('message', () => (got = true));
  const end = Date.now() + ms;
  try {
    for (let i = 0; !got && Date.now() < end; i++) {
      const msg =
        `OPTIONS sip:probe@${address}:${port} SIP/2.0\r\nVia: SIP/2.0/UDP ${local.address}:${local.port};branch=z9hG4bKprobe${i}\r\n` +
        `Max-Forwards: 70\r\nFrom: <sip:probe@bench.peers.test>;tag=p${i}\r\nTo: <sip:probe@${address}>\r\nCall-ID: probe-${i}-${process.pid}\r\n` +
        `CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`;
      socket.send(msg, port, address);
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    socket.close();
  }
  return got;
}

/** SIGTERM, then SIGKILL after 5 s. Kamailio runs in its own process group: the group goes, workers included. */
export async function stopServer(s: Server): Promise<void> {
  if (s.child.exitCode !== null || s.child.signalCode !== null) return;
  const pid = s.child.pid!;
  const signal = (sig: NodeJS.Signals) => {
    try {
      if (s.name === 'kamailio') process.kill(-pid, sig);
      else s.child.kill(sig);
    } catch {
      /* already gone */
    }
  };
  signal('SIGTERM');
  const t = setTimeout(() => signal('SIGKILL'), 5000);
  await exited(s.child, 8000);
  clearTimeout(t);
}
