/**
 * ioredis is an optional dependency of segtag-server: it is loaded only for a `redis://` store,
 * and a server without it must say what to install rather than fail with a module error.
 */
import type { Redis } from 'ioredis';

export type RedisDriver = typeof Redis;

export const INSTALL_IOREDIS =
  'the redis store needs the ioredis package, an optional dependency of segtag-server that is not installed here: npm install ioredis';

/** `importDriver` is `import('ioredis')`; tests pass one that fails. */
export async function loadRedisDriver(
  importDriver: () => Promise<{ Redis: RedisDriver }> = () => import('ioredis'),
): Promise<RedisDriver> {
  try {
    return (await importDriver()).Redis;
  } catch (e) {
    if ((e as NodeJS.ErrnoException)?.code == 'ERR_MODULE_NOT_FOUND') throw new Error(INSTALL_IOREDIS, { cause: e });
    throw e;
  }
}
