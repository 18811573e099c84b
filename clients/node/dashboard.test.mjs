// The built-in dashboard (http-port) in a real browser: Debian's chromium,
// headless, driven by playwright-core (no browser download: the system's).
//
// The test makes a queue, a stream with a consumer group and a channel with
// a subscriber, checks the page shows them with the right numbers and no
// console errors, then adds traffic and checks the page updates by itself.
// With DASHBOARD_SCREENSHOT=path it saves a screenshot there (docs/).
//
// Needs CINNABAR_HTTP_PORT (clients/run.sh starts Cinnabar with one); skipped
// against real Redis, which has no dashboard.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Redis from 'ioredis';
import { chromium } from 'playwright-core';
import { HOST, PORT, uniq } from './common.mjs';

const HTTP_PORT = process.env.CINNABAR_HTTP_PORT;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

test('dashboard shows the queue, stream group and channel, and follows traffic', {
  skip: HTTP_PORT ? false : 'no CINNABAR_HTTP_PORT (real Redis has no dashboard)',
  timeout: 120_000,
}, async () => {
  const prefix = uniq('dash');
  const queue = `${prefix}:queue`;
  const stream = `${prefix}:stream`;
  const channel = `${prefix}:channel`;
  const redis = new Redis({ host: HOST, port: PORT, lazyConnect: true });
  const subs = [];
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    await redis.connect();
    // The test names its own keys for the per-key tables.
    assert.equal(await redis.config('SET', 'metrics-keys', `${prefix}*`), 'OK');
    await redis.rpush(queue, 'a', 'b', 'c');
    for (let i = 0; i < 5; i++) await redis.xadd(stream, '*', 'n', String(i));
    await redis.xgroup('CREATE', stream, 'workers', '0');
    await redis.xreadgroup('GROUP', 'workers', 'w1', 'COUNT', 2, 'STREAMS', stream, '>');
    const sub = new Redis({ host: HOST, port: PORT });
    subs.push(sub);
    await sub.subscribe(channel);

    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
    const response = await page.goto(`http://127.0.0.1:${HTTP_PORT}/`);
    assert.equal(response.status(), 200);

    const rowAttr = (sel, attr) => page.$eval(sel, (el, a) => el.getAttribute(a), attr);
    const qSel = `#queues tr[data-key="${queue}"]`;
    const gSel = `#streams tr.group-row[data-key="${stream}"][data-group="workers"]`;
    const cSel = `#channels tr[data-channel="${channel}"]`;
    // First render: the state made above.
    await page.waitForSelector(qSel, { timeout: 15_000 });
    await page.waitForSelector(gSel, { timeout: 15_000 });
    await page.waitForSelector(cSel, { timeout: 15_000 });
    assert.equal(await rowAttr(qSel, 'data-length'), '3');
    assert.equal(await rowAttr(gSel, 'data-lag'), '3', '5 added, 2 read');
    assert.equal(await rowAttr(gSel, 'data-pending'), '2');
    assert.equal(await rowAttr(gSel, 'data-consumers'), '1');
    assert.equal(await rowAttr(`#streams tr.stream-row[data-key="${stream}"]`, 'data-length'), '5');
    assert.equal(await rowAttr(cSel, 'data-subscribers'), '1');
    // What a person reads: the visible text of the rows.
    const qText = await page.$eval(qSel, (el) => el.innerText);
    assert.match(qText, new RegExp(`${queue}\\s+db0\\s+3\\s+0`));

    // More traffic; the page must follow without a reload.
    const updatesBefore = Number(await page.$eval('body', (b) => b.dataset.updates));
    await redis.rpush(queue, 'd', 'e', 'f', 'g');
    await redis.xadd(stream, '*', 'n', '5');
    await redis.xadd(stream, '*', 'n', '6');
    await redis.xreadgroup('GROUP', 'workers', 'w2', 'COUNT', 1, 'STREAMS', stream, '>');
    const sub2 = new Redis({ host: HOST, port: PORT });
    subs.push(sub2);
    await sub2.subscribe(channel);
    // Load for the charts: batches of pipelined commands until the page
    // shows the new numbers and a non-zero ops/s (at most 1,000 batches of
    // 200 commands; the page polls once a second, so a few seconds' worth).
    const updated = async () => page.evaluate(([q, g, c]) => {
      const attr = (s, a) => document.querySelector(s)?.getAttribute(a);
      return attr(q, 'data-length') === '7' && attr(g, 'data-lag') === '4'
        && attr(g, 'data-pending') === '3' && attr(g, 'data-consumers') === '2'
        && attr(c, 'data-subscribers') === '2'
        && Number(document.getElementById('ops').textContent.replace(/,/g, '')) > 0;
    }, [qSel, gSel, cSel]);
    const batch = async (n) => {
      const p = redis.pipeline();
      for (let i = 0; i < 200; i++) p.set(`${prefix}:k${i % 20}`, String(i));
      await p.exec();
      await redis.publish(channel, `tick ${n}`);
    };
    let seen = false;
    for (let n = 0; n < 1000 && !seen; n++) {
      await batch(n);
      seen = await updated();
    }
    assert.ok(seen, 'the page did not show the updated queue / group / channel numbers and ops/s');
    if (process.env.DASHBOARD_SCREENSHOT) {
      // Keep the load on for 20 more refreshes so the charts have a shape.
      const updates = () => page.$eval('body', (b) => Number(b.dataset.updates));
      const until = (await updates()) + 20;
      for (let n = 0; n < 20_000 && (await updates()) < until; n++) await batch(n);
    }
    const updatesAfter = Number(await page.$eval('body', (b) => b.dataset.updates));
    assert.ok(updatesAfter > updatesBefore, 'the page refreshed by itself');
    assert.equal(await rowAttr(gSel, 'data-lag'), '4', '7 added, 3 read');
    if (process.env.DASHBOARD_SCREENSHOT) {
      await page.screenshot({ path: process.env.DASHBOARD_SCREENSHOT, fullPage: true });
    }
    assert.deepEqual(errors, [], 'console errors');
  } finally {
    await browser.close();
    for (const s of subs) s.disconnect();
    await redis.config('SET', 'metrics-keys', '').catch(() => {});
    redis.disconnect();
  }
});
