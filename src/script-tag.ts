import { createCommandRunner, type QueuedCommand } from './core/commands';
import { createSegtag } from './create-segtag';
import { gptCommand } from './integrations/gpt';

/**
 * Script-tag entry: replaces the page's command stub with the real command
 * function and runs what the stub queued, in order. Loading the file twice
 * keeps the first instance.
 */
type Global = { segtag?: ((...args: unknown[]) => Promise<unknown>) & { q?: QueuedCommand[]; loaded?: 1 } };
const w = window as unknown as Global;
const queued = w.segtag;

if (!queued?.loaded) {
  const run = createCommandRunner(createSegtag, gptCommand);
  const segtag = function () {
    // eslint-disable-next-line prefer-rest-params
    const args = arguments;
    return new Promise((resolve, reject) => run([resolve, reject, args]));
  } as NonNullable<Global['segtag']>;
  segtag.loaded = 1;
  w.segtag = segtag;
  queued?.q?.forEach(run);
}
