// @vitest-environment happy-dom
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const stub = readFileSync('src/stub.js', 'utf8');

describe('command-queue stub', () => {
  it('returns a Promise per command and queues [resolve, reject, arguments]', async () => {
    const w = window as any;
    delete w.segtag;
    new Function(stub)(); // the page runs the stub as a classic script; eval is fine in a test
    const p = w.segtag('page', { c: 1 });
    expect(p).toBeInstanceOf(Promise);
    expect(w.segtag.q).toHaveLength(1);
    const [resolve, , args] = w.segtag.q[0];
    expect(Array.from(args)).toEqual(['page', { c: 1 }]);
    resolve('done');
    expect(await p).toBe('done');
    const q = w.segtag('x');
    w.segtag.q[1][1](new Error('no'));
    await expect(q).rejects.toThrow('no');
  });

  it('keeps an existing segtag function (loaded library or earlier stub)', () => {
    const w = window as any;
    const existing = () => 'real';
    w.segtag = existing;
    new Function(stub)();
    expect(w.segtag).toBe(existing);
  });
});
