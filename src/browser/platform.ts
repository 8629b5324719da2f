import type { Platform } from '../core/platform';
import { createCookieJar } from './cookie-jar';
import { lifecycle } from './lifecycle';
import { storage } from './storage';
import { post } from './transport';
import { uuid } from './uuid';

/** The core's environment on a real page. */
export function createBrowserPlatform(cookieDomain: string): Platform {
  return {
    cookies: createCookieJar(cookieDomain, location.hostname, location.protocol == 'https:'),
    storage,
    post,
    online: () => navigator.onLine !== false,
    lifecycle,
    context() {
      const ref = document.referrer;
      const title = document.title;
      return { url: location.href, ...(ref && { ref }), ...(title && { title }) };
    },
    uuid,
    now: Date.now,
  };
}
