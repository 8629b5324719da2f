/**
 * Part 2 — main-thread cost in Chromium: each script-tag build evaluated and initialized the way
 * its vendor documents, on the same local page, in a fresh browser context per sample (cold: no
 * HTTP or code cache), candidates interleaved round-robin. Measured per sample:
 *   - CDP Performance.getMetrics ScriptDuration / TaskDuration for the page's document, read
 *     after the candidate's first call has answered (the empty page's median is subtracted);
 *   - performance marks: compile + evaluate (script response end -> mark after the tag) and the
 *     synchronous part of the init calls;
 *   - long tasks (PerformanceObserver 'longtask').
 * All network stays on this machine: pages, the decisioning answer and Segment's CDN/API are
 * served from loopback under *.pub.test; alloy's edge (https only) is answered by Playwright
 * routing; any other request is aborted and counted.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { SCRIPT_TAG } from '../lib/paths.mjs';
import { peerDir, peerScript, peerVersion } from '../lib/peers.mjs';
import { isLoopbackUrl } from '../lib/browser.mjs';
import { page, readHarness, stubSnippet, waitDone } from '../lib/pages.mjs';
import { answerRtc, startSite } from '../lib/site.mjs';
import { fmt, median, ratio, rotated, verdict } from '../lib/stats.mjs';
import { markdownTable } from '../lib/table.mjs';
import { options } from '../lib/options.mjs';

const SETTLE_MS = 300; // after the first answer, trailing work (timers, lazy chunks) is still counted
const ALLOY_ORG = '0000000000000000000000AA@AdobeOrg';
const SEGMENT_KEY = 'benchWriteKey0000';
const ALLOY_EDGE_HOSTS = ['edge.pub.test', 'adobedc.demdex.net'];

function candidates(port) {
  const host = (h) => `http://${h}.pub.test:${port}`;
  return {
    baseline: { label: 'empty page (subtracted)', html: page({ init: '__done(true)' }) },
    segtag: {
      label: 'segtag',
      script: '/lib/segtag.min.js',
      html: page({
        before: stubSnippet(),
        src: '/lib/segtag.min.js',
        init: `segtag('init',{endpoint:'${host('dcs')}/v1/rtc',site:'bench'});
segtag('page',{c_section:'sports'}).then(function(r){__done(r.ok,r.error)},function(e){__done(false,String(e))});`,
      }),
    },
    alloy: {
      label: `alloy (${peerVersion('alloy')})`,
      script: '/peers/alloy.min.js',
      html: page({
        // Adobe's documented base snippet: queues commands until alloy.min.js loads.
        before: `<script>!function(n,o){o.forEach(function(o){n[o]||((n.__alloyNS=n.__alloyNS||[]).push(o),n[o]=function(){var u=arguments;return new Promise(function(i,l){n[o].q.push([i,l,u])})},n[o].q=[])})}(window,["alloy"]);</script>`,
        src: '/peers/alloy.min.js',
        init: `alloy('configure',{datastreamId:'00000000-0000-0000-0000-000000000000',orgId:'${ALLOY_ORG}',edgeDomain:'edge.pub.test'});
alloy('sendEvent',{xdm:{eventType:'web.webpagedetails.pageViews',web:{webPageDetails:{name:'sports',pageViews:{value:1}}}},data:{c_section:'sports'}}).then(function(){__done(true)},function(e){__done(false,String(e))});`,
      }),
    },
    segment: {
      label: `Segment (${peerVersion('segment')})`,
      script: '/peers/standalone.js',
      html: page({
        // What Segment's snippet sets up before its loader arrives: a call buffer, the write key
        // and the CDN (here: loopback, which also serves the settings and the lazy chunks).
        before: `<script>var analytics=window.analytics=[];analytics._writeKey='${SEGMENT_KEY}';analytics._cdn='${host('cdn')}';analytics._loadOptions={};
['page','track','identify','on','ready'].forEach(function(m){analytics[m]=function(){var a=[].slice.call(arguments);a.unshift(m);analytics.push(a);return analytics}});</script>`,
        src: '/peers/standalone.js',
        init: `analytics.on('page',function(){__done(true)});analytics.page({c_section:'sports'});`,
      }),
    },
  };
}

/** Segment's CDN settings for a source with no destinations, its API pointed at loopback over http. */
function segmentSettings(port) {
  return JSON.stringify({
    integrations: {
      'Segment.io': {
        apiKey: SEGMENT_KEY,
        unbundledIntegrations: [],
        addBundledMetadata: true,
        maybeBundledConfigIds: {},
        versionSettings: { componentTypes: ['browser'] },
        apiHost: `api.pub.test:${port}/v1`,
        protocol: 'http',
      },
    },
    plan: { track: { __default: { enabled: true, integrations: {} } }, identify: { __default: { enabled: true } } },
    edgeFunction: {},
    analyticsNextEnabled: true,
    middlewareSettings: {},
    enabledMiddleware: {},
    metrics: { sampleRate: 0.1, host: `api.pub.test:${port}/v1` },
    legacyVideoPluginsEnabled: false,
    remotePlugins: [],
  });
}

/** What Adobe's edge answers a first interact call: an ECID and the identity cookie to store. */
function alloyEdgeAnswer(requestId) {
  const cookie = (key, value, maxAge) => ({ key: `kndctr_${ALLOY_ORG.replace('@', '_')}_${key}`, value, maxAge });
  return JSON.stringify({
    requestId,
    handle: [
      {
        type: 'identity:result',
        payload: [{ id: '12345678901234567890123456789012345678', namespace: { code: 'ECID' } }],
      },
      {
        type: 'state:store',
        payload: [
          cookie('identity', 'CiYxMjM0NTY3ODkwMTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3OA', 34128000),
          cookie('cluster', 'or2', 1800),
        ],
      },
    ],
  });
}

async function startPeerSite() {
  const json = (res, body) => {
    res.writeHead(200, {
      'content-type': 'application/json',
      'access-control-allow-origin': '*',
      'cache-control': 'no-store',
    });
    res.end(body);
  };
  const umd = join(peerDir('segment'), 'dist/umd');
  const site = await startSite({
    files: {
      '/lib/segtag.min.js': [SCRIPT_TAG, 'text/javascript'],
      '/peers/alloy.min.js': [peerScript('alloy'), 'text/javascript'],
      '/peers/standalone.js': [peerScript('segment'), 'text/javascript'],
    },
    routes: {
      '/v1/rtc': (req, res) => answerRtc(req, res),
      '/v1/projects/*': (req, res) => json(res, segmentSettings(site.port)),
      // Segment's tracking API (page events, metrics): accepted, like api.segment.io does.
      '/v1/*': async (req, res) => {
        for await (const _ of req);
        json(res, '{"success":true}');
      },
      // Segment's lazily loaded webpack chunks, from the same package.
      '/analytics-next/bundles/*': (req, res, path) => {
        const file = join(umd, basename(path));
        if (!/^[\w.-]+\.js$/.test(basename(path)) || !existsSync(file)) return void res.writeHead(404).end();
        res.writeHead(200, { 'content-type': 'text/javascript', 'cache-control': 'no-store' });
        res.end(readFileSync(file));
      },
    },
  });
  return site;
}

async function sample(browser, url, cand) {
  const context = await browser.newContext();
  const blocked = [];
  let routed = 0;
  await context.route('**/*', (route) => {
    const u = new URL(route.request().url());
    // Adobe's edge: the configured edgeDomain, and demdex.net, which alloy calls first for a
    // visitor without an identity cookie while third-party cookies are enabled (its default).
    if (u.protocol == 'https:' && ALLOY_EDGE_HOSTS.includes(u.hostname)) {
      routed++;
      const origin = route.request().headers().origin ?? '*';
      return route.fulfill({
        status: 200,
        headers: {
          'content-type': 'application/json',
          'access-control-allow-origin': origin,
          'access-control-allow-credentials': 'true',
        },
        body: alloyEdgeAnswer(u.searchParams.get('requestId') ?? 'bench'),
      });
    }
    if (isLoopbackUrl(u.href)) return route.continue();
    blocked.push(u.origin);
    return route.abort('blockedbyclient');
  });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e).slice(0, 200)));
  try {
    const cdp = await context.newCDPSession(page);
    await cdp.send('Performance.enable');
    await page.goto(url, { waitUntil: 'load' });
    await waitDone(page);
    await page.waitForTimeout(SETTLE_MS);
    const { metrics } = await cdp.send('Performance.getMetrics');
    const m = Object.fromEntries(metrics.map((x) => [x.name, x.value]));
    const h = await readHarness(page, cand.script);
    return {
      ok: h.ok !== false && !errors.length,
      detail: h.detail ?? errors[0],
      scriptMs: m.ScriptDuration * 1000,
      taskMs: m.TaskDuration * 1000,
      evalMs: cand.script ? h.b - h.scriptResponseEnd : 0,
      initMs: h.c - h.b,
      answerMs: h.t - h.a,
      // Only long tasks that end after the mark before the tag: earlier ones belong to page load.
      longTasks: (h.longTasks ?? []).filter(([start, ms]) => start + ms > h.a).map(([, ms]) => ms),
      longTasksBefore: (h.longTasks ?? []).filter(([start, ms]) => start + ms <= h.a).length,
      noLongTaskApi: !!h.noLongTaskApi,
      scriptRequests: h.scriptRequests,
      scriptBytes: h.scriptBytes,
      routed,
      blocked,
    };
  } catch (e) {
    return { ok: false, detail: String(e).split('\n')[0], blocked, routed };
  } finally {
    await context.close();
  }
}

export async function run({ browser }) {
  const site = await startPeerSite();
  try {
    const cands = candidates(site.port);
    const names = Object.keys(cands);
    for (const n of names) site.pages[`/mt/${n}`] = cands[n].html;
    const samples = Object.fromEntries(names.map((n) => [n, []]));
    // One untimed round first: Chromium's own first-use costs land on nobody's numbers.
    for (const n of names) await sample(browser, `http://www.pub.test:${site.port}/mt/${n}`, cands[n]);
    for (let round = 0; round < options.pages; round++) {
      for (const n of rotated(names, round)) {
        samples[n].push(await sample(browser, `http://www.pub.test:${site.port}/mt/${n}`, cands[n]));
      }
      if ((round + 1) % 5 == 0) process.stderr.write(`  main thread: ${round + 1}/${options.pages} rounds\n`);
    }
    return summarize(cands, samples);
  } finally {
    await site.close();
  }
}

function summarize(cands, samples) {
  const base = samples.baseline.filter((s) => s.ok);
  const baseScript = median(base.map((s) => s.scriptMs));
  const baseTask = median(base.map((s) => s.taskMs));
  const rows = Object.keys(cands).map((n) => {
    const ok = samples[n].filter((s) => s.ok);
    const longTasks = ok.flatMap((s) => s.longTasks ?? []);
    return {
      candidate: n,
      label: cands[n].label,
      pages: samples[n].length,
      failed: samples[n].length - ok.length,
      failures: [...new Set(samples[n].filter((s) => !s.ok).map((s) => s.detail))].slice(0, 3),
      scriptMs: median(ok.map((s) => s.scriptMs)),
      netScriptMs: n == 'baseline' ? 0 : median(ok.map((s) => s.scriptMs)) - baseScript,
      netTaskMs: n == 'baseline' ? 0 : median(ok.map((s) => s.taskMs)) - baseTask,
      evalMs: median(ok.map((s) => s.evalMs)),
      initMs: median(ok.map((s) => s.initMs)),
      answerMs: median(ok.map((s) => s.answerMs)),
      pagesWithLongTasks: ok.filter((s) => s.longTasks?.length).length,
      longestTaskMs: longTasks.length ? Math.max(...longTasks) : 0,
      longTaskApi: !ok.some((s) => s.noLongTaskApi),
      scriptRequests: median(ok.map((s) => s.scriptRequests)),
      scriptBytes: median(ok.map((s) => s.scriptBytes)),
      routedPerPage: median(ok.map((s) => s.routed)),
      blocked: [...new Set(samples[n].flatMap((s) => s.blocked ?? []))],
    };
  });
  const by = Object.fromEntries(rows.map((r) => [r.candidate, r]));
  const seg = by.segtag;
  const alloy = by.alloy;
  const mainOk =
    Number.isFinite(seg.netScriptMs) && Number.isFinite(alloy.netScriptMs) && !seg.failed
      ? seg.netScriptMs <= alloy.netScriptMs / 10
      : null;
  const longOk = seg.failed || !seg.longTaskApi ? null : seg.pagesWithLongTasks == 0;
  const targets = {
    mainThreadTenthOfAlloy: { met: mainOk, segtagMs: seg.netScriptMs, alloyMs: alloy.netScriptMs },
    noLongTask: { met: longOk, pages: seg.pagesWithLongTasks },
  };
  const table = markdownTable(
    [
      'candidate',
      'pages (failed)',
      'script ms (net):',
      'vs segtag:',
      'all main-thread tasks ms (net):',
      'compile+eval ms:',
      'sync init ms:',
      'first answer ms:',
      'pages with long tasks',
      'JS files / bytes loaded:',
      'target',
    ],
    rows.map((r) => [
      r.label,
      `${r.pages} (${r.failed})`,
      r.candidate == 'baseline' ? `${fmt(r.scriptMs)} (raw)` : fmt(r.netScriptMs),
      r.candidate == 'baseline' ? '' : ratio(r.netScriptMs, seg.netScriptMs),
      r.candidate == 'baseline' ? '' : fmt(r.netTaskMs, 1),
      r.candidate == 'baseline' ? '' : fmt(r.evalMs),
      fmt(r.initMs),
      fmt(r.answerMs, 1),
      `${r.pagesWithLongTasks}${r.longestTaskMs ? ` (longest ${r.longestTaskMs} ms)` : ''}`,
      r.candidate == 'baseline' ? '' : `${r.scriptRequests} / ${Math.round(r.scriptBytes).toLocaleString('en-US')}`,
      r.candidate == 'segtag' ? `${verdict(mainOk, '<= 1/10 of alloy')}; long tasks: ${verdict(longOk, 'none')}` : '',
    ]),
  );
  const blocked = rows.filter((r) => r.blocked.length).map((r) => `${r.label}: ${r.blocked.join(', ')}`);
  const failures = rows.filter((r) => r.failed).map((r) => `${r.label}: ${r.failures.join('; ')}`);
  const notes = [
    'script ms = CDP ScriptDuration of the page until the first call answered + ' +
      `${SETTLE_MS} ms, minus the empty page's median; all main-thread tasks = TaskDuration likewise ` +
      '(parsing, style, layout, GC and script). Medians over fresh contexts (cold caches), candidates interleaved.',
    'Long tasks (> 50 ms) are counted from the mark before the tag on; on a loaded machine even the empty page ' +
      'has some (a short task stretched by CPU contention), so compare with its row.',
    'compile+eval = script response end to the mark after the tag; sync init = the init calls until they return; ' +
      'first answer = mark before the tag to the first call answered (includes loopback network and Playwright request interception).',
    `Inits: segtag init + page(); alloy configure + sendEvent (its edge, ${ALLOY_EDGE_HOSTS.join(' and ')}, answered by Playwright routing, ` +
      `${rows.find((r) => r.candidate == 'alloy')?.routedPerPage ?? 0} request(s) per page); Segment's snippet buffer + page() ` +
      '(CDN settings, chunks and tracking API served from loopback).',
    blocked.length
      ? `Requests that tried to leave the machine (aborted): ${blocked.join('; ')}.`
      : 'No request tried to leave the machine.',
    ...(failures.length ? [`Failed pages: ${failures.join('; ')}.`] : []),
  ];
  return { title: 'Main-thread cost', rows, targets, table, notes };
}
