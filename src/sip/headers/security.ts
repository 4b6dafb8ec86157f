/**
 * Security-Client / Security-Server / Security-Verify (RFC 3329 §2.2): a list of mechanisms with parameters;
 * for IMS the ipsec-3gpp mechanism of TS 33.203 §7.2 / Annex H and TS 24.229 §7.2A.7: alg, ealg, spi-c,
 * spi-s, port-c, port-s, prot, mod, q.
 */
import { SipParseError } from '../parser.js';
import { splitList } from '../syntax.js';
import { formatParams, isTokenChar, paramText, parseParams, parseUint, UINT32_MAX, type Params } from './lexical.js';

export interface SecurityMechanism {
  mechanism: string;
  params: Params;
}

/** Takes the header lines (Headers.getAll) or already split elements (Headers.list); both work. */
export function parseSecurityMechanisms(values: string[]): SecurityMechanism[] {
  const out: SecurityMechanism[] = [];
  for (const line of values) {
    for (const el of splitList(line)) {
      let i = 0;
      while (i < el.length && isTokenChar(el.charCodeAt(i))) i++;
      const mechanism = el.slice(0, i);
      if (!mechanism) throw new SipParseError(`Security mechanism missing in "${el.slice(0, 30)}"`);
      out.push({ mechanism, params: parseParams(el, i, 'Security mechanism') });
    }
  }
  return out;
}

export function formatSecurityMechanism(m: SecurityMechanism): string {
  return m.mechanism + formatParams(m.params);
}

/** One header value holding all mechanisms, comma-separated. */
export function formatSecurityMechanisms(ms: SecurityMechanism[]): string {
  return ms.map(formatSecurityMechanism).join(', ');
}

/** The ipsec-3gpp parameters of TS 33.203 §7.2, typed. */
export interface IpsecParams {
  alg?: string;
  ealg?: string;
  spiC?: number;
  spiS?: number;
  portC?: number;
  portS?: number;
  prot?: string;
  mod?: string;
  q?: number;
}

export function ipsecParams(m: SecurityMechanism): IpsecParams {
  const p = m.params;
  const num = (name: string, max: number): number | undefined => {
    const v = p.get(name);
    if (v == null) return undefined;
    const n = parseUint(v, max);
    if (n === undefined) throw new SipParseError(`ipsec-3gpp: bad ${name} "${v}"`);
    return n;
  };
  const out: IpsecParams = {};
  const alg = paramText(p, 'alg');
  if (alg !== undefined) out.alg = alg;
  const ealg = paramText(p, 'ealg');
  if (ealg !== undefined) out.ealg = ealg;
  const spiC = num('spi-c', UINT32_MAX);
  if (spiC !== undefined) out.spiC = spiC;
  const spiS = num('spi-s', UINT32_MAX);
  if (spiS !== undefined) out.spiS = spiS;
  const portC = num('port-c', 65535);
  if (portC !== undefined) out.portC = portC;
  const portS = num('port-s', 65535);
  if (portS !== undefined) out.portS = portS;
  const prot = paramText(p, 'prot');
  if (prot !== undefined) out.prot = prot;
  const mod = paramText(p, 'mod');
  if (mod !== undefined) out.mod = mod;
  const q = p.get('q');
  if (q != null) out.q = Number(q);
  return out;
}
