import { navigation } from './browser/history';
import { addAutoPage } from './core/auto-page';
import type { AutoPageFeature } from './core/features';

/**
 * `segtag/auto-page`: a page view on every same-document navigation of a single-page app, for
 * `autoPage: true`: `createSegtag({ ..., autoPage: true }, { autoPage })`.
 */
export const autoPage: AutoPageFeature = { _wrap: (tag, context) => addAutoPage(tag, navigation, context) };

export type { AutoPageFeature };
