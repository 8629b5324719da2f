// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { navigation } from '../src/browser/history';
import { lifecycle } from '../src/browser/lifecycle';

afterEach(() => vi.restoreAllMocks());

describe('lifecycle', () => {
  it('reports a hidden or left page as true, a visible one (or back online) as false, and unsubscribes', () => {
    const seen: boolean[] = [];
    const off = lifecycle((hidden) => seen.push(hidden));
    const hidden = vi.spyOn(document, 'hidden', 'get');
    hidden.mockReturnValue(true);
    document.dispatchEvent(new Event('visibilitychange', { bubbles: true }));
    window.dispatchEvent(new Event('online')); // back online in a background tab: flush
    hidden.mockReturnValue(false);
    window.dispatchEvent(new Event('pagehide')); // left while visible
    document.dispatchEvent(new Event('visibilitychange', { bubbles: true }));
    window.dispatchEvent(new Event('online'));
    expect(seen).toEqual([true, true, true, false, false]);
    off();
    window.dispatchEvent(new Event('pagehide'));
    window.dispatchEvent(new Event('online'));
    document.dispatchEvent(new Event('visibilitychange', { bubbles: true }));
    expect(seen).toHaveLength(5);
  });

  it('never listens to unload or beforeunload', () => {
    const add = vi.spyOn(window, 'addEventListener');
    lifecycle(() => {})();
    const types = add.mock.calls.map(([type]) => type);
    expect(types.sort()).toEqual(['online', 'pagehide', 'visibilitychange']);
  });
});

describe('navigation (history)', () => {
  it('calls back after pushState, replaceState and popstate, and restores the originals', () => {
    const { pushState, replaceState } = history;
    const listener = vi.fn();
    const off = navigation(listener);
    expect(history.pushState).not.toBe(pushState);
    history.pushState({}, '', '/a');
    expect(location.pathname).toBe('/a');
    history.replaceState({}, '', '/b');
    window.dispatchEvent(new PopStateEvent('popstate'));
    expect(listener).toHaveBeenCalledTimes(3);
    off();
    expect(history.pushState).toBe(pushState);
    expect(history.replaceState).toBe(replaceState);
    history.pushState({}, '', '/c');
    window.dispatchEvent(new PopStateEvent('popstate'));
    expect(listener).toHaveBeenCalledTimes(3);
  });

  it('leaves a wrapper another script put over ours in place', () => {
    const listener = vi.fn();
    const off = navigation(listener);
    const ours = history.pushState;
    const theirs = function (this: History, ...args: Parameters<History['pushState']>) {
      return ours.apply(this, args);
    };
    history.pushState = theirs;
    off();
    expect(history.pushState).toBe(theirs);
    history.pushState({}, '', '/d');
    expect(location.pathname).toBe('/d');
  });

  it('lets errors of the original method through, like the original', () => {
    const listener = vi.fn();
    const off = navigation(listener);
    expect(() => history.pushState({}, '', 'https://elsewhere.example/')).toThrow();
    expect(listener).not.toHaveBeenCalled();
    off();
  });
});
