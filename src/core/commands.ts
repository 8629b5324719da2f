import type { Segtag, SegtagConfig, Targeting } from '../types';

/** One queued command as the stub records it: `[resolve, reject, arguments]`. */
export type QueuedCommand = [(value: unknown) => void, (reason: unknown) => void, ArrayLike<unknown>];

/**
 * The script tag's command interpreter: `segtag('page', signals)` and friends.
 * Only programmer errors reject (no init, unknown command, bad arguments);
 * nothing is ever thrown to the caller.
 */
export function createCommandRunner(
  create: (config: SegtagConfig) => Segtag,
  applyGpt: (targeting: Targeting, refresh?: boolean, debug?: boolean) => void,
) {
  let tag: Segtag | undefined;
  let debug = false;
  return ([resolve, reject, args]: QueuedCommand) => {
    const [command, ...rest] = Array.from(args);
    try {
      if (command == 'init') {
        debug = !!(rest[0] as SegtagConfig)?.debug;
        if (tag) throw Error('init: already initialized');
        tag = create(rest[0] as SegtagConfig);
        resolve(undefined);
        return;
      }
      if (!tag) throw Error(command + ': call init first');
      if (command == 'gpt') {
        // segtag('gpt', ms, { refresh: true })
        const refresh = (rest[1] as { refresh?: boolean } | undefined)?.refresh;
        resolve(tag.ready(rest[0] as number).then((t) => (applyGpt(t, refresh, debug), t)));
        return;
      }
      // Own properties only: no route to Object.prototype methods.
      if (!{}.hasOwnProperty.call(tag, command as string)) throw Error('unknown command ' + command);
      const result = (tag as any)[command as string](...rest);
      if (command == 'destroy') tag = undefined;
      resolve(result);
    } catch (e) {
      const error = e instanceof Error ? e : Error(String(e));
      if (!error.message.startsWith('segtag')) error.message = 'segtag: ' + error.message;
      if (debug) console.warn(error.message);
      reject(error);
    }
  };
}
