/**
 * The rules in force. Loaded and validated once at start (a bad file throws RulesError); a file
 * can be watched and is then reloaded when it changes. A reload swaps one reference: calls in
 * flight finish with the engine they started with, new calls get the new one, none is dropped.
 * A bad new file keeps the old rules and reports why.
 */
import { unwatchFile, watchFile, type Stats } from 'node:fs';
import { compileRules, type Engine } from './compile';
import { loadRules, parseRules, RulesError } from './parse';

export type ReloadResult = { ok: true } | { ok: false; problems: string[] };

export interface RulesSource {
  /** The engine to use for a call: read it once per call. */
  readonly engine: Engine;
  /** The file, when the rules came from one. */
  readonly path?: string;
  /** Reads the file again now; returns the problems when it is bad (the old rules stay). */
  reload(): ReloadResult;
  /** Polls the file every `intervalMs` and reloads when it changed. */
  watch(intervalMs: number, onReload: (result: ReloadResult) => void): void;
  stop(): void;
}

export function createRulesSource(input: string | object): RulesSource {
  const path = typeof input == 'string' ? input : undefined;
  let engine = compileRules(path ? loadRules(path) : parseRules(input));
  let listener: ((curr: Stats, prev: Stats) => void) | undefined;

  const source: RulesSource = {
    get engine() {
      return engine;
    },
    path,
    reload() {
      if (!path) return { ok: true };
      try {
        engine = compileRules(loadRules(path));
        return { ok: true };
      } catch (e) {
        if (e instanceof RulesError) return { ok: false, problems: e.problems };
        return { ok: false, problems: [String((e as Error)?.message ?? e)] };
      }
    },
    watch(intervalMs, onReload) {
      if (!path || listener) return;
      // Polling (not fs.watch) survives editors that save by writing a new file and renaming it.
      listener = (curr, prev) => {
        if (curr.mtimeMs == prev.mtimeMs && curr.size == prev.size && curr.ino == prev.ino) return;
        onReload(source.reload());
      };
      watchFile(path, { interval: intervalMs, persistent: false }, listener);
    },
    stop() {
      if (path && listener) unwatchFile(path, listener);
      listener = undefined;
    },
  };
  return source;
}
