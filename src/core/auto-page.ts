import type { Segtag } from './types';
import type { PageContext } from './platform';

/**
 * Calls `listener` after a same-document navigation may have changed the address
 * (`history.pushState`, `replaceState`, `popstate`). Returns a function that undoes it.
 */
export type Navigation = (listener: () => void) => () => void;

/**
 * Single-page apps (`autoPage: true`, with the autoPage feature): a page view when a navigation changed the address (without its #fragment) since the
 * last page view, at the end of the task, so that a manual page() in the same task (which
 * records the address) makes it redundant. Wraps the instance's page() and destroy();
 * a navigation after destroy() meets a destroyed instance, which sends nothing.
 */
export function addAutoPage(tag: Segtag, navigation: Navigation, context: () => PageContext): Segtag {
  const { page, destroy } = tag;
  const here = () => context().url.split('#')[0];
  let last: string | undefined;
  tag.page = (signals) => {
    const result = page(signals);
    last = here();
    return result;
  };
  const stop = navigation(() => void Promise.resolve().then(() => void (here() != last && tag.page())));
  tag.destroy = () => {
    destroy();
    stop();
  };
  return tag;
}
