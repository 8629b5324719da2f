import { describe, expect, it, vi } from 'vitest';
import { createCommandRunner, type QueuedCommand } from '../src/core/commands';
import { createClient } from './support/client';
import { resolveConfig } from '../src/core/config';
import type { SegtagConfig } from '../src/types';
import { fakePlatform } from './fake-platform';

function setup() {
  const { platform, sent } = fakePlatform(() => ({ status: 200, body: { segments: ['7'] } }));
  const gpt = vi.fn();
  const run = createCommandRunner((c: SegtagConfig) => createClient(resolveConfig(c), platform), gpt);
  const command = (...args: unknown[]) => new Promise((resolve, reject) => run([resolve, reject, args]));
  return { run, command, sent, gpt };
}

const init = ['init', { endpoint: '/v1/rtc', site: 's' }];

describe('command runner', () => {
  it('drains a queue recorded by the stub in order', async () => {
    const { run, sent } = setup();
    const settled: string[] = [];
    const queue: QueuedCommand[] = [
      [() => settled.push('init'), () => settled.push('init failed'), init],
      [() => settled.push('page'), () => settled.push('page failed'), ['page', { c: '1' }]],
      [() => settled.push('track'), () => settled.push('track failed'), ['track', 'click', {}]],
    ];
    queue.forEach(run);
    await vi.waitFor(() => expect(settled).toHaveLength(3));
    expect(settled).toEqual(['init', 'page', 'track']);
    // Raised in one task, the two events share one call.
    await vi.waitFor(() => expect(sent).toHaveLength(1));
    expect(sent.map((r) => r.events.map((e: { type: string }) => e.type))).toEqual([['page', 'track']]);
  });

  it('resolves each command with the method result', async () => {
    const { command } = setup();
    await command(...init);
    expect(await command('page')).toEqual({ ok: true, segments: ['7'], targeting: { seg: ['7'] } });
    expect(await command('getSegments')).toEqual(['7']);
    expect(await command('getTargeting')).toEqual({ seg: ['7'] });
    expect(await command('ready', 10)).toEqual({ seg: ['7'] });
  });

  it('rejects programmer errors with clear messages', async () => {
    const { command } = setup();
    await expect(command('page')).rejects.toThrow('segtag: invalid page (call init first)');
    await expect(command('init', { site: 's' })).rejects.toThrow('segtag: invalid endpoint');
    await command(...init);
    await expect(command(...init)).rejects.toThrow('segtag: invalid init (already initialized)');
    await expect(command('explode')).rejects.toThrow('segtag: invalid command explode');
    await expect(command('page', 'not signals')).rejects.toThrow('segtag: invalid signals');
  });

  it('logs rejected commands only when debug is on', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const { command } = setup();
    await command('init', { endpoint: '/x', site: 's', debug: true });
    await expect(command('nope')).rejects.toThrow();
    expect(warn).toHaveBeenCalledWith(new TypeError('segtag: invalid command nope'));
    warn.mockClear();
    const quiet = setup();
    await quiet.command(...init);
    await expect(quiet.command('nope')).rejects.toThrow();
    expect(warn).not.toHaveBeenCalled();
    warn.mockRestore();
  });

  it('gpt waits for ready, then applies the targeting', async () => {
    const { command, gpt } = setup();
    await command(...init);
    void command('page');
    expect(await command('gpt', 500)).toEqual({ seg: ['7'] });
    expect(gpt).toHaveBeenCalledWith({ seg: ['7'] }, undefined, false);
    await command('gpt', 500, { refresh: true });
    expect(gpt).toHaveBeenLastCalledWith({ seg: ['7'] }, true, false);
  });

  it('allows init again after destroy', async () => {
    const { command } = setup();
    await command(...init);
    await command('destroy');
    await expect(command('page')).rejects.toThrow(/call init first/);
    await command(...init);
  });

  // `in` would find these on Object.prototype and call them on the instance.
  it.each(['toString', 'constructor', 'hasOwnProperty', 'valueOf', '__proto__', '__defineGetter__'])(
    "rejects %j: only the instance's own methods are commands",
    async (name) => {
      const { command } = setup();
      await command(...init);
      await expect(command(name)).rejects.toThrow(new TypeError('segtag: invalid command ' + name));
    },
  );
});
