/**
 * TS 24.229 §5.1.1.2.1: the initial REGISTER carries an Authorization header with username = the private user
 * identity, realm and uri of the home network, and empty nonce and response; the S-CSCF needs the IMPI before
 * it can ask the HSS for a vector (TS 24.229 §5.4.1.2.1, TS 29.228 §6.3).
 */
import { parseCredentials } from '../../sip/headers/auth.js';
import type { Requirement } from '../model.js';
import { met, notMet } from './outcome.js';

export const initialRegisterAuthorization: Requirement = {
  id: 'initial-register-authorization',
  clause: 'TS 24.229 §5.1.1.2.1',
  title: 'Initial REGISTER carries Authorization with username = IMPI and empty nonce and response',
  appliesWhen: 'the UE sent a REGISTER',
  appliesTo: (ctx) => ctx.registers().length > 0,
  evaluate(ctx) {
    const first = ctx.registers()[0]!;
    const where = ctx.describe(first);
    const advice =
      'Send Authorization: Digest username="<IMPI>", realm="<home domain>", uri="sip:<home domain>", nonce="", response="" in the initial REGISTER.';
    const value = first.message.headers.get('Authorization');
    if (value === undefined) return notMet(`${where}: no Authorization header`, advice);
    let c;
    try {
      c = parseCredentials(value);
    } catch (e) {
      return notMet(`${where}: unreadable Authorization (${(e as Error).message})`, advice);
    }
    const missing: string[] = [];
    if (!c.username) missing.push('username');
    if (c.realm === undefined) missing.push('realm');
    if (c.uri === undefined) missing.push('uri');
    if (c.nonce === undefined) missing.push('nonce=""');
    if (c.response === undefined) missing.push('response=""');
    const wrong: string[] = [];
    if (c.nonce) wrong.push('nonce is not empty');
    if (c.response) wrong.push('response is not empty');
    if (c.username && !c.username.includes('@')) wrong.push(`username "${c.username}" is not an IMPI (user@realm, TS 23.003 §13.3)`);
    const line = ctx.headerLine(first, 'Authorization');
    if (missing.length || wrong.length) {
      return notMet(`${where}: ${line} — ${[...missing.map((m) => `missing ${m}`), ...wrong].join(', ')}`, advice);
    }
    return met(`${where}: ${line}`);
  },
};
