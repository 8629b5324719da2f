/**
 * Calls `listener(true)` when the page is hidden (visibilitychange to hidden, or back online
 * while hidden), `listener(true, true)` when it is left (pagehide), `listener(false)` when it is
 * visible again or back online. Never `unload` or `beforeunload`: they make a page ineligible for the
 * back/forward cache.
 */
export function lifecycle(listener: (hidden: boolean, leaving?: boolean) => void): () => void {
  const leave = () => listener(true, true);
  const check = () => listener(document.hidden);
  const each = (method: typeof addEventListener) => {
    method('pagehide', leave);
    method('visibilitychange', check);
    method('online', check);
  };
  each(addEventListener);
  return () => each(removeEventListener);
}
