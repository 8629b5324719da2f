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
  state(): ConsentState;
  /** Resolves true once granted, false once denied (or when MAX_HELD events already wait). */
  wait(): Promise<boolean>;
  /** The publisher's own decision: overrides every automatic signal from then on. */
  set(choice: 'in' | 'out'): void;
  /** A signal source's verdict (UNKNOWN: asked, no answer yet) and its part of the wire payload. */
  report(source: string, verdict: ConsentState, wire?: WireConsent): void;
  /** Called with the new state whenever it changes. */
  on(listener: (state: ConsentState) => void): void;
  /** What travels with each call: TC string, GPP string and sections, GPC. */
  wire: WireConsent;
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
  let current: ConsentState;
  // Recomputes the state after each input; notifies only when it changed.
  const changed = () =>
    current != (current = manual ?? (Math.min(GRANTED, ...Object.values(verdicts)) as ConsentState)) &&
    listeners.forEach((l) => l(current));
  const on = (l: (s: ConsentState) => void) => listeners.push(l);
  changed();
  return {
    wire,
    state: () => current,
    on,
    // Consent never returns to UNKNOWN once decided: a waiter needs the next change only.
    wait: () =>
      new Promise((resolve) =>
        current == UNKNOWN && held++ < MAX_HELD ? on((t) => resolve(t > UNKNOWN)) : resolve(current > UNKNOWN),
      ),
    set(choice) {
      manual = MANUAL[choice];
      changed();
    },
    report(source, verdict, part) {
      verdicts[source] = verdict;
      Object.assign(wire, part);
      changed();
    },
  };
}
