/**
 * `segtag-server s2s run PARTNER` and `segtag-server s2s retry PARTNER`: one server-to-server job
 * now, against the same rules file and store the server uses (docs/server-to-server.md).
 */
import { resolve } from 'node:path';
import { EXAMPLE_RULES } from '../paths';
import { loadRules, RulesError } from '../rules/parse';
import { createS2s } from '../s2s/service';
import { describeStore, openStore, parseStoreSpec } from '../stores/open';
import { DEFAULT_STORE, parseArgsOrUsage, UsageError } from './args';
import { storeFromEnv, withEnv } from './env';

export const S2S_USAGE = `usage: segtag-server s2s run PARTNER [options]
       segtag-server s2s retry PARTNER [options]

  run PARTNER     a batch partner: write its file (and manifest) now; a real-time one:
                  deliver what the outbox holds for it now
  retry PARTNER   resend a real-time partner's dead letters (same ids, same bodies)

  --rules PATH   the rules file the server uses (default examples/segments.json in the package)
  --store SPEC   the store the server uses (default ${DEFAULT_STORE})
  --progress     show progress on stderr (shown anyway when stderr is a terminal)

--rules and --store also from SEGTAG_RULES and SEGTAG_STORE (or SEGTAG_REDIS_URL/REDIS_URL,
with the password from SEGTAG_REDIS_PASSWORD/REDIS_PASSWORD). A run takes the partner's lease:
while a server delivers the partner, run it there (retry needs no lease).`;

export interface S2sArgs {
  command: 'run' | 'retry';
  partner: string;
  rules: string;
  store: string;
  progress: boolean;
  help: boolean;
}

const S2S_OPTIONS = {
  rules: { type: 'string' },
  store: { type: 'string' },
  progress: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function parseS2sArgs(argv: string[], cwd = process.cwd(), env = process.env): S2sArgs {
  const parsed = parseArgsOrUsage({ args: argv, strict: true, allowPositionals: true, options: S2S_OPTIONS });
  const positionals = parsed.positionals;
  let values: typeof parsed.values;
  try {
    values = withEnv(parsed.values, { rules: S2S_OPTIONS.rules, store: S2S_OPTIONS.store }, env);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const help = values.help ?? false;
  const [command, partner, ...rest] = positionals;
  if (!help) {
    if (command != 'run' && command != 'retry')
      throw new UsageError(`s2s: expected run or retry, got ${JSON.stringify(command ?? '')}`);
    if (!partner) throw new UsageError(`s2s ${command}: which partner? (its id in the rules file)`);
    if (rest.length) throw new UsageError(`s2s ${command}: unexpected argument ${JSON.stringify(rest[0])}`);
  }
  return {
    command: command as 'run' | 'retry',
    partner: partner ?? '',
    rules: values.rules ? resolve(cwd, values.rules) : EXAMPLE_RULES,
    store: storeFromEnv(values.store, env) ?? DEFAULT_STORE,
    progress: values.progress ?? false,
    help,
  };
}

/** Runs the command; sets process.exitCode (0 done, 1 failed, 2 usage). */
export async function s2sMain(argv: string[]): Promise<void> {
  let args: S2sArgs;
  try {
    args = parseS2sArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`segtag-server: ${e.message}\n\n${S2S_USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (args.help) return void console.log(S2S_USAGE);

  let store;
  try {
    const rules = loadRules(args.rules);
    const spec = parseStoreSpec(args.store);
    store = await openStore(spec);
    if (!store.outbox) throw new Error(`the store ${describeStore(spec)} keeps no server-to-server state`);
    const s2s = createS2s({ outbox: store.outbox, partners: () => rules.partners });
    const tty = process.stderr.isTTY;
    const show = tty || args.progress;
    const started = Date.now();
    if (args.command == 'retry') {
      const { delivered, failed } = await s2s.retry(args.partner);
      console.log(`${args.partner}: ${delivered} dead letters delivered, ${failed} still failing`);
      if (failed) process.exitCode = 1;
      return;
    }
    const result = await s2s.run(args.partner, (rows, done) => {
      if (!show) return;
      const line = `${args.partner}: ${rows.toLocaleString('en-US')} rows${done ? '' : '...'} (${((Date.now() - started) / 1000).toFixed(1)} s)`;
      // On a terminal the line is rewritten in place; in a log, one line per report.
      process.stderr.write(tty ? `\r${line}${done ? '\n' : ''}` : `${line}\n`);
    });
    if (result.manifest) {
      const m = result.manifest;
      console.log(`${args.partner}: wrote ${m.file} (${m.rows} rows, sha256 ${m.sha256}) and ${m.file}.manifest.json`);
    } else {
      console.log(`${args.partner}: ${result.delivered} messages delivered, ${result.dead} dead-lettered`);
      if (result.dead) process.exitCode = 1;
    }
  } catch (e) {
    const message = e instanceof RulesError ? e.message : `${(e as Error).message}`;
    console.error(`segtag-server s2s: ${message}`);
    process.exitCode = 1;
  } finally {
    await store?.close().catch(() => {});
  }
}
