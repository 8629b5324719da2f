/** ioredis is optional: a server without it says what to install. */
import { expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { loadRedisDriver } from '../src/stores/redis-driver';

it('without ioredis installed: a message naming the package and how to install it', async () => {
  const missing = Object.assign(
    new Error("Cannot find package 'ioredis' imported from /srv/segtag-server/dist/cli.mjs"),
    { code: 'ERR_MODULE_NOT_FOUND' },
  );
  const error = await loadRedisDriver(() => Promise.reject(missing)).catch((e: Error) => e);
  expect(error).toBeInstanceOf(Error);
  expect((error as Error).message).toBe(
    'the redis store needs the ioredis package, an optional dependency of segtag-server that is not installed here: npm install ioredis',
  );
  expect((error as Error).cause).toBe(missing);
});

it('other failures to load it are not disguised', async () => {
  const broken = new SyntaxError('Unexpected token');
  await expect(loadRedisDriver(() => Promise.reject(broken))).rejects.toBe(broken);
});

it('installed: the client class', async () => {
  expect(await loadRedisDriver()).toBe(Redis);
});
