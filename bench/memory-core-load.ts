/**
 * The load generator of the whole-core memory bench (memory-core.ts), in a process of its own so that its
 * sockets, transactions, USIMs and subscriber list are not in the heap being measured (TS 186 008-1 keeps
 * the test system apart from the system under test). It registers the subscribers it is told, closed-loop,
 * and answers with how many succeeded; it leaves when told, or when its parent goes away.
 */
import { RegisterStormClient } from './storm/register-client.js';
import type { StormSubscriber } from './storm/topology.js';

export type CoreLoadRequest =
  | { type: 'start'; addresses: string[]; pcscf: { address: string; port: number }; domain: string }
  | { type: 'register'; subscribers: Array<{ impi: string; impu: string; k: string; opc: string }>; concurrency: number; deadlineMs: number }
  | { type: 'exit' };

export type CoreLoadReply = { type: 'started' } | { type: 'registered'; ok: number; failed: number; firstFailure?: string } | { type: 'error'; message: string };

let client: RegisterStormClient | undefined;
const reply = (m: CoreLoadReply) => process.send!(m);

async function handle(m: CoreLoadRequest): Promise<void> {
  if (m.type === 'exit') {
    await client?.close();
    process.exit(0);
  }
  if (m.type === 'start') {
    client = new RegisterStormClient({ addresses: m.addresses, pcscf: m.pcscf, domain: m.domain });
    await client.start();
    reply({ type: 'started' });
    return;
  }
  if (!client) throw new Error('register before start');
  const subs: StormSubscriber[] = m.subscribers.map((s) => ({ impi: s.impi, impu: s.impu, k: Buffer.from(s.k, 'hex'), opc: Buffer.from(s.opc, 'hex') }));
  const stopAt = Date.now() + m.deadlineMs;
  let next = 0;
  let ok = 0;
  let failed = 0;
  let firstFailure: string | undefined;
  // Closed loop: each worker starts its next registration when the previous one ended; bounded by count and time.
  await Promise.all(
    Array.from({ length: Math.max(1, m.concurrency) }, async () => {
      while (next < subs.length && Date.now() < stopAt) {
        const r = await client!.register(subs[next++]!);
        if (r.ok) ok++;
        else {
          failed++;
          firstFailure ??= `${r.status} ${r.reason ?? ''}`.trim();
        }
      }
    }),
  );
  reply({ type: 'registered', ok, failed, ...(firstFailure ? { firstFailure } : {}) });
}

process.on('message', (m: CoreLoadRequest) => {
  handle(m).catch((err: unknown) => reply({ type: 'error', message: err instanceof Error ? err.message : String(err) }));
});
process.on('disconnect', () => process.exit(0));
