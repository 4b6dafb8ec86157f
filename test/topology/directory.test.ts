import { describe, expect, it } from 'vitest';
import { Directory, reachableUri } from '../../src/topology/directory.js';

const D = 'ims.example.org';

describe('the URI a node is reached at (RFC 3263 §4.1: a sip: URI without a transport means UDP)', () => {
  const directory = new Directory(
    [
      { name: 'both', kind: 'scscf', address: '127.0.3.1', ports: { udp: 5060, tcp: 5060 }, domain: D },
      { name: 'tcponly', kind: 'scscf', address: '127.0.3.2', ports: { tcp: 5070 }, domain: D },
      { name: 'tlsonly', kind: 'pcscf', address: '::1', ports: { tls: 5061 }, domain: D },
    ],
    D,
  );

  it('names the transport whenever it is not UDP, for a Server-Name and for a route alike', () => {
    expect(reachableUri('127.0.3.1', { udp: 5060, tcp: 5060 })).toBe('sip:127.0.3.1:5060');
    expect(reachableUri('scscf1.ims.example.org', { tcp: 5070 })).toBe('sip:scscf1.ims.example.org:5070;transport=tcp');
    expect(reachableUri('::1', { tls: 5061 })).toBe('sips:[::1]:5061');
    expect(directory.sipUri('both', { lr: true })).toBe('sip:127.0.3.1:5060;lr');
    expect(directory.sipUri('tcponly', { lr: true })).toBe('sip:127.0.3.2:5070;transport=tcp;lr');
    expect(directory.sipUri('both', { transport: 'tcp', user: 'term' })).toBe('sip:term@127.0.3.1:5060;transport=tcp');
  });
});
