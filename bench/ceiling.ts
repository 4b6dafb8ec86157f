/**
 * The ceiling: how many UDP round trips one Node process can make on loopback when it does nothing else
 * (issue 7). A pinger keeps `concurrency` datagrams of 900 bytes (the size of an IMS REGISTER) in flight and
 * sends the next one as soon as one comes back. The echo side runs either in the same process, as a core
 * with every function in one event loop would, or in a process of its own, so the pinger's loop is the only
 * one measured. Bounded by time and by count; loopback only.
 *
 * The echo in its own process also says what a datagram costs a Node process in CPU: when it is never idle
 * (32 in flight), and when each datagram wakes it from sleep (100 a second). On a VM the second is many times
 * the first, and it is what a core of several processes pays per message at light load: the storms' CPU per
 * attempt falls steeply with the rate for that reason (docs/performance.md, round 7).
 * Run alone: `npx tsx bench/ceiling.ts [seconds]`.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const DATAGRAM_BYTES = 900;
export const CONCURRENCY_LEVELS = [1, 8, 32] as const;
const PINGER = '127.0.90.1';
const ECHO = '127.0.90.2';
/** No measurement sends more than this many datagrams, whatever the window. */
const MAX_ROUNDTRIPS = 20_000_000;
/** A datagram not back after this long counts as lost and is replaced, so a loss never stalls the loop. */
const LOSS_TIMEOUT_MS = 100;
const WARMUP_MS = 200;

export type EchoPlacement = 'same_process' | 'separate_process';

export interface PingPongResult {
  echo: EchoPlacement;
  concurrency: number;
  roundtrips: number;
  lost: number;
  seconds: number;
  roundtrips_per_s: number;
}

/** Datagrams a second that wake the echo one at a time: 10 ms apart, far longer than a round trip. */
export const WOKEN_RATE = 100;

/** CPU time (µs) the echo process spent per datagram it sent back. */
export interface EchoCpu {
  /** Kept busy: `busy_concurrency` datagrams in flight, the echo never idle. */
  busy_us: number;
  busy_concurrency: number;
  /** Woken by every datagram: WOKEN_RATE a second, one at a time. */
  woken_us: number;
  busy_datagrams: number;
  woken_datagrams: number;
}

export interface CeilingResult {
  /** Round trips per second with the echo in the same process, per concurrency level. */
  same_process: Record<number, number>;
  separate_process: Record<number, number>;
  runs: PingPongResult[];
  echo_cpu: EchoCpu | null;
}

interface EchoEndpoint {
  port: number;
  close(): Promise<void>;
  /** The echo process's CPU time so far (µs); absent when the echo shares this process. */
  cpuUs?(): Promise<number>;
}

async function bind(address: string): Promise<Socket> {
  const s = createSocket('udp4');
  s.bind(0, address);
  await once(s, 'listening');
  return s;
}

async function echoInProcess(): Promise<EchoEndpoint> {
  const s = await bind(ECHO);
  s.on('message', (data, from) => s.send(data, from.port, from.address));
  return { port: s.address().port, close: () => new Promise((r) => s.close(() => r())) };
}

async function echoInChild(): Promise<EchoEndpoint> {
  const script = fileURLToPath(new URL('./udp-echo.ts', import.meta.url));
  const child: ChildProcess = fork(script, [ECHO], {
    execArgv: ['--import', import.meta.resolve('tsx')],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const exited = once(child, 'exit');
  try {
    const port = await reported(child, 'port', 'port', 15_000);
    return {
      port,
      cpuUs: () => {
        const cpu = reported(child, 'cpuUs', 'CPU time', 5_000);
        child.send('cpu');
        return cpu;
      },
      close: async () => {
        if (child.exitCode === null && child.connected) child.send('stop');
        const t = setTimeout(() => child.kill(), 2_000);
        await exited;
        clearTimeout(t);
      },
    };
  } catch (e) {
    child.kill();
    await exited;
    throw e;
  }
}

/** The number `field` of the echo process's next IPC message; an error naming `what` if none comes in `ms`. */
function reported(child: ChildProcess, field: string, what: string, ms: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const onExit = (code: number | null) => {
      clearTimeout(t);
      reject(new Error(`the echo process exited with ${code} before reporting its ${what}`));
    };
    const t = setTimeout(() => {
      child.off('exit', onExit);
      reject(new Error(`the echo process did not report its ${what} within ${ms / 1000} s`));
    }, ms);
    child.once('exit', onExit);
    child.once('message', (m) => {
      clearTimeout(t);
      child.off('exit', onExit);
      const value = (m as Record<string, unknown>)[field];
      if (typeof value === 'number') resolve(value);
      else reject(new Error(`the echo process sent no ${what}`));
    });
  });
}

/**
 * One closed-loop measurement: `concurrency` datagrams in flight, a new one sent for each that returns.
 * The first WARMUP_MS are not counted (JIT, socket buffers).
 */
async function pingPong(echoPort: number, concurrency: number, ms: number): Promise<{ roundtrips: number; lost: number; seconds: number; echoed: number }> {
  const s = await bind(PINGER);
  const payload = Buffer.alloc(DATAGRAM_BYTES, 0x61);
  let inFlight = 0;
  let counting = false;
  let roundtrips = 0;
  /** Every datagram that came back, the warm-up's too: what the echo's CPU time is divided by. */
  let echoed = 0;
  let sent = 0;
  let lost = 0;
  let lastArrival = performance.now();
  let stopped = false;
  const send = () => {
    if (stopped || sent >= MAX_ROUNDTRIPS) return;
    inFlight++;
    sent++;
    s.send(payload, echoPort, ECHO);
  };
  s.on('message', () => {
    inFlight--;
    echoed++;
    lastArrival = performance.now();
    if (counting) roundtrips++;
    send();
  });
  const watchdog = setInterval(() => {
    // Loopback drops only when a receive buffer overflows; refill the window so the loop keeps its depth.
    if (inFlight > 0 && performance.now() - lastArrival > LOSS_TIMEOUT_MS) {
      lost += inFlight;
      inFlight = 0;
      for (let i = 0; i < concurrency; i++) send();
    }
  }, LOSS_TIMEOUT_MS);
  try {
    for (let i = 0; i < concurrency; i++) send();
    await delay(WARMUP_MS);
    counting = true;
    const start = performance.now();
    await delay(ms);
    counting = false;
    const seconds = (performance.now() - start) / 1000;
    stopped = true;
    // The datagrams still in flight come back (or are lost) before the echo's CPU time is read.
    await delay(LOSS_TIMEOUT_MS);
    return { roundtrips, lost, seconds, echoed };
  } finally {
    stopped = true;
    clearInterval(watchdog);
    await new Promise<void>((r) => s.close(() => r()));
  }
}

/** One datagram every 1000/rate ms, far longer than a round trip, so that the echo sleeps before each; returns how many came back. */
async function paced(echoPort: number, rate: number, ms: number): Promise<number> {
  const s = await bind(PINGER);
  const payload = Buffer.alloc(DATAGRAM_BYTES, 0x61);
  let echoed = 0;
  s.on('message', () => void echoed++);
  const count = Math.max(1, Math.round((rate * ms) / 1000));
  try {
    for (let i = 0; i < count; i++) {
      s.send(payload, echoPort, ECHO);
      await delay(1000 / rate);
    }
    await delay(LOSS_TIMEOUT_MS);
    return echoed;
  } finally {
    await new Promise<void>((r) => s.close(() => r()));
  }
}

export async function benchUdpCeiling(opts: {
  seconds: number;
  levels?: readonly number[];
  /** Called before each measurement, with what it is about to measure. */
  step?: (name: string) => void;
}): Promise<CeilingResult> {
  const ms = Math.max(100, Math.min(60, opts.seconds) * 1000);
  const levels = opts.levels ?? CONCURRENCY_LEVELS;
  const result: CeilingResult = { same_process: {}, separate_process: {}, runs: [], echo_cpu: null };
  const perDatagram = (us: number, n: number) => Math.round((us / n) * 10) / 10;
  for (const echo of ['same_process', 'separate_process'] as const) {
    opts.step?.(`start the ${echo.replace('_', ' ')} echo`);
    const endpoint = echo === 'same_process' ? await echoInProcess() : await echoInChild();
    try {
      let busy: { us: number; n: number; concurrency: number } | undefined;
      const deepest = levels[levels.length - 1];
      for (const concurrency of levels) {
        opts.step?.(`ping-pong, echo in ${echo.replace('_', ' ')}, ${concurrency} in flight`);
        // The echo's CPU is read around the deepest level only: there it never sleeps.
        const before = concurrency === deepest ? await endpoint.cpuUs?.() : undefined;
        const r = await pingPong(endpoint.port, concurrency, ms);
        if (r.roundtrips === 0) throw new Error(`no datagram came back from the echo (${echo}, ${concurrency} in flight)`);
        if (before !== undefined) busy = { us: (await endpoint.cpuUs!()) - before, n: r.echoed, concurrency };
        const perSecond = Math.round(r.roundtrips / r.seconds);
        result[echo][concurrency] = perSecond;
        const { echoed: _echoed, ...run } = r;
        result.runs.push({ echo, concurrency, ...run, seconds: Math.round(r.seconds * 1000) / 1000, roundtrips_per_s: perSecond });
      }
      if (endpoint.cpuUs && busy) {
        opts.step?.(`echo in its own process woken ${WOKEN_RATE} times a second`);
        const before = await endpoint.cpuUs();
        const n = await paced(endpoint.port, WOKEN_RATE, ms);
        if (n === 0) throw new Error('no paced datagram came back from the echo');
        const woken = (await endpoint.cpuUs()) - before;
        result.echo_cpu = { busy_us: perDatagram(busy.us, busy.n), busy_concurrency: busy.concurrency, woken_us: perDatagram(woken, n), busy_datagrams: busy.n, woken_datagrams: n };
      }
    } finally {
      await endpoint.close();
    }
  }
  return result;
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const seconds = Number(process.argv[2] ?? 2);
  const r = await benchUdpCeiling({ seconds, step: (s) => console.error(s) });
  for (const run of r.runs) console.log(JSON.stringify(run));
  console.log(JSON.stringify({ echo_cpu: r.echo_cpu }));
}
