import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CsvError, importSubscriberCsv, parseKey, parseScheme, parseSqn } from '../hss/csv.js';
import { SqliteSubscriberStore } from '../hss/sqlite-store.js';
import { StoreError } from '../hss/store.js';
import { defaultSchemes, normaliseImpu, SubscriberError, subscriberToJson, type Subscriber } from '../hss/subscriber.js';
import { checkImsSubscriptionXml } from '../hss/user-data.js';
import { DEREGISTRATION_REASONS, type CxOutcome } from '../control/commands.js';
import { addTargetOptions, describeCxOutcome, withControl, type ControlTarget } from './control.js';

/**
 * `imslab hss …`: provisioning of the embedded subscriber store (`<data>/hss.sqlite`). Commands that act on a
 * running core (deregister, push-profile) go to the HSS of a running `imslab serve` over its control channel.
 */
export function registerHssCommands(program: Command): void {
  const hss = program.command('hss').description('the subscriber store: provision users for the HSS (TS 29.228)');
  const dataOption = (c: Command) =>
    c.option('--data <dir>', 'data directory holding hss.sqlite (default: $IMSLAB_DATA or ./.imslab)');

  dataOption(hss.command('import').argument('<file>', 'a ;-separated subscriber file (SIPp -inf compatible)'))
    .description('import subscribers from a CSV file, all or nothing')
    .action((file: string, opts: { data?: string }) =>
      withStore(opts, (store) => {
        const text = readText(file);
        const subs = importSubscriberCsv(store, text, file);
        console.log(`imported ${subs.length} subscriber${subs.length === 1 ? '' : 's'} from ${file} into ${store.path}`);
      }),
    );

  dataOption(hss.command('add'))
    .description('add or replace one subscriber')
    .requiredOption('--impi <nai>', 'private identity, user@realm')
    .requiredOption('--impu <uri...>', 'public identity (repeat for the implicit registration set)')
    .option('--k <key>', 'K: 32 hex digits (or 16 characters, as SIPp takes it)')
    .option('--op <op>', 'OP: 32 hex digits (or 16 characters)')
    .option('--opc <opc>', 'OPc: 32 hex digits (or 16 characters)')
    .option('--amf <amf>', 'AMF: 4 hex digits', '8000')
    .option('--sqn <sqn>', 'SQN: up to 12 hex digits', '0')
    .option('--password <password>', 'password for SIP Digest')
    .option('--scheme <scheme...>', 'allowed schemes: AKAv1-MD5, AKAv2-MD5, "SIP Digest" (default: from the credentials)')
    .option('--barred <uri...>', 'public identities that are barred')
    .option('--visited <network...>', 'visited networks the user may register from (* = any; default: home only)')
    .option('--user-data <file>', 'an IMSSubscription XML document (TS 29.228 Annex E) to send as User-Data')
    .action((opts: AddOptions) =>
      withStore(opts, (store) => {
        const s = subscriberFromOptions(opts);
        store.put(s);
        console.log(`stored ${s.impi} (${s.impus.map((p) => p.uri).join(', ')}; ${s.authSchemes.join(', ')})`);
      }),
    );

  dataOption(hss.command('list'))
    .description('list subscribers with their registration state')
    .option('--json', 'one JSON array instead of a table')
    .action((opts: { data?: string; json?: boolean }) =>
      withStore(opts, (store) => {
        const subs = store.list();
        if (opts.json) {
          console.log(JSON.stringify(subs.map((s) => ({ impi: s.impi, impus: s.impus.map((p) => p.uri), authSchemes: s.authSchemes })), null, 2));
          return;
        }
        if (subs.length === 0) {
          console.log(`no subscribers in ${store.path}`);
          return;
        }
        for (const s of subs) {
          const states = s.impus.map((p) => {
            const r = store.getRegistration(p.uri);
            return `${p.uri}${p.barred ? ' (barred)' : ''} ${r.state}${r.serverName ? ' @ ' + r.serverName : ''}`;
          });
          console.log(`${s.impi}  [${s.authSchemes.join(', ')}]  sqn ${s.sqn.toString(16).padStart(12, '0')}`);
          for (const line of states) console.log(`  ${line}`);
        }
      }),
    );

  dataOption(hss.command('show').argument('<impi>', 'private identity'))
    .description('one subscriber as JSON, secrets included (marked) since this is a lab')
    .action((impi: string, opts: { data?: string }) =>
      withStore(opts, (store) => {
        const s = store.get(impi);
        if (!s) throw new OptionError(`no subscriber ${impi} in ${store.path}`);
        const registrations = s.impus.map((p) => store.getRegistration(p.uri));
        console.log(JSON.stringify({ ...subscriberToJson(s), registrations }, null, 2));
      }),
    );

  dataOption(hss.command('remove').argument('<impi>', 'private identity'))
    .description('remove a subscriber and the state of its public identities')
    .action((impi: string, opts: { data?: string }) =>
      withStore(opts, (store) => {
        if (!store.remove(impi)) throw new OptionError(`no subscriber ${impi} in ${store.path}`);
        console.log(`removed ${impi}`);
      }),
    );

  addTargetOptions(hss.command('deregister').argument('<identity>', 'an IMPU (with its implicit registration set) or an IMPI'))
    .description('network-initiated de-registration: the running HSS sends RTR to the serving S-CSCF (TS 29.228 §6.1.3)')
    .option('--reason <reason>', `Reason-Code: ${Object.keys(DEREGISTRATION_REASONS).join(' | ')}`, 'permanent')
    .option('--reason-info <text>', 'Reason-Info, the words the S-CSCF may pass on to the UE')
    .action((identity: string, o: ControlTarget & { reason: string; reasonInfo?: string }) => {
      if (!(o.reason in DEREGISTRATION_REASONS)) {
        process.stderr.write(`error: --reason: "${o.reason}" is not one of ${Object.keys(DEREGISTRATION_REASONS).join(', ')}\n`);
        process.exitCode = 1;
        return;
      }
      return withControl(o, async (c) => {
        const r = await c.request<CxOutcome>('hss.deregister', { target: identity, reason: o.reason, ...(o.reasonInfo !== undefined ? { reasonInfo: o.reasonInfo } : {}) });
        process.stdout.write(o.json ? `${JSON.stringify(r, null, 2)}\n` : `${describeCxOutcome('RTA', r)}\n`);
        return r.success;
      });
    });

  addTargetOptions(hss.command('push-profile').argument('<impi>', 'private identity whose profile changed'))
    .description('the running HSS sends the current User-Data to the S-CSCF holding it (PPR, TS 29.228 §6.2.2)')
    .action((impi: string, o: ControlTarget) =>
      withControl(o, async (c) => {
        const r = await c.request<CxOutcome>('hss.push-profile', { impi });
        process.stdout.write(o.json ? `${JSON.stringify(r, null, 2)}\n` : `${describeCxOutcome('PPA', r)}\n`);
        return r.success;
      }),
    );

  const scscf = hss.command('scscf').description('the S-CSCF capability table the I-CSCF selects from (TS 29.228 §6.7)');
  dataOption(scscf.command('add').argument('<server-name>', 'SIP URI of the S-CSCF'))
    .option('--capability <n...>', 'capabilities it has (Unsigned32)', [])
    .action((serverName: string, opts: { data?: string; capability: string[] }) =>
      withStore(opts, (store) => {
        const caps = opts.capability.map((c) => Number(c));
        if (!caps.every((c) => Number.isInteger(c) && c >= 0 && c <= 0xffffffff))
          throw new OptionError('--capability: capabilities are Unsigned32 numbers (TS 29.229 §6.3.5)');
        store.putScscf({ serverName, capabilities: caps });
        console.log(`S-CSCF ${serverName} capabilities [${caps.join(', ')}]`);
      }),
    );
  dataOption(scscf.command('list')).action((opts: { data?: string }) =>
    withStore(opts, (store) => {
      for (const s of store.listScscfs()) console.log(`${s.serverName}  [${s.capabilities.join(', ')}]`);
    }),
  );
  dataOption(scscf.command('remove').argument('<server-name>')).action((serverName: string, opts: { data?: string }) =>
    withStore(opts, (store) => {
      if (!store.removeScscf(serverName)) throw new OptionError(`no S-CSCF ${serverName}`);
      console.log(`removed ${serverName}`);
    }),
  );
}

interface AddOptions {
  data?: string;
  impi: string;
  impu: string[];
  k?: string;
  op?: string;
  opc?: string;
  amf: string;
  sqn: string;
  password?: string;
  scheme?: string[];
  barred?: string[];
  visited?: string[];
  userData?: string;
}

export function dataDirectory(option: string | undefined): string {
  return resolve(option ?? process.env['IMSLAB_DATA'] ?? '.imslab');
}

function withStore(opts: { data?: string }, fn: (store: SqliteSubscriberStore) => void): void {
  let store: SqliteSubscriberStore | undefined;
  try {
    store = new SqliteSubscriberStore(dataDirectory(opts.data));
    fn(store);
  } catch (e) {
    // Bad input is the user's to fix: one line on stderr and exit status 1, no usage dump or stack.
    if (!(e instanceof CsvError || e instanceof StoreError || e instanceof SubscriberError || e instanceof OptionError)) throw e;
    process.stderr.write(`error: ${e.message}\n`);
    process.exitCode = 1;
  } finally {
    store?.close();
  }
}

class OptionError extends Error {}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new OptionError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function subscriberFromOptions(o: AddOptions): Subscriber {
  const key = (field: string, text: string, octets: number): Buffer => {
    const r = parseKey(text, octets);
    if (typeof r === 'string') throw new OptionError(`--${field}: ${r}`);
    return r;
  };
  const barred = new Set((o.barred ?? []).map(normaliseImpu));
  for (const b of barred) if (!o.impu.some((u) => normaliseImpu(u) === b)) throw new OptionError(`--barred: ${b} is not one of the --impu values`);
  const s: Subscriber = {
    impi: o.impi,
    impus: o.impu.map((uri) => ({ uri, barred: barred.has(normaliseImpu(uri)) })),
    authSchemes: [],
    amf: key('amf', o.amf, 2),
    sqn: parseSqn(o.sqn, (why) => new OptionError(`--sqn: ${why}`)),
    allowedVisitedNetworks: o.visited ?? [],
  };
  if (o.k !== undefined) s.k = key('k', o.k, 16);
  if (o.op !== undefined && o.opc !== undefined) throw new OptionError('give --op or --opc, not both');
  if (o.op !== undefined) s.op = key('op', o.op, 16);
  if (o.opc !== undefined) s.opc = key('opc', o.opc, 16);
  if (o.password !== undefined) s.password = o.password;
  s.authSchemes = o.scheme ? o.scheme.map((x) => parseScheme(x, (_f, why) => new OptionError(`--scheme: ${why}`))) : defaultSchemes(s);
  if (s.authSchemes.length === 0) throw new OptionError('no credentials: give --k with --op or --opc (IMS AKA), or --password (SIP Digest)');
  if (o.userData !== undefined) {
    const xml = readText(o.userData);
    const problem = checkImsSubscriptionXml(xml);
    if (problem) throw new OptionError(`--user-data: ${problem}`);
    s.userData = xml;
  }
  return s;
}
