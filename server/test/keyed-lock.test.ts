/** One task at a time per key: what the Redis store (per visitor) and the s2s scheduler (per partner) rely on. */
import { expect, it } from 'vitest';
import { KeyedLock } from '../src/keyed-lock';

const tick = () => new Promise((r) => setTimeout(r, 5));

it('runs one key one task at a time, in order; other keys alongside; a failure does not block the queue', async () => {
  const lock = new KeyedLock();
  const log: string[] = [];
  const task =
    (name: string, fail = false) =>
    async () => {
      log.push(`${name} start`);
      await tick();
      log.push(`${name} end`);
      if (fail) throw new Error(name);
      return name;
    };
  const a1 = lock.run('a', task('a1', true));
  const a2 = lock.run('a', task('a2'));
  const b1 = lock.run('b', task('b1'));
  await expect(a1).rejects.toThrow('a1');
  expect(await a2).toBe('a2');
  expect(await b1).toBe('b1');
  expect(log.filter((l) => l.startsWith('a'))).toEqual(['a1 start', 'a1 end', 'a2 start', 'a2 end']);
  expect(log.indexOf('b1 start')).toBeLessThan(log.indexOf('a1 end'));
});

it('busy while a key has a task running or queued; idle once every task has settled', async () => {
  const lock = new KeyedLock();
  let release!: () => void;
  const first = lock.run('p', () => new Promise<void>((r) => (release = r)));
  const second = lock.run('p', async () => {
    throw new Error('second');
  });
  second.catch(() => {});
  expect(lock.busy('p')).toBe(true);
  expect(lock.busy('q')).toBe(false);
  let idle = false;
  const settled = lock.idle().then(() => (idle = true));
  await tick();
  expect(idle).toBe(false);
  release();
  await first;
  await settled;
  expect(idle).toBe(true);
  await tick();
  expect(lock.busy('p')).toBe(false);
});
