import { features } from './features';
import { autoPage } from './core/auto-page';
import { navigation } from './browser/history';

// Side effect on purpose: `autoPage: true` (single-page apps) works in this build.
features.autoPage = (tag, context) => autoPage(tag, navigation, context);
