import type { WireConsent } from '../protocol/types';

export type ConsentMode = 'auto' | 'in' | 'pending' | 'out';

/**
 * Consent states, ordered so that combining sources is a minimum: any source denying
 * denies, any source not answered yet keeps consent unknown.
 */
export const DENIED = 0;
export const UNKNOWN = 1;
export const GRANTED = 2;
export type ConsentState = typeof DENIED | typeof UNKNOWN | typeof GRANTED;

/** Events held while consent is unknown, at most; more are dropped (never stored). */
export const MAX_HELD = 100;

/** The publisher's decision per mode; 'auto' has none until `setConsent`. */
const MANUAL: Record<string, ConsentState> = { out: DENIED, pending: UNKNOWN, in: GRANTED };

export interface Consent {
  _state(): ConsentState;
  /** Resolves true once granted, false once denied (or when MAX_HELD events already wait). */
  _wait(): Promise<boolean>;
  /** The publisher's own decision: overrides every automatic signal from then on. */
  _set(choice: 'in' | 'out'): void;
  /** A signal source's verdict (UNKNOWN: asked, no answer yet) and its part of the wire payload. */
  _report(source: string, verdict: ConsentState, wire?: WireConsent): void;
  /** Called with the new state whenever it changes. */
  _on(listener: (state: ConsentState) => void): void;
  /** What travels with each call: TC string, GPP string and sections, GPC. */
  _wire: WireConsent;
}

/**
 * The consent state machine, browser-free: the browser layer reports what the page's
 * CMPs and Global Privacy Control say. A source is UNKNOWN from the moment it is found
 * until it answers, however long that takes: no timeout ever turns into "allowed".
 * With no source at all, consent is granted.
 */
export function createConsent(mode: ConsentMode): Consent {
  const verdicts: Record<string, ConsentState> = {};
  const wire: WireConsent = {};
  const listeners: ((s: ConsentState) => void)[] = [];
  let manual: ConsentState | undefined = MANUAL[mode];
  let held = 0;
  let current: ConsentState | undefined;
  /** Recomputes the state after each input; tells the listeners only when it changed. */
  const update = () => {
    const next = manual ?? (Math.min(GRANTED, ...Object.values(verdicts)) as ConsentState);
    if (next != current) {
      current = next;
      listeners.forEach((l) => l(next));
    }
  };
  const on = (l: (s: ConsentState) => void) => listeners.push(l);
  update();
  return {
    _wire: wire,
    _state: () => current!,
    _on: on,
    // Consent never returns to UNKNOWN once decided: a waiter needs the next change only.
    _wait: () =>
      new Promise((resolve) => {
        if (current == UNKNOWN && held++ < MAX_HELD) on((state) => resolve(state > UNKNOWN));
        else resolve(current! > UNKNOWN);
      }),
    _set(choice) {
      manual = MANUAL[choice];
      update();
    },
    _report(source, verdict, part) {
      verdicts[source] = verdict;
      Object.assign(wire, part);
      update();
    },
  };
}
