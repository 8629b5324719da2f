/**
 * Calls `listener(true)` when the page is hidden or left (pagehide, visibilitychange to
 * hidden, or back online while hidden), `listener(false)` when it is visible again or back
 * online. Never `unload` or `beforeunload`: they make a page ineligible for the
 * back/forward cache.
 */
export function lifecycle(listener: (hidden: boolean) => void): () => void {
  const hide = () => listener(true);
  const check = () => listener(document.hidden);
  const each = (method: typeof addEventListener) => {
    method('pagehide', hide);
    method('visibilitychange', check);
    method('online', check);
  };
  each(addEventListener);
  return () => each(removeEventListener);
}
