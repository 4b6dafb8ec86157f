/**
 * Writes a linphonec 5.1 configuration (linphonerc) for one digest account of `imslab serve`, from the
 * template next to this file:
 *
 *   npx tsx interop/linphone/render.ts --out /tmp/lp --pcscf 127.0.1.1
 *   HOME=/tmp/lp linphonec -c /tmp/lp/linphonerc -a
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fill } from '../baresip/render.js';

const HERE = dirname(fileURLToPath(import.meta.url));

export interface LinphoneOptions {
  transport: 'udp' | 'tcp' | 'tls';
  /** The P-CSCF's IP address: linphone's outbound proxy and first route. */
  pcscf: string;
  /**
   * The P-CSCF's host name, the dNSName its certificate carries (imslab names node N of domain D "N.D"); over TLS
   * linphone accepts only a certificate with this subject. Default pcscf1.DOMAIN.
   */
  pcscfHost?: string;
  pcscfPort?: number;
  caFile: string;
  user?: string;
  domain?: string;
  password?: string;
  sipPort?: number;
  rtpPorts?: string;
  regint?: number;
}

/** Writes DIR/linphonerc and the directory linphone keeps its database in (it complains without one). */
export function renderLinphone(outDir: string, o: LinphoneOptions): string {
  const domain = o.domain ?? 'ims.mnc001.mcc001.3gppnetwork.org';
  const values: Record<string, string> = {
    // linphone 5.1: 0 disables a transport, -1 would open it on a random port.
    UDP_PORT: o.transport === 'udp' ? String(o.sipPort ?? 25080) : '0',
    TCP_PORT: o.transport === 'tcp' ? String(o.sipPort ?? 25080) : '0',
    TLS_PORT: o.transport === 'tls' ? String(o.sipPort ?? 25080) : '0',
    RTP_PORTS: o.rtpPorts ?? '61500-61599',
    CA_FILE: resolve(o.caFile),
    SERVER_NAME: `^${(o.pcscfHost ?? `pcscf1.${domain}`).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`,
    USER: o.user ?? 'carol',
    DOMAIN: domain,
    PASSWORD: o.password ?? 'carol-secret',
    PCSCF: o.pcscf,
    PCSCF_PORT: String(o.pcscfPort ?? (o.transport === 'tls' ? 5061 : 5060)),
    TRANSPORT: o.transport,
    REGINT: String(o.regint ?? 60),
  };
  mkdirSync(join(outDir, '.local/share/linphone'), { recursive: true });
  const file = join(outDir, 'linphonerc');
  writeFileSync(file, fill(readFileSync(join(HERE, 'linphonerc'), 'utf8'), values));
  return file;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values: a } = parseArgs({
    options: {
      out: { type: 'string' },
      transport: { type: 'string', default: 'udp' },
      pcscf: { type: 'string', default: '127.0.1.1' },
      'pcscf-host': { type: 'string' },
      ca: { type: 'string', default: '.imslab/digest/tls/ca.pem' },
    },
  });
  if (!a.out || !['udp', 'tcp', 'tls'].includes(a.transport!)) {
    process.stderr.write('usage: render.ts --out DIR [--transport udp|tcp|tls] [--pcscf ADDRESS] [--pcscf-host NAME] [--ca CA.pem]\n');
    process.exit(2);
  }
  const file = renderLinphone(a.out, { transport: a.transport as LinphoneOptions['transport'], pcscf: a.pcscf!, pcscfHost: a['pcscf-host'], caFile: a.ca! });
  process.stdout.write(`wrote ${file}\nrun: HOME=${a.out} linphonec -c ${file} -a\n`);
}
