import { describe, expect, it } from 'vitest';
import { TurnWriter, type ByteSink } from '../../src/util/turn-writer.js';

class Sink implements ByteSink {
  destroyed = false;
  readonly writes: string[] = [];
  write(bytes: Buffer): boolean {
    this.writes.push(bytes.toString());
    return true;
  }
}

const turnEnds = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('TurnWriter', () => {
  it("writes what a turn queued in one write, in order, once the turn's callbacks have run", async () => {
    const sink = new Sink();
    const w = new TurnWriter(sink);
    w.push(Buffer.from('INVITE '));
    w.push(Buffer.from('BYE '));
    await Promise.resolve();
    w.push(Buffer.from('ACK'));
    expect(sink.writes).toEqual([]);
    expect(w.queuedBytes).toBe(14);
    await turnEnds();
    expect(sink.writes).toEqual(['INVITE BYE ACK']);
    expect(w.queuedBytes).toBe(0);
    w.push(Buffer.from('next turn'));
    await turnEnds();
    expect(sink.writes).toEqual(['INVITE BYE ACK', 'next turn']);
  });

  it('flush() writes at once (before a close), and the turn then writes nothing twice', async () => {
    const sink = new Sink();
    const w = new TurnWriter(sink);
    w.push(Buffer.from('200 OK'));
    w.flush();
    expect(sink.writes).toEqual(['200 OK']);
    await turnEnds();
    expect(sink.writes).toEqual(['200 OK']);
  });

  it('drops what is queued for a socket destroyed meanwhile', async () => {
    const sink = new Sink();
    const w = new TurnWriter(sink);
    w.push(Buffer.from('lost'));
    sink.destroyed = true;
    await turnEnds();
    expect(sink.writes).toEqual([]);
    expect(w.queuedBytes).toBe(0);
  });
});
