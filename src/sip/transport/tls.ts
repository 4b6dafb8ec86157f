import type { Socket } from 'node:net';
import tls from 'node:tls';
import type { TlsCredentials } from '../../tls/authority.js';
import type { StreamSocketFactory } from './tcp.js';

/**
 * SIP over TLS (RFC 3261 §26.3.1, RFC 5922): the stream transport of tcp.ts on TLS sockets. As a server the
 * node presents its certificate and asks nothing of clients (handsets seldom have certificates); as a
 * client it verifies the next hop against the topology CA and its IP address against the certificate's
 * subjectAltName (RFC 5922 §7.1), and offers its own certificate for mutual authentication.
 */
export function tlsSockets(credentials: Pick<TlsCredentials, 'key' | 'cert' | 'ca'>): StreamSocketFactory {
  const common = { key: credentials.key, cert: credentials.cert, ca: credentials.ca, minVersion: 'TLSv1.2' as const };
  return {
    protocol: 'tls',
    readyEvent: 'secureConnect',
    createServer(onSocket, onError) {
      const server = tls.createServer({ ...common, requestCert: false }, onSocket);
      // A client that refuses our certificate hangs up, and the error comes after the close, when the TLS
      // socket no longer knows its peer: the address is kept from the TCP connection it wraps.
      const peers = new WeakMap<object, string>();
      server.on('connection', (raw: Socket) => peers.set(raw, `${raw.remoteAddress}:${raw.remotePort}`));
      server.on('tlsClientError', (err, socket) => {
        const parent = (socket as unknown as { _parent?: object })._parent;
        const peer = (parent && peers.get(parent)) ?? `${socket.remoteAddress}:${socket.remotePort}`;
        onError(new Error(`handshake with ${peer} failed: ${err.message}`));
      });
      return server;
    },
    connect(to, localAddress) {
      // No SNI for IP literals (RFC 6066 §3); Node then checks the IP against the iPAddress SAN entries.
      // localAddress is handed on to net.Socket.connect (not in the tls typings).
      const options: tls.ConnectionOptions & { localAddress: string } = {
        ...common,
        host: to.address,
        port: to.port,
        localAddress,
        rejectUnauthorized: true,
      };
      return tls.connect(options);
    },
  };
}
