/**
 * `imslab sip check FILE --as proxy|uas|registrar` and `imslab sip parse FILE`: the codec and the verdicts on
 * a captured message, for students reading a torture test and vendors checking a handset's bytes.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { checkMessage, type Role } from '../sip/check/verdict.js';
import { isRequest, type SipMessage } from '../sip/message.js';
import { parseMessage, SipParseError } from '../sip/parser.js';
import { describeHeader } from '../sip/check/describe.js';

const ROLES: readonly Role[] = ['proxy', 'uas', 'registrar'];

export function registerSipCommands(program: Command): void {
  const sip = program.command('sip').description('SIP message codec tools');

  sip
    .command('check')
    .description('Say what an element does with a message: accept, reject (with status) or discard')
    .argument('<file>', 'a file holding one SIP message, bytes as on the wire')
    .option('--as <role>', 'proxy | uas | registrar', 'proxy')
    .option('--stream', 'the message came over TCP/TLS (Content-Length mandatory)')
    .action((file: string, opts: { as: string; stream?: boolean }) => {
      if (!ROLES.includes(opts.as as Role)) {
        process.stderr.write(`imslab sip check: --as must be one of ${ROLES.join(', ')}\n`);
        process.exitCode = 2;
        return;
      }
      const bytes = readInput(file);
      if (!bytes) return;
      const v = checkMessage(bytes, opts.as as Role, { transport: opts.stream ? 'stream' : 'datagram' });
      process.stdout.write(JSON.stringify({ verdict: v.verdict, status: v.status, reason: v.reason }) + '\n');
      process.exitCode = v.verdict === 'accept' ? 0 : 1;
    });

  sip
    .command('parse')
    .description('Print a SIP message as JSON: start line, headers in order, typed views, body')
    .argument('<file>', 'a file holding one SIP message')
    .action((file: string) => {
      const bytes = readInput(file);
      if (!bytes) return;
      try {
        process.stdout.write(JSON.stringify(messageToJson(parseMessage(bytes)), null, 2) + '\n');
      } catch (e) {
        if (!(e instanceof SipParseError)) throw e;
        process.stdout.write(JSON.stringify({ error: e.reason, partial: e.partial?.kind }) + '\n');
        process.exitCode = 1;
      }
    });
}

function readInput(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch (e) {
    process.stderr.write(`imslab sip: cannot read ${file}: ${(e as Error).message}\n`);
    process.exitCode = 2;
    return undefined;
  }
}

export function messageToJson(m: SipMessage): unknown {
  const startLine = isRequest(m)
    ? { method: m.method, uri: m.uri, version: m.version }
    : { version: m.version, status: m.status, reason: m.reason };
  const headers = [...m.headers.entries()].map(([name, value]) => ({ name, value, ...describeHeader(name, value, m) }));
  return { kind: m.kind, startLine, headers, body: bodyToJson(m.body) };
}

function bodyToJson(body: Buffer): { length: number; text?: string; base64?: string } {
  if (body.length === 0) return { length: 0 };
  for (const b of body) {
    if (b < 9 || (b > 13 && b < 32) || b === 127) return { length: body.length, base64: body.toString('base64') };
  }
  const text = body.toString('utf8');
  if (text.includes('\uFFFD')) return { length: body.length, base64: body.toString('base64') };
  return { length: body.length, text };
}
