import { connect as tcpConnect, createServer, type Server, type Socket } from 'node:net';
import { filter, firstValueFrom, timeout } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { avp } from '../../src/diameter/avp.js';
import { decodeMessage, encodeMessage } from '../../src/diameter/codec.js';
import {
  CX_APPLICATION_ID,
  CxClient,
  CxCommandCode,
  MultimediaAuthAnswer,
  MultimediaAuthRequest,
  SipAuthenticationScheme,
} from '../../src/diameter/cx/index.js';
import { DiameterFramer } from '../../src/diameter/framing.js';
import { CommandFlags, DiameterMessage } from '../../src/diameter/message.js';
import { DiameterNode, type DiameterNodeOptions } from '../../src/diameter/node.js';
import { DiameterTimeoutError, DisconnectCause } from '../../src/diameter/peer.js';
import { FakeClock, SystemClock, type Clock } from '../../src/util/clock.js';
import { SeededRandom } from '../../src/util/random.js';
import { TraceBus, type PacketEvent, type TraceEvent } from '../../src/trace/events.js';

const HSS_ADDR = '127.0.70.4';
const SCSCF_ADDR = '127.0.70.3';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Net {
  clock: Clock;
  trace: TraceBus;
  events: TraceEvent[];
}

function net(clock: Clock = new SystemClock()): Net {
  const trace = new TraceBus(clock);
  const events: TraceEvent[] = [];
  const sub = trace.events$.subscribe((e) => events.push(e));
  cleanups.push(() => sub.unsubscribe());
  return { clock, trace, events };
}

function node(n: Net, name: string, address: string, extra: Partial<DiameterNodeOptions> = {}): DiameterNode {
  const d = new DiameterNode({
    name,
    originHost: `${name}.ims.test`,
    originRealm: 'ims.test',
    address,
    port: 0,
    clock: n.clock,
    random: new SeededRandom(name),
    trace: n.trace,
    ...extra,
  });
  cleanups.push(() => d.close());
  return d;
}

/** An HSS answering MAR with one AKA vector that echoes the user, so answers can be matched to requests. */
function maaResponder(hss: DiameterNode): void {
  hss.onRequest(CxCommandCode.MultimediaAuth, (req) => {
    const r = MultimediaAuthRequest.decode(req);
    return MultimediaAuthAnswer.encode({
      resultCode: 2001,
      userName: r.userName,
      publicIdentity: r.publicIdentity,
      sipNumberAuthItems: 1,
      sipAuthDataItems: [{ itemNumber: 1, authenticationScheme: SipAuthenticationScheme.AKAv1_MD5, authenticate: Buffer.alloc(32, 0xa5) }],
    });
  });
}

function marFor(user: string) {
  return {
    userName: `${user}@ims.test`,
    publicIdentity: `sip:${user}@ims.test`,
    serverName: 'sip:scscf.ims.test',
    sipNumberAuthItems: 1,
    sipAuthDataItem: { authenticationScheme: SipAuthenticationScheme.AKAv1_MD5 },
  };
}

function waitPacket(n: Net, pred: (e: PacketEvent, m: DiameterMessage) => boolean, ms = 3000): Promise<DiameterMessage> {
  return firstValueFrom(
    n.trace.events$.pipe(
      filter((e): e is PacketEvent => e.type === 'packet' && pred(e, decodeMessage(e.bytes))),
      timeout(ms),
    ),
  ).then((e) => decodeMessage(e.bytes));
}

function packets(n: Net): { e: PacketEvent; m: DiameterMessage }[] {
  return n.events.filter((e): e is PacketEvent => e.type === 'packet').map((e) => ({ e, m: decodeMessage(e.bytes) }));
}

async function pair(n: Net, extra: Partial<DiameterNodeOptions> = {}) {
  const hss = node(n, 'hss', HSS_ADDR, extra);
  maaResponder(hss);
  const ep = await hss.listen();
  const scscf = node(n, 'scscf', SCSCF_ADDR, extra);
  const conn = await scscf.connect(ep.address, ep.port);
  return { hss, scscf, conn, ep };
}

/** A raw TCP client, for sending what no well-behaved node would. */
function rawClient(port: number, localAddress = '127.0.70.9'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect({ host: HSS_ADDR, port, localAddress }, () => resolve(s));
    s.once('error', reject);
    cleanups.push(() => void s.destroy());
  });
}

function closedPromise(s: Socket, ms = 3000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (s.destroyed) return resolve();
    const t = setTimeout(() => reject(new Error('socket not closed')), ms);
    s.once('close', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

describe('DiameterNode over TCP on loopback', () => {
  it('exchanges CER/CEA with identity, Host-IP-Address, Product-Name and the Cx application', async () => {
    const n = net();
    const { conn, hss } = await pair(n);
    expect(conn.state).toBe('Open');
    expect(conn.peer).toMatchObject({ originHost: 'hss.ims.test', originRealm: 'ims.test', productName: 'imslab', hostIpAddresses: [HSS_ADDR] });
    expect(conn.applications).toEqual([CX_APPLICATION_ID]);
    expect(conn.local.address).toBe(SCSCF_ADDR);
    expect(conn.remote.address).toBe(HSS_ADDR);

    const [cer, cea] = packets(n).filter((p) => p.e.direction === 'send');
    expect(cer!.e.node).toBe('scscf');
    expect(cer!.m.commandCode).toBe(257);
    expect(cer!.m.flags).toBe(CommandFlags.Request);
    expect(cer!.m.get(257)!.asAddress().address).toBe(SCSCF_ADDR);
    expect(cer!.m.get(269)!.asString()).toBe('imslab');
    const vsai = cer!.m.get(260)!;
    expect(vsai.get(266)!.asU32()).toBe(10415);
    expect(vsai.get(258)!.asU32()).toBe(CX_APPLICATION_ID);
    expect(cea!.e.node).toBe('hss');
    expect(cea!.m.resultCode).toBe(2001);
    expect(cea!.m.hopByHop).toBe(cer!.m.hopByHop);
    expect(cea!.m.endToEnd).toBe(cer!.m.endToEnd);
    expect(hss.peer('scscf.ims.test')?.state).toBe('Open');
  });

  it('reports every send and receive on the trace with endpoints and the exact bytes', async () => {
    const n = net();
    const { scscf, conn } = await pair(n);
    const maa = await new CxClient(scscf, conn).mar(marFor('alice'));
    expect(maa.resultCode).toBe(2001);
    const p = packets(n);
    // CER, CEA, MAR, MAA: each seen once sent and once received.
    expect(p.length).toBe(8);
    for (const { e } of p) {
      expect(e.protocol).toBe('diameter');
      expect(e.transport).toBe('tcp');
    }
    const marSent = p.find((x) => x.e.direction === 'send' && x.m.commandCode === 303 && x.m.isRequest)!;
    const marRecv = p.find((x) => x.e.direction === 'recv' && x.m.commandCode === 303 && x.m.isRequest)!;
    expect(marSent.e.bytes.equals(marRecv.e.bytes)).toBe(true);
    expect(marSent.e.local).toEqual(marRecv.e.remote);
    expect(marSent.e.remote).toEqual(marRecv.e.local);
    expect(marRecv.e.local.address).toBe(HSS_ADDR);
  });

  it('answers CER with 5010 when there is no common application, and 3010 for an unknown peer', async () => {
    const n = net();
    const hss = node(n, 'hss', HSS_ADDR, { acceptPeer: (p) => p.originHost !== 'rogue.ims.test' });
    const ep = await hss.listen();
    const other = node(n, 'other', SCSCF_ADDR, { applications: [{ authApplicationId: 4 }] });
    await expect(other.connect(ep.address, ep.port)).rejects.toThrow(/DIAMETER_NO_COMMON_APPLICATION/);
    const rogue = node(n, 'rogue', '127.0.70.5');
    await expect(rogue.connect(ep.address, ep.port)).rejects.toThrow(/DIAMETER_UNKNOWN_PEER/);
    const good = node(n, 'good', '127.0.70.6');
    await expect(good.connect(ep.address, ep.port)).resolves.toMatchObject({ state: 'Open' });
  });

  it('answers 1,000 pipelined requests, each matched to its own request', async () => {
    const n = net();
    const { scscf, conn } = await pair(n);
    const cx = new CxClient(scscf, conn);
    const users = Array.from({ length: 1000 }, (_, i) => `user${i}`);
    const answers = await Promise.all(users.map((u) => cx.mar(marFor(u))));
    answers.forEach((a, i) => {
      expect(a.resultCode).toBe(2001);
      expect(a.userName).toBe(`${users[i]}@ims.test`);
    });
    expect(conn.inFlight).toBe(0);
    const hbh = packets(n)
      .filter((p) => p.e.node === 'scscf' && p.e.direction === 'send' && p.m.commandCode === 303)
      .map((p) => p.m.hopByHop);
    expect(new Set(hbh).size).toBe(1000);
  });

  it('rejects a request with DiameterTimeoutError when no answer comes (FakeClock)', async () => {
    const clock = new FakeClock();
    const n = net(clock);
    const hss = node(n, 'hss', HSS_ADDR, { requestTimeoutMs: 4000 });
    let seen = 0;
    hss.onRequest(CxCommandCode.MultimediaAuth, () => {
      seen++;
      return new Promise<DiameterMessage>(() => undefined);
    });
    const ep = await hss.listen();
    const scscf = node(n, 'scscf', SCSCF_ADDR, { requestTimeoutMs: 4000 });
    const conn = await scscf.connect(ep.address, ep.port);
    const p = new CxClient(scscf, conn).mar(marFor('slow'));
    await waitPacket(n, (e, m) => e.node === 'hss' && e.direction === 'recv' && m.commandCode === 303);
    expect(seen).toBe(1);
    clock.advance(3999);
    expect(conn.inFlight).toBe(1);
    clock.advance(1);
    await expect(p).rejects.toBeInstanceOf(DiameterTimeoutError);
    expect(conn.inFlight).toBe(0);
  });

  it('answers an unknown command with 3001 and the E bit', async () => {
    const n = net();
    const { scscf, conn } = await pair(n);
    const req = DiameterMessage.request(9999, CX_APPLICATION_ID, [
      avp('Session-Id', scscf.newSessionId()),
      avp('Origin-Host', 'scscf.ims.test'),
      avp('Origin-Realm', 'ims.test'),
      avp('Destination-Realm', 'ims.test'),
    ]);
    const ans = await conn.request(req);
    expect(ans.resultCode).toBe(3001);
    expect(ans.isError).toBe(true);
    expect(ans.commandCode).toBe(9999);
    expect(ans.avps[0]!.code).toBe(263);
    expect(ans.originHost).toBe('hss.ims.test');
  });

  it('answers an unsupported application with 3007', async () => {
    const n = net();
    const { conn } = await pair(n);
    const ans = await conn.request(DiameterMessage.request(303, 16777217, [avp('Origin-Host', 'x'), avp('Origin-Realm', 'y')]));
    expect(ans.resultCode).toBe(3007);
    expect(ans.isError).toBe(true);
  });

  it('answers an unknown AVP with the M bit with 5001 and Failed-AVP', async () => {
    const n = net();
    const { scscf, conn } = await pair(n);
    const req = MultimediaAuthRequest.encode({
      sessionId: scscf.newSessionId(),
      originHost: 'scscf.ims.test',
      originRealm: 'ims.test',
      destinationRealm: 'ims.test',
      ...marFor('alice'),
    });
    req.avps.push(avp(77777, Buffer.from([1, 2, 3]), { vendor: 10415, type: 'OctetString', mandatory: true }));
    const ans = await conn.request(req);
    expect(ans.resultCode).toBe(5001);
    expect(ans.isError).toBe(false);
    const failed = ans.get(279)!.asGrouped()[0]!;
    expect(failed.code).toBe(77777);
    expect(failed.vendorId).toBe(10415);
    expect(failed.asBytes().equals(Buffer.from([1, 2, 3]))).toBe(true);
    // Answer keeps the Cx shape (TS 29.229 §6.1.8).
    expect(ans.get(260)).toBeDefined();
    // The same unknown AVP without the M bit is ignored.
    const ok = MultimediaAuthRequest.encode({ sessionId: scscf.newSessionId(), originHost: 'scscf.ims.test', originRealm: 'ims.test', destinationRealm: 'ims.test', ...marFor('bob') });
    ok.avps.push(avp(77777, Buffer.from([1]), { vendor: 10415, type: 'OctetString', mandatory: false }));
    expect((await conn.request(ok)).resultCode).toBe(2001);
  });

  it('answers a request missing a required AVP with 5005 and Failed-AVP naming it', async () => {
    const n = net();
    const { scscf, conn } = await pair(n);
    const req = MultimediaAuthRequest.encode({
      sessionId: scscf.newSessionId(),
      originHost: 'scscf.ims.test',
      originRealm: 'ims.test',
      destinationRealm: 'ims.test',
      ...marFor('alice'),
    });
    req.avps = req.avps.filter((a) => a.code !== 1);
    const ans = await conn.request(req);
    expect(ans.resultCode).toBe(5005);
    const failed = ans.get(279)!.asGrouped()[0]!;
    expect(failed.code).toBe(1);
    expect(failed.vendorId).toBe(0);
  });

  it('answers a handler crash with 5012 and keeps serving', async () => {
    const n = net();
    const hss = node(n, 'hss', HSS_ADDR);
    let calls = 0;
    hss.onRequest(CxCommandCode.MultimediaAuth, (req) => {
      if (calls++ === 0) throw new Error('boom');
      return MultimediaAuthAnswer.encode({ resultCode: 2001, sipAuthDataItems: [], userName: MultimediaAuthRequest.decode(req).userName });
    });
    const ep = await hss.listen();
    const scscf = node(n, 'scscf', SCSCF_ADDR);
    const cx = new CxClient(scscf, await scscf.connect(ep.address, ep.port));
    expect((await cx.mar(marFor('a'))).resultCode).toBe(5012);
    expect((await cx.mar(marFor('b'))).resultCode).toBe(2001);
  });

  it('answers a request with a broken AVP with 5014, Session-Id kept, and stays open', async () => {
    const n = net();
    const { ep } = await pair(n);
    const s = await rawClient(ep.port);
    const framer = new DiameterFramer();
    const got: DiameterMessage[] = [];
    s.on('data', (c: Buffer) => framer.push(c, (m) => got.push(decodeMessage(m))));
    const cer = DiameterMessage.request(257, 0, [
      avp('Origin-Host', 'raw.ims.test'),
      avp('Origin-Realm', 'ims.test'),
      avp('Host-IP-Address', '127.0.70.9'),
      avp('Vendor-Id', 0),
      avp('Product-Name', 'raw'),
      avp('Auth-Application-Id', CX_APPLICATION_ID),
    ], false);
    cer.hopByHop = 1;
    s.write(encodeMessage(cer));
    const bad = MultimediaAuthRequest.encode({ sessionId: 'raw;1;1', originHost: 'raw.ims.test', originRealm: 'ims.test', destinationRealm: 'ims.test', ...marFor('x') });
    bad.hopByHop = 2;
    const bytes = encodeMessage(bad);
    // Corrupt the User-Name AVP length (after Session-Id 16, VSAI 32, ASS 12, OH 20, OR 16, DR 16 → 20 + 112).
    expect(bytes.readUInt32BE(132)).toBe(1);
    bytes.writeUIntBE(0xffff, 137, 3);
    s.write(bytes);
    await expect.poll(() => got.length, { timeout: 3000 }).toBe(2);
    expect(got[0]!.resultCode).toBe(2001);
    expect(got[1]!.hopByHop).toBe(2);
    expect(got[1]!.resultCode).toBe(5014);
    expect(got[1]!.sessionId).toBe('raw;1;1');
    expect(got[1]!.get(279)!.asGrouped()[0]!.code).toBe(1);
    expect(s.destroyed).toBe(false);
  });

  it('closes a connection that sends garbage, and still serves the next client', async () => {
    const n = net();
    const hss = node(n, 'hss', HSS_ADDR);
    maaResponder(hss);
    const ep = await hss.listen();
    const s = await rawClient(ep.port);
    const closed = closedPromise(s);
    s.write(Buffer.from('GET / HTTP/1.1\r\nHost: hss\r\n\r\n'));
    await closed;
    const scscf = node(n, 'scscf', SCSCF_ADDR);
    const conn = await scscf.connect(ep.address, ep.port);
    expect((await new CxClient(scscf, conn).mar(marFor('after'))).resultCode).toBe(2001);
    expect(n.events.some((e) => e.type === 'note' && e.node === 'hss' && /closing: version 71/.test(e.text))).toBe(true);
  });

  it('closes a connection whose first message is not a CER', async () => {
    const n = net();
    const { ep } = await pair(n);
    const s = await rawClient(ep.port);
    const closed = closedPromise(s);
    s.write(encodeMessage(MultimediaAuthRequest.encode({ sessionId: 'r;1;1', originHost: 'r', originRealm: 'r', destinationRealm: 'ims.test', ...marFor('x') })));
    await closed;
  });

  it('DPR/DPA: a closing node says goodbye with Disconnect-Cause and both sides close', async () => {
    const n = net();
    const { hss, scscf, conn } = await pair(n);
    const hssSide = hss.peer('scscf.ims.test')!;
    await scscf.close(DisconnectCause.BUSY);
    await hssSide.closed;
    expect(conn.state).toBe('Closed');
    expect(hssSide.state).toBe('Closed');
    expect(hss.connections.length).toBe(0);
    const dpr = packets(n).find((p) => p.e.node === 'scscf' && p.e.direction === 'send' && p.m.commandCode === 282)!;
    expect(dpr.m.isRequest).toBe(true);
    expect(dpr.m.get(273)!.asEnum()).toBe(DisconnectCause.BUSY);
    const dpa = packets(n).find((p) => p.e.node === 'scscf' && p.e.direction === 'recv' && p.m.commandCode === 282)!;
    expect(dpa.m.resultCode).toBe(2001);
    expect(hssSide.closeReason).toMatch(/BUSY/);
    await expect(conn.request(MultimediaAuthRequest.encode({ ...marFor('x'), sessionId: 's', originHost: 'a', originRealm: 'b', destinationRealm: 'c' }))).rejects.toThrow(/Closed/);
  });

  it('DWR/DWA: an idle connection is watched every Tw (FakeClock), and traffic postpones the watchdog', async () => {
    const clock = new FakeClock();
    const n = net(clock);
    const { conn, hss } = await pair(n, { watchdogIntervalMs: 30_000 });
    const dwrs = () => packets(n).filter((p) => p.e.direction === 'send' && p.m.commandCode === 280 && p.m.isRequest);
    clock.advance(27_000);
    expect(dwrs().length).toBe(0);
    // Tw = 30 s ± 2 s: by 32 s both sides have sent one DWR.
    clock.advance(5_000);
    await expect.poll(() => packets(n).filter((p) => p.e.direction === 'recv' && p.m.commandCode === 280 && !p.m.isRequest).length, { timeout: 3000 }).toBe(2);
    const sent = dwrs();
    expect(sent.map((p) => p.e.node).sort()).toEqual(['hss', 'scscf']);
    const dwa = packets(n).find((p) => p.e.node === 'scscf' && p.e.direction === 'recv' && p.m.commandCode === 280 && !p.m.isRequest)!;
    expect(dwa.m.resultCode).toBe(2001);
    expect(dwa.m.originHost).toBe('hss.ims.test');
    expect(conn.state).toBe('Open');
    expect(hss.peer('scscf.ims.test')!.state).toBe('Open');
  });

  it('watchdog closes a connection whose peer never answers DWR (RFC 3539: OKAY → SUSPECT → DOWN)', async () => {
    const clock = new FakeClock();
    const n = net(clock);
    // A peer that answers CER and then stays silent.
    const sockets: Socket[] = [];
    const silent: Server = createServer((sock) => {
      sockets.push(sock);
      const f = new DiameterFramer();
      sock.on('data', (c: Buffer) =>
        f.push(c, (bytes) => {
          const m = decodeMessage(bytes);
          if (m.commandCode !== 257) return;
          sock.write(
            encodeMessage(
              DiameterMessage.answerTo(m, [
                avp('Result-Code', 2001),
                avp('Origin-Host', 'silent.ims.test'),
                avp('Origin-Realm', 'ims.test'),
                avp('Host-IP-Address', HSS_ADDR),
                avp('Vendor-Id', 0),
                avp('Product-Name', 'silent'),
                avp('Auth-Application-Id', CX_APPLICATION_ID),
              ]),
            ),
          );
        }),
      );
      sock.on('error', () => undefined);
    });
    await new Promise<void>((r) => silent.listen(0, HSS_ADDR, r));
    cleanups.push(
      () =>
        new Promise<void>((r) => {
          for (const x of sockets) x.destroy();
          silent.close(() => r());
        }),
    );
    const port = (silent.address() as { port: number }).port;
    const scscf = node(n, 'scscf', SCSCF_ADDR, { requestTimeoutMs: 100_000 });
    const conn = await scscf.connect(HSS_ADDR, port);
    clock.advance(32_000);
    // The DWR is written during advance(); the trace saw it synchronously.
    expect(packets(n).filter((p) => p.e.direction === 'send' && p.m.commandCode === 280).length).toBe(1);
    expect(conn.state).toBe('Open');
    clock.advance(32_000);
    expect(n.events.some((e) => e.type === 'note' && /SUSPECT/.test(e.text))).toBe(true);
    expect(conn.state).toBe('Open');
    clock.advance(32_000);
    await conn.closed;
    expect(conn.closeReason).toMatch(/watchdog/);
  });
});
