import { describe, expect, it, vi } from 'vitest';
import { uuid } from '../src/browser/uuid';

describe('uuid', () => {
  it('makes RFC 4122 version 4 UUIDs from one getRandomValues call each', () => {
    const spy = vi.spyOn(crypto, 'getRandomValues');
    try {
      const ids = Array.from({ length: 1000 }, () => uuid());
      expect(spy).toHaveBeenCalledTimes(1000);
      for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(new Set(ids).size).toBe(1000);
    } finally {
      spy.mockRestore();
    }
  });

  it('uses every random digit: each of the 30 free hex positions takes all 16 values', () => {
    const seen = Array.from({ length: 36 }, () => new Set<string>());
    for (let i = 0; i < 2000; i++) [...uuid()].forEach((c, j) => seen[j].add(c));
    const free = seen.filter((s) => s.size == 16).length;
    // 36 characters: 4 dashes, the version digit (4) and the variant digit (8, 9, a, b) are fixed.
    expect(free).toBe(30);
  });
});
