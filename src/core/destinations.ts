import type { CallResponse } from '../protocol/types';
import type { DestinationOutcome } from './types';
import type { Platform } from './platform';
import { writeCookieDestinations, type DestinationsConfig } from './cookie-destinations';
import { createPixels } from './pixels';
import { check } from './fail';

export type Emit = (
  type: DestinationOutcome['type'],
  id: string,
  status: DestinationOutcome['status'],
  reason?: DestinationOutcome['reason'],
) => void;

/**
 * Applies the destinations of a valid answer (cookies, then pixels) and tells
 * `onDestinations` listeners, and the console in debug mode, what happened to each.
 */
export type Destinations = ReturnType<typeof createDestinations>;

export function createDestinations(cfg: DestinationsConfig, platform: Platform) {
  const listeners = new Set<(o: DestinationOutcome) => void>();
  const emit: Emit = (type, id, status, reason) => {
    const o = { type, id, status, reason };
    if (cfg._debug) console.info('segtag:', o);
    listeners.forEach((l) => {
      try {
        l(o);
      } catch {}
    });
  };
  const pixels = createPixels(cfg.site, platform, emit);
  return {
    _apply(answer: CallResponse, uid: string) {
      writeCookieDestinations(answer.cookies || [], cfg, platform._cookies, emit);
      // Storage is touched only when there are pixels.
      if (answer.pixels?.length) pixels(answer.pixels, uid);
    },
    _on(listener: (o: DestinationOutcome) => void) {
      check(typeof listener == 'function', 'onDestinations() listener');
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
