/**
 * Wire events (protocol v1) for the engine and profile tests, typed, with a fresh id unless one
 * is given. (Tests that POST JSON over HTTP use pageEvent/trackEvent from ./server.)
 */
import type { WireEvent } from 'segtag/protocol';

let n = 0;

export const page = (signals: WireEvent['signals'] = {}, id = `e${++n}`, url = 'https://pub.example/a'): WireEvent => ({
  id,
  type: 'page',
  ts: 0,
  url,
  signals,
});

export const track = (name: string, signals: WireEvent['signals'] = {}): WireEvent => ({
  ...page(signals),
  type: 'track',
  name,
});
