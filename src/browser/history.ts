/**
 * Calls `listener` after `history.pushState` and `replaceState` and on `popstate` (the
 * core decides whether the address changed). The returned function puts the original
 * methods back, unless another script wrapped ours since (removing ours would remove
 * theirs): our wrapper then just stops calling `listener`.
 */
export function navigation(listener: () => void): () => void {
  const h = history;
  let on = 1;
  const restore = (['pushState', 'replaceState'] as const).map((method) => {
    const original = h[method];
    const wrapper = (h[method] = function (this: History, ...args: Parameters<History['pushState']>) {
      original.apply(this, args);
      if (on) listener();
    });
    return () => h[method] == wrapper && (h[method] = original);
  });
  addEventListener('popstate', listener);
  return () => {
    on = 0;
    restore.forEach((f) => f());
    removeEventListener('popstate', listener);
  };
}
