import { createCommandRunner, type QueuedCommand } from '../core/commands';
import type { SegtagFeatures } from '../core/features';
import { createSegtag } from '../create-segtag';
import { gptCommand } from '../integrations/gpt';

type Global = { segtag?: ((...args: unknown[]) => Promise<unknown>) & { q?: QueuedCommand[]; loaded?: 1 } };

/**
 * The script tags' start: replaces the page's command stub with the real command function,
 * whose `init` creates the instance with this build's `features`, and runs what the stub
 * queued, in order. Loading a script tag twice keeps the first instance.
 */
export function installCommandQueue(features: SegtagFeatures) {
  const w = window as unknown as Global;
  const queued = w.segtag;
  if (queued?.loaded) return;
  const run = createCommandRunner((config) => createSegtag(config, features), gptCommand);
  const segtag = function () {
    // eslint-disable-next-line prefer-rest-params
    const args = arguments;
    return new Promise((resolve, reject) => run([resolve, reject, args]));
  } as NonNullable<Global['segtag']>;
  segtag.loaded = 1;
  w.segtag = segtag;
  queued?.q?.forEach(run);
}
