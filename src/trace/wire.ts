import type { PacketEvent } from './events.js';

/**
 * Each message appears on the trace twice when both ends are ours: the sender's 'send' and the receiver's
 * 'recv'. A view of the wire wants it once. The 'send' is the message as it left; a 'recv' is kept only when
 * no instrumented node sent it, i.e. it came from outside (SIPp, a softphone).
 *
 * A sender is known when its address is in `knownAddresses` (the topology's nodes and UEs), or when an
 * earlier 'send' came from exactly that address and port (nodes report their sends before the peer's
 * receive, so this also works without a node list).
 */
export class WireFilter {
  private readonly known: Set<string>;
  private readonly sendEndpoints = new Set<string>();

  constructor(knownAddresses: Iterable<string> = []) {
    this.known = new Set(knownAddresses);
  }

  /** True when the event is the one copy of its message that belongs on the wire. */
  accept(e: PacketEvent): boolean {
    if (e.direction === 'send') {
      this.sendEndpoints.add(`${e.local.address}|${e.local.port}`);
      return true;
    }
    if (this.known.has(e.remote.address)) return false;
    return !this.sendEndpoints.has(`${e.remote.address}|${e.remote.port}`);
  }
}
