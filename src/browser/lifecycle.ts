/**
 * Calls `listener(true)` when the page is hidden or left (visibilitychange to hidden,
 * pagehide), `listener(false)` when it is visible again or back online. Never `unload` or
 * `beforeunload`: they make a page ineligible for the back/forward cache.
 */
export function lifecycle(listener: (hidden: boolean) => void): () => void {
  const on = ({ type }: Event) => listener(type == 'pagehide' || (type != 'online' && document.hidden));
  const each = (method: typeof addEventListener) =>
    ['pagehide', 'visibilitychange', 'online'].forEach((type) => method(type, on));
  each(addEventListener);
  return () => each(removeEventListener);
}
