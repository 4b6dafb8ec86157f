/**
 * Writes a baresip 1.0 configuration directory (config + accounts) for one account of `imslab serve`, from
 * the templates next to this file. For people and for test/interop/softphones:
 *
 *   npx tsx interop/baresip/render.ts --out /tmp/bs --transport tls --pcscf 127.0.1.1 --ca .imslab/digest/tls/ca.pem
 *   baresip -f /tmp/bs -e "/dial sip:dave@ims.mnc001.mcc001.3gppnetwork.org"
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const HERE = dirname(fileURLToPath(import.meta.url));

export interface BaresipOptions {
  transport: 'udp' | 'tcp' | 'tls';
  /** The P-CSCF's address and its port for that transport (5060, or 5061 for TLS). */
  pcscf: string;
  pcscfPort?: number;
  /** The CA certificate `imslab serve` prints as the TLS trust anchor. */
  caFile: string;
  user?: string;
  domain?: string;
  password?: string;
  /** baresip's own address; keep 127.0.0.1 (see config). */
  localAddress?: string;
  /** SIP port for UDP and TCP; baresip listens for TLS on the next one. */
  sipPort?: number;
  ctrlPort?: number;
  /** "min-max", even-sized. */
  rtpPorts?: string;
  /** Re-registration interval asked for, seconds. */
  regint?: number;
}

export function renderBaresip(outDir: string, o: BaresipOptions): { config: string; accounts: string } {
  const port = o.pcscfPort ?? (o.transport === 'tls' ? 5061 : 5060);
  const values: Record<string, string> = {
    LOCAL_ADDRESS: o.localAddress ?? '127.0.0.1',
    SIP_PORT: String(o.sipPort ?? 25060),
    CTRL_PORT: String(o.ctrlPort ?? 25070),
    RTP_PORTS: o.rtpPorts ?? '61400-61499',
    CA_FILE: resolve(o.caFile),
    TRANSPORT: o.transport.toUpperCase(),
    USER: o.user ?? 'carol',
    DOMAIN: o.domain ?? 'ims.mnc001.mcc001.3gppnetwork.org',
    PASSWORD: o.password ?? 'carol-secret',
    OUTBOUND: `sip:${o.pcscf}:${port};transport=${o.transport}`,
    REGINT: String(o.regint ?? 60),
  };
  mkdirSync(outDir, { recursive: true });
  const out = { config: join(outDir, 'config'), accounts: join(outDir, 'accounts') };
  for (const [name, file] of Object.entries(out)) {
    const text = fill(readFileSync(join(HERE, name), 'utf8'), values);
    writeFileSync(file, text);
  }
  return out;
}

/** Fills {{NAME}}; a placeholder left without a value is an error, not a silently broken config. */
export function fill(template: string, values: Record<string, string>): string {
  const text = template.replace(/\{\{([A-Z_]+)\}\}/g, (whole, name: string) => values[name] ?? whole);
  const left = /\{\{[A-Z_]+\}\}/.exec(text);
  if (left) throw new Error(`no value for ${left[0]}`);
  return text;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values: a } = parseArgs({
    options: {
      out: { type: 'string' },
      transport: { type: 'string', default: 'udp' },
      pcscf: { type: 'string', default: '127.0.1.1' },
      ca: { type: 'string', default: '.imslab/digest/tls/ca.pem' },
      user: { type: 'string' },
      password: { type: 'string' },
    },
  });
  if (!a.out || !['udp', 'tcp', 'tls'].includes(a.transport!)) {
    process.stderr.write('usage: render.ts --out DIR [--transport udp|tcp|tls] [--pcscf ADDRESS] [--ca CA.pem] [--user carol --password carol-secret]\n');
    process.exit(2);
  }
  const files = renderBaresip(a.out, {
    transport: a.transport as BaresipOptions['transport'],
    pcscf: a.pcscf!,
    caFile: a.ca!,
    ...(a.user ? { user: a.user } : {}),
    ...(a.password ? { password: a.password } : {}),
  });
  process.stdout.write(`wrote ${files.config} and ${files.accounts}\nrun: baresip -f ${a.out}\n`);
}
