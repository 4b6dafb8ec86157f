/**
 * One relay of the registration pattern (pattern.ts): P-CSCF, I-CSCF, S-CSCF or HSS with the work taken out. It
 * receives a message, reads the step from its header and sends the step(s) that follow from it, on UDP to the
 * SIP roles or on its Diameter connection: same sockets and sizes as the core, no parsing, no state per scenario.
 * Run by pattern.ts: `node bin/run.mjs bench/storm/pattern-relay.ts ROLE HOST`; talks to its parent over IPC.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { HEADER_BYTES, NEXT, PATTERN, patternMessage, SOCKET_BUFFER, type PatternAddresses, type RelayRole } from './pattern-messages.js';

const role = process.argv[2] as RelayRole;
const host = process.argv[3] ?? '127.0.0.1';
const received: Record<number, number> = {};
let peers: PatternAddresses | undefined;
/** Where the generator's REGISTERs come from: its 401s and 200s go back there. */
let generator: { address: string; port: number } | undefined;
/** The HSS's side: the connection each Diameter client came in on, by role. */
const clients = new Map<string, net.Socket>();
let toHss: net.Socket | undefined;
let udp: dgram.Socket | undefined;

function onMessage(b: Buffer): void {
  const id = b.readUInt32BE(0);
  const s = b.readUInt16BE(4);
  received[s] = (received[s] ?? 0) + 1;
  for (const n of NEXT[s] ?? []) send(id, n);
}

function send(id: number, n: number): void {
  const st = PATTERN[n]!;
  const m = patternMessage(id, n);
  if (st.via === 'tcp') {
    if (role === 'H') clients.get(st.to)?.write(m);
    else toHss!.write(m);
    return;
  }
  const to = st.to === 'G' ? generator! : peers![st.to];
  udp!.send(m, to.port, to.address);
}

/** Diameter rides a byte stream: messages are cut by the size their step has. */
function frames(socket: net.Socket, each: (b: Buffer) => void): void {
  let pending: Buffer = Buffer.alloc(0);
  socket.on('data', (d: Buffer) => {
    pending = pending.length === 0 ? d : Buffer.concat([pending, d]);
    while (pending.length >= HEADER_BYTES) {
      const size = PATTERN[pending.readUInt16BE(4)]?.bytes;
      if (size === undefined) throw new Error(`pattern relay ${role}: unknown step ${pending.readUInt16BE(4)}`);
      if (pending.length < size) break;
      each(pending.subarray(0, size));
      pending = pending.subarray(size);
    }
  });
}

async function listen(): Promise<{ address: string; port: number }> {
  if (role === 'H') {
    const server = net.createServer((c) => {
      c.setNoDelay(true);
      frames(c, (b) => {
        clients.set(PATTERN[b.readUInt16BE(4)]!.from, c);
        onMessage(b);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, host, resolve));
    return { address: host, port: (server.address() as net.AddressInfo).port };
  }
  const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: SOCKET_BUFFER, sendBufferSize: SOCKET_BUFFER, lookup: (a, _o, cb) => (cb as (e: null, a: string, f: number) => void)(null, a, 4) });
  socket.on('message', (b, rinfo) => {
    if (role === 'P' && PATTERN[b.readUInt16BE(4)]?.from === 'G') generator = { address: rinfo.address, port: rinfo.port };
    onMessage(b);
  });
  await new Promise<void>((resolve) => socket.bind(0, host, resolve));
  udp = socket;
  return { address: host, port: socket.address().port };
}

process.on('message', (m: { peers?: PatternAddresses; count?: true; stop?: true }) => {
  if (m.stop) process.exit(0);
  if (m.count) process.send!({ role, received });
  if (m.peers) {
    peers = m.peers;
    if (role === 'I' || role === 'S') {
      const hss = m.peers.H;
      toHss = net.connect(hss.port, hss.address, () => process.send!({ connected: true }));
      toHss.setNoDelay(true);
      frames(toHss, onMessage);
    } else process.send!({ connected: true });
  }
});
process.on('disconnect', () => process.exit(0));
void listen().then((listening) => process.send!({ listening }));
