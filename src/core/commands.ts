import type { Segtag, SegtagConfig, Targeting } from './types';
import { check } from './fail';

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
  /** Runs one command; answers what the command returns (init: undefined). */
  const execute = (command: unknown, rest: unknown[]) => {
    if (command == 'init') {
      debug = !!(rest[0] as SegtagConfig)?.debug;
      check(!tag, 'init (already initialized)');
      tag = create(rest[0] as SegtagConfig);
      return;
    }
    check(tag, command + ' (call init first)');
    if (command == 'gpt') {
      // segtag('gpt', ms, { refresh: true })
      const refresh = (rest[1] as { refresh?: boolean } | undefined)?.refresh;
      return tag.ready(rest[0] as number).then((targeting) => {
        applyGpt(targeting, refresh, debug);
        return targeting;
      });
    }
    // Own properties only: no route to Object.prototype methods.
    check({}.hasOwnProperty.call(tag, command as string), 'command ' + command);
    const result = (tag as any)[command as string](...rest);
    if (command == 'destroy') tag = undefined;
    return result;
  };
  return ([resolve, reject, args]: QueuedCommand) => {
    const [command, ...rest] = Array.from(args);
    try {
      resolve(execute(command, rest));
    } catch (e) {
      // segtag's own errors are TypeErrors `segtag: invalid ...`; anything else came from
      // the page (a throwing getter in signals) and is passed on as it is.
      if (debug) console.warn(e);
      reject(e);
    }
  };
}
