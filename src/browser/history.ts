/**
 * Calls `listener` after `history.pushState` and `replaceState` and on `popstate`
 * (core/auto-page.ts decides whether the address changed). The returned function puts the original
 * methods back, unless another script wrapped ours since: removing ours would remove
 * theirs, so ours stays and keeps calling `listener`, which ignores calls after destroy().
 */
export function navigation(listener: () => void): () => void {
  const h = history;
  const restore = (['pushState', 'replaceState'] as const).map((method) => {
    const original = h[method];
    const wrapper = (h[method] = function (this: History, ...args: Parameters<History['pushState']>) {
      original.apply(this, args);
      listener();
    });
    return () => h[method] == wrapper && (h[method] = original);
  });
  addEventListener('popstate', listener);
  return () => {
    restore.forEach((f) => f());
    removeEventListener('popstate', listener);
  };
}
