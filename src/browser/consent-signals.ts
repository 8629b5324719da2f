import { DENIED, GRANTED, UNKNOWN, type Consent } from '../core/consent';
import { isText } from '../core/fail';

/** TC and GPP strings are base64url segments joined by '.' and '~' (section ids by ','); nothing else is sent. */
const str = (s: unknown) => (isText(s, /^[\w.~,-]{1,4096}$/) ? s : undefined);

/**
 * Feeds the page's consent signals into `consent` ('auto' mode):
 * - Global Privacy Control: `navigator.globalPrivacyControl === true` opts out.
 * - IAB TCF v2 (`__tcfapi`): when GDPR applies, device storage needs purpose 1 and, with
 *   `vendorId` (0: none), that vendor's consent; unknown while the CMP's UI is shown
 *   ('cmpuishown'), decided on 'tcloaded' or 'useractioncomplete'.
 * - IAB GPP 1.1 (`__gpp`): an opt-out of sale, sharing or targeted advertising in any US
 *   section (national or state) opts out; unknown until the signal status is 'ready'.
 * A CMP present on the page keeps consent unknown until it answers, however late.
 */
export function readConsentSignals(consent: Consent, vendorId: number) {
  if (navigator.globalPrivacyControl === true) consent._report('gpc', DENIED, { gpc: true });
  /** `hear` reports the CMP's answer, if it is one (not while undecided). */
  const listen = (source: string, hear: (data: any) => unknown, ...args: unknown[]) => {
    const api = (window as any)['__' + source];
    // A CMP that throws, or answers with data we cannot read, leaves consent unknown.
    try {
      if (typeof api == 'function') {
        consent._report(source, UNKNOWN);
        api('addEventListener', ...args, (data: any, ok: boolean) => {
          try {
            if (ok) hear(data);
          } catch {}
        });
      }
    } catch {}
  };
  listen(
    'tcfapi',
    (d) => {
      const applies = d.gdprApplies !== false;
      // While the CMP's UI is shown the visitor has not decided yet.
      if (applies && d.eventStatus == 'cmpuishown') return;
      const allowed = !applies || (d.purpose.consents[1] && (!vendorId || d.vendor.consents[vendorId]));
      consent._report('tcfapi', allowed ? GRANTED : DENIED, { gdpr: applies, tcf: str(d.tcString) });
    },
    2,
  );
  // SaleOptOut, SharingOptOut, TargetedAdvertisingOptOut = 1 (usnat and the state sections),
  // or OptOutSale = 'Y' (uspv1, the US Privacy string's letters): the visitor opted out.
  listen('gpp', ({ pingData: p }) => {
    if (p.signalStatus != 'ready') return;
    const optedOut = /OptOut":1|OptOutSale":"Y/.test(JSON.stringify(p.parsedSections));
    consent._report('gpp', optedOut ? DENIED : GRANTED, {
      gpp: str(p.gppString),
      gppSid: str(p.applicableSections?.join()),
    });
  });
}

declare global {
  interface Navigator {
    /** Global Privacy Control (not yet in TypeScript's DOM types). */
    globalPrivacyControl?: boolean;
  }
}
