/**
 * HTML for the browser parts. Every candidate gets the same page around its own snippet: a
 * harness head (long-task observer, a `__done` hook) and performance marks around the script.
 */
import { readFileSync } from 'node:fs';
import { STUB } from './paths.mjs';

/** Runs first on every page: records long tasks and when the candidate said it was done. */
const HARNESS = `window.__b={longTasks:[],done:false};__b.finished=new Promise(function(r){__b.finish=r});
try{new PerformanceObserver(function(l){l.getEntries().forEach(function(e){__b.longTasks.push([Math.round(e.startTime),Math.round(e.duration)])})}).observe({type:'longtask',buffered:true})}catch(e){__b.noLongTaskApi=true}
window.__done=function(ok,detail){if(!__b.done){__b.done=true;__b.ok=ok;__b.detail=detail;__b.t=performance.now();__b.finish()}};`;

/**
 * Waits for the candidate's `__done` with one pending evaluate rather than polling: polls would
 * run script in the page and add to its ScriptDuration.
 */
export async function waitDone(page, timeoutMs = 30_000) {
  let timer;
  const finished = page.evaluate(() => window.__b.finished);
  finished.catch(() => {});
  try {
    await Promise.race([
      finished,
      new Promise(
        (_, reject) => (timer = setTimeout(() => reject(new Error(`not done after ${timeoutMs} ms`)), timeoutMs)),
      ),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export const stubSnippet = () => `<script>${readFileSync(STUB, 'utf8').trim()}</script>`;

/**
 * A publisher page: `before` (inline setup the vendor's snippet needs), the script tag loaded
 * synchronously between marks `a` and `b` (so compile + evaluate are bracketed), then `init`
 * between marks `b` and `c`.
 */
export function page({ title = 'Sports news', before = '', src, init = '' }) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<script>${HARNESS}</script>
${before}
</head><body>
<h1>${title}</h1><p>Benchmark page.</p>
<script>performance.mark('a')</script>
${src ? `<script src="${src}"></script>` : ''}
<script>performance.mark('b');
${init}
performance.mark('c')</script>
</body></html>`;
}

/** Reads the harness state and the marks back from the page. */
export function readHarness(page, scriptPath) {
  return page.evaluate((scriptPath) => {
    const mark = (n) => performance.getEntriesByName(n, 'mark')[0]?.startTime;
    const res = scriptPath
      ? performance.getEntriesByType('resource').find((e) => new URL(e.name).pathname == scriptPath)
      : undefined;
    const scripts = performance
      .getEntriesByType('resource')
      .filter((e) => e.initiatorType == 'script' || /\.js(\?|$)/.test(e.name));
    return {
      ...window.__b,
      a: mark('a'),
      b: mark('b'),
      c: mark('c'),
      scriptResponseEnd: res?.responseEnd,
      scriptRequests: scripts.length,
      scriptBytes: scripts.reduce((s, e) => s + (e.decodedBodySize || 0), 0),
    };
  }, scriptPath);
}
