import type { Platform } from '../core/platform';
import { createCookieJar } from './cookie-jar';
import { lifecycle } from './lifecycle';
import { storage } from './storage';
import { post } from './transport';
import { uuid } from './uuid';

/** The core's environment on a real page. */
export function createBrowserPlatform(cookieDomain: string): Platform {
  return {
    _cookies: createCookieJar(cookieDomain, location.hostname, location.protocol == 'https:'),
    _storage: storage,
    _post: post,
    _online: () => navigator.onLine !== false,
    _lifecycle: lifecycle,
    // Empty ones are left out (undefined is not serialized).
    _context: () => ({ url: location.href, ref: document.referrer || undefined, title: document.title || undefined }),
    _uuid: uuid,
    _now: Date.now,
  };
}
