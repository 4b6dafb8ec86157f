/**
 * Non-INVITE transactions per second over real UDP on loopback, through the whole SIP stack of one process:
 * TransactionLayer → TransportLayer → socket on the client side, socket → TransportLayer → TransactionLayer
 * → a TU answering 200 on the server side (RFC 3261 §17.1.2, §17.2.2), both ends in one event loop as in
 * an all-in-one core. The request is the IMS REGISTER of bench/sip-codec.ts (about 900 bytes, the same size
 * as the ceiling's datagrams) with a fresh Call-ID per transaction; timers are the RFC defaults, so server
 * transactions stay in Completed for Timer J (64·T1) as they would in a core.
 * `concurrency` transactions are kept open at once: each final response starts the next one.
 * Run alone: `npx tsx bench/sip-transactions.ts [seconds] [levels, e.g. 1,8,32]`.
 */
import { pathToFileURL } from 'node:url';
import { parseMessage } from '../src/sip/parser.js';
import { serializeMessage } from '../src/sip/serializer.js';
import { Headers, SipRequest, type SipResponse } from '../src/sip/message.js';
import { TransactionLayer } from '../src/sip/transaction/layer.js';
import { createResponse } from '../src/sip/transaction/response.js';
import type { FinalCause } from '../src/sip/transaction/types.js';
import { TransportLayer } from '../src/sip/transport/layer.js';
import type { TransportAddress } from '../src/sip/transport/types.js';
import { TraceBus } from '../src/trace/events.js';
import { SystemClock } from '../src/util/clock.js';
import { SeededRandom } from '../src/util/random.js';
import { REGISTER } from './sip-codec.js';

const UAC = '127.0.91.1';
const UAS = '127.0.91.2';
const WARMUP_MS = 300;
/** No measurement starts more transactions than this, whatever the window. */
const MAX_TRANSACTIONS = 5_000_000;
/** After the window, transactions still open get this long to finish before the layers close. */
const DRAIN_MS = 2_000;

export interface TransactionRunResult {
  concurrency: number;
  completed: number;
  /** Final responses that were not a 200 from the network (408 from Timer F, 503 from the transport). */
  failed: number;
  seconds: number;
  transactions_per_s: number;
  /** Request bytes on the wire, as sent (with this stack's Via). */
  request_bytes: number;
  response_bytes: number;
}

/** The REGISTER without its Via (the transaction layer pushes its own, §8.1.1.7) and with per-transaction Call-ID and CSeq. */
function requestFactory(): (n: number) => SipRequest {
  const template = parseMessage(REGISTER);
  if (template.kind !== 'request') throw new Error('bench: the REGISTER template is not a request');
  const entries = [...template.headers.entries()].filter(([name]) => name.toLowerCase() !== 'via');
  return (n) => {
    const headers = Headers.from(entries);
    headers.set('Call-ID', `bench-${n}@${UAC}`);
    headers.set('CSeq', `${n} REGISTER`);
    return new SipRequest(template.method, template.uri, headers);
  };
}

async function node(name: string, address: string, clock: SystemClock) {
  const trace = new TraceBus(clock);
  const transport = new TransportLayer({ node: name, address, ports: { udp: 0 }, trace, clock, random: new SeededRandom(`${name}-transport`) });
  await transport.start();
  const layer = new TransactionLayer(transport, clock, new SeededRandom(name));
  return {
    transport,
    layer,
    close: async () => {
      layer.close();
      await transport.close();
    },
  };
}

export async function runTransactions(concurrency: number, ms: number): Promise<TransactionRunResult> {
  const clock = new SystemClock();
  const uac = await node('bench-uac', UAC, clock);
  const uas = await node('bench-uas', UAS, clock).catch(async (e: unknown) => {
    await uac.close();
    throw e;
  });
  try {
    let responseBytes = 0;
    uas.layer.onRequest((txn, request) => {
      const ok = createResponse(request, 200, undefined, 'uas');
      if (responseBytes === 0) responseBytes = serializeMessage(ok).length;
      txn.respond(ok);
    });
    const to: TransportAddress = uas.transport.localAddress('udp');
    const makeRequest = requestFactory();
    let started = 0;
    let open = 0;
    let counting = false;
    let stopped = false;
    let completed = 0;
    let failed = 0;
    let requestBytes = 0;
    let drained: (() => void) | undefined;
    const next = () => {
      if (stopped || started >= MAX_TRANSACTIONS) {
        if (open === 0) drained?.();
        return;
      }
      started++;
      open++;
      const txn = uac.layer.sendRequest(makeRequest(started), to, {
        final: (r: SipResponse, cause: FinalCause) => {
          open--;
          if (counting) {
            if (r.status === 200 && cause === 'response') completed++;
            else failed++;
          }
          next();
        },
      });
      // Measured once, outside the loop: the size the ceiling's 900-byte datagrams are compared with.
      if (requestBytes === 0) requestBytes = serializeMessage(txn.request).length;
    };
    for (let i = 0; i < concurrency; i++) next();
    await delay(WARMUP_MS);
    counting = true;
    const start = performance.now();
    await delay(ms);
    counting = false;
    const seconds = (performance.now() - start) / 1000;
    stopped = true;
    if (open > 0) {
      await new Promise<void>((resolve) => {
        drained = resolve;
        setTimeout(resolve, DRAIN_MS);
      });
    }
    return {
      concurrency,
      completed,
      failed,
      seconds: Math.round(seconds * 1000) / 1000,
      transactions_per_s: Math.round(completed / seconds),
      request_bytes: requestBytes,
      response_bytes: responseBytes,
    };
  } finally {
    await uac.close();
    await uas.close();
  }
}

export async function benchSipTransactions(opts: {
  seconds: number;
  levels: readonly number[];
  step?: (name: string) => void;
}): Promise<TransactionRunResult[]> {
  const ms = Math.max(100, Math.min(60, opts.seconds) * 1000);
  const out: TransactionRunResult[] = [];
  for (const c of opts.levels) {
    opts.step?.(`non-INVITE transactions over UDP, ${c} open at once`);
    const r = await runTransactions(c, ms);
    if (r.completed === 0) throw new Error(`no transaction completed with ${c} open at once (${r.failed} failed)`);
    out.push(r);
  }
  return out;
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const seconds = Number(process.argv[2] ?? 2);
  const levels = (process.argv[3] ?? '1,8,32').split(',').map(Number);
  for (const r of await benchSipTransactions({ seconds, levels, step: (s) => console.error(s) })) console.log(JSON.stringify(r));
}
