/**
 * The echo side of the UDP ceiling, run as a process of its own (forked by ceiling.ts): it binds a loopback
 * address, tells its parent the port over IPC, and sends every datagram back to where it came from. Asked
 * `cpu`, it answers its own CPU time so far (every thread, µs), which the parent divides by what it echoed. It
 * stops when the parent says so or goes away, so it can never outlive the bench.
 */
import { createSocket } from 'node:dgram';

const address = process.argv[2] ?? '127.0.0.1';
if (!address.startsWith('127.') && address !== '::1') {
  console.error(`udp-echo: ${address} is not a loopback address`);
  process.exit(2);
}

const socket = createSocket({ type: address.includes(':') ? 'udp6' : 'udp4' });
socket.on('message', (data, from) => socket.send(data, from.port, from.address));
socket.on('error', (err) => {
  console.error(`udp-echo: ${err.message}`);
  process.exit(1);
});
socket.bind(0, address, () => process.send?.({ port: socket.address().port }));

const stop = () => socket.close(() => process.exit(0));
process.on('message', (m) => {
  if (m === 'stop') stop();
  else if (m === 'cpu') {
    const used = process.cpuUsage();
    process.send?.({ cpuUs: used.user + used.system });
  }
});
process.on('disconnect', stop);
