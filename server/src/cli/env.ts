/**
 * Every command-line option also from the environment, so a container or a unit file can
 * configure the server without argv (where a secret would show in the process list):
 * `--log-level` is `SEGTAG_LOG_LEVEL`, `--no-s2s` is `SEGTAG_NO_S2S=true`, a repeatable option
 * takes a comma-separated list. The command line wins over the environment. The Redis store
 * also comes from `SEGTAG_REDIS_URL` or `REDIS_URL`, and its password from
 * `SEGTAG_REDIS_PASSWORD` or `REDIS_PASSWORD`.
 */

export type OptionSpecs = Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>;
type Env = Record<string, string | undefined>;

/** `log-level` → `SEGTAG_LOG_LEVEL`. */
export const envName = (option: string) => `SEGTAG_${option.toUpperCase().replace(/-/g, '_')}`;

/** Options absent from argv, filled from the environment; throws an Error naming a bad variable. */
export function withEnv<T extends object>(values: T, specs: OptionSpecs, env: Env = process.env): T {
  const out = { ...values } as Record<string, unknown>;
  for (const [name, spec] of Object.entries(specs)) {
    if (name == 'help' || out[name] !== undefined) continue;
    const text = env[envName(name)];
    if (text === undefined || text === '') continue;
    if (spec.type == 'boolean') {
      if (/^(1|true|yes|on)$/i.test(text)) out[name] = true;
      else if (/^(0|false|no|off)$/i.test(text)) out[name] = false;
      else throw new Error(`${envName(name)}: expected true or false, got ${JSON.stringify(text.slice(0, 40))}`);
    } else
      out[name] = spec.multiple
        ? text
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : text;
  }
  return out as T;
}

/**
 * The store spec: `--store`/`SEGTAG_STORE`, else a Redis URL from `SEGTAG_REDIS_URL` or
 * `REDIS_URL`; a Redis URL without a password gets the one from `SEGTAG_REDIS_PASSWORD` or
 * `REDIS_PASSWORD`.
 */
export function storeFromEnv(store: string | undefined, env: Env = process.env): string | undefined {
  const spec = store ?? (env.SEGTAG_REDIS_URL || env.REDIS_URL || undefined);
  const password = env.SEGTAG_REDIS_PASSWORD || env.REDIS_PASSWORD;
  if (!spec || !password || !/^rediss?:\/\//.test(spec)) return spec;
  try {
    const url = new URL(spec);
    if (url.password) return spec;
    url.password = password;
    return url.toString();
  } catch {
    return spec; // parseStoreSpec says what is wrong with it
  }
}

/** The help text's list of variables. */
export function envHelp(specs: OptionSpecs): string {
  const names = Object.keys(specs)
    .filter((n) => n != 'help')
    .map((n) => `--${n} ${envName(n)}`);
  // As many as fit in 92 columns per line.
  const lines: string[] = [];
  for (const name of names) {
    const last = lines.length - 1;
    if (last >= 0 && lines[last].length + 2 + name.length <= 92) lines[last] += `, ${name}`;
    else lines.push(`  ${name}`);
  }
  return lines.join('\n');
}
