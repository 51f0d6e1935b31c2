// The status page in a real browser (Debian's chromium through playwright-core) against
// `changefeed demo --feed-token`: run by tests/checks/ui, which starts the service and sets
// CHANGEFEED_URL, CHANGEFEED_FEED_TOKEN and CHANGEFEED_SCREENSHOT_DIR.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const base = process.env.CHANGEFEED_URL;
const token = process.env.CHANGEFEED_FEED_TOKEN;
const shots = process.env.CHANGEFEED_SCREENSHOT_DIR;
const uiSources = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'service', 'ui');
assert.ok(base && token && shots, 'CHANGEFEED_URL, CHANGEFEED_FEED_TOKEN and CHANGEFEED_SCREENSHOT_DIR are set');

const auth = { Authorization: `Bearer ${token}` };
let context;
let page;
const problems = [];     // page errors and console errors
const foreign = [];      // requests that left the service's origin

async function getJson(path, headers = auth) {
  const res = await fetch(base + path, { headers });
  return { status: res.status, body: await res.json() };
}

// The newest event of the next commits after now, as the JSON feed hands them out (long poll,
// bounded): the newest, because the tail keeps the newest rows of a burst.
async function nextEvent() {
  const deadline = Date.now() + 60000;
  let since = 'now';
  let newest = null;
  while (Date.now() < deadline) {
    const { status, body } = await getJson(`/changes?since=${since}&wait=${newest ? 0 : 30}&limit=1000`);
    assert.equal(status, 200);
    if (body.changes.length) newest = body.changes[body.changes.length - 1];
    since = body.next_since;
    if (newest && !body.has_more) return newest;
  }
  throw new Error('the demo committed no event within 60 s');
}

before(async () => {
  // A fresh profile per run: launchPersistentContext is playwright's way to pass --user-data-dir.
  context = await chromium.launchPersistentContext(process.env.CHANGEFEED_BROWSER_PROFILE, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  page = context.pages()[0] || await context.newPage();
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  // Failed loads are judged by their responses below; the browser also logs each as an error.
  page.on('console', (m) => {
    if (m.type() === 'error' && !/^Failed to load resource/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on('response', (r) => {
    const path = new URL(r.url()).pathname;
    const expected = (r.status() === 401 && /^\/(sources|activity|changes)$/.test(path))  // before the token
      || ([404, 405].includes(r.status()) && /\/resync$/.test(path));                     // resync not built yet
    if (r.status() >= 400 && !expected) problems.push(`${r.status()} for ${r.request().method()} ${path}`);
  });
  page.on('request', (r) => {
    if (!r.url().startsWith(`${base}/`) && !r.url().startsWith('data:')) foreign.push(r.url());
  });
});

after(async () => {
  if (context) await context.close();
});

test('the page and its files weigh under 100 KB, are the sources in service/ui/, and load nothing else', async () => {
  const res = await fetch(`${base}/`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/html/);
  assert.match(res.headers.get('content-security-policy'), /default-src 'none'/);
  const html = await res.text();
  assert.equal(html, await readFile(join(uiSources, 'index.html'), 'utf8'));
  let total = Buffer.byteLength(html);
  const assets = [...html.matchAll(/(?:src|href)="(\/ui\/[^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual(assets.sort(), ['/ui/status.css', '/ui/status.js']);
  for (const path of assets) {
    const a = await fetch(base + path);
    assert.equal(a.status, 200, path);
    const text = await a.text();
    assert.equal(text, await readFile(join(uiSources, path.slice('/ui/'.length)), 'utf8'), `${path} as embedded`);
    total += Buffer.byteLength(text);
  }
  assert.ok(total < 100 * 1024, `the page weighs ${total} bytes`);
  assert.equal((await fetch(`${base}/ui/nothing.js`)).status, 404);
  assert.equal((await fetch(`${base}/ui/index.html`)).status, 404);
});

test('the page asks for the token, keeps it in the tab, and lists every source the service has', async () => {
  const unauthorized = await getJson('/sources', {});
  assert.equal(unauthorized.status, 401, 'the demo was started with --feed-token');
  const { status, body } = await getJson('/sources');
  assert.equal(status, 200);
  const names = body.sources.map((s) => s.name);
  assert.ok(names.length >= 1);

  await page.goto(`${base}/`);
  const dialog = page.getByRole('dialog', { name: 'Feed token' });
  await dialog.waitFor({ state: 'visible', timeout: 10000 });
  await dialog.getByLabel('Token').fill('not-the-token');
  await dialog.getByRole('button', { name: 'Continue' }).click();
  await dialog.getByText('That token was refused').waitFor({ timeout: 10000 });
  await dialog.getByLabel('Token').fill(token);
  await dialog.getByRole('button', { name: 'Continue' }).click();
  await dialog.waitFor({ state: 'hidden', timeout: 10000 });

  const cards = page.locator('#sources > li');
  await page.waitForFunction((n) => document.querySelectorAll('#sources > li').length === n, names.length,
    { timeout: 10000 });
  assert.deepEqual(await cards.evaluateAll((els) => els.map((e) => e.dataset.source)), names);
  for (const name of names) {
    const card = page.locator(`#sources > li[data-source="${name}"]`);
    assert.match(await card.locator('.state').innerText(), /^(idle|polling|backing_off|failing|disabled)/);
    assert.equal(await card.locator('svg[role="img"]').count(), 1, `${name} has its per-minute chart`);
    const windows = body.sources.find((s) => s.name === name).budget.length;
    assert.equal(await card.locator('[role="meter"]').count(), windows, `${name}: one bar per budget window`);
  }
  assert.equal(await page.evaluate(() => sessionStorage.getItem('changefeed.feed_token')), token);
  assert.equal(await page.evaluate(() => localStorage.length), 0);
  assert.match(await page.locator('#head-seq').innerText(), /^#\d/);
});

test('the live tail streams over SSE and shows a new event as it commits', async () => {
  const stream = page.locator('#stream-state');
  await page.waitForFunction(() => document.getElementById('stream-state').dataset.state === 'live', null,
    { timeout: 10000 });
  assert.equal(await stream.getAttribute('data-transport'), 'sse', await stream.innerText());
  const ev = await nextEvent();
  // Its row; or, should a burst of newer events have followed at once (a catch-up commits hundreds),
  // a full tail of rows newer than it. A generous bound: the push takes milliseconds, but CI
  // machines are shared (speed is not tested here).
  await page.waitForFunction((seq) => {
    const list = document.getElementById('events');
    const shown = [...list.children].map((e) => Number(e.dataset.seq));
    return shown.includes(seq) || (shown.length === Number(list.dataset.max) && shown.every((s) => s > seq));
  }, ev.seq, { timeout: 15000 });
  assert.equal(await stream.getAttribute('data-transport'), 'sse', 'the event came some other way');
});

test('a filter narrows the tail, and what arrives afterwards matches it', async () => {
  // Enough rows to narrow: at least two values of one field among them.
  const rows = page.locator('#events > li');
  let field = null;
  const deadline = Date.now() + 60000;
  while (!field && Date.now() < deadline) {
    const seen = await rows.evaluateAll((els) => els.map((e) => ({ ...e.dataset })));
    for (const f of ['source', 'resource', 'operation']) {
      if (new Set(seen.map((r) => r[f])).size > 1) {
        field = f;
        break;
      }
    }
    if (!field) await nextEvent();
  }
  assert.ok(field, 'the tail showed events differing in source, resource or operation');
  await page.evaluate(() => window.scrollTo(0, 0));
  const height = await page.evaluate(() => Math.min(document.documentElement.scrollHeight, 1200));
  await page.screenshot({ path: join(shots, 'status-page.png'), fullPage: true, clip: { x: 0, y: 0, width: 1280, height } });
  const before = await rows.evaluateAll((els) => els.map((e) => ({ ...e.dataset })));
  const value = before[0][field];
  if (field === 'resource') {
    await page.getByLabel('Resource').fill(value);
    await page.getByLabel('Resource').press('Enter');
  } else {
    await page.getByLabel(field === 'source' ? 'Source' : 'Operation', { exact: true }).selectOption(value);
  }
  const after = await rows.evaluateAll((els) => els.map((e) => ({ ...e.dataset })));
  assert.ok(after.length > 0 && after.length < before.length, `${before.length} rows became ${after.length}`);
  assert.ok(after.every((r) => r[field] === value), `every row has ${field} ${value}`);

  // The stream now carries only matching events: wait for one that is newer than all shown.
  const newest = Math.max(...after.map((r) => Number(r.seq)));
  await page.waitForFunction((n) => [...document.querySelectorAll('#events > li')].some((e) => Number(e.dataset.seq) > n),
    newest, { timeout: 60000 });
  const later = await rows.evaluateAll((els) => els.map((e) => ({ ...e.dataset })));
  assert.ok(later.every((r) => r[field] === value), `rows that arrived after the filter have ${field} ${value}`);
});

test('an event expands from the keyboard into its JSON with the changes highlighted', async () => {
  const withChanges = page.locator('#events > li[data-changes]:not([data-changes="0"])').first();
  const row = (await withChanges.count()) ? withChanges : page.locator('#events > li').first();
  const seq = await row.getAttribute('data-seq');
  const button = row.locator('button.row');
  await button.focus();
  await page.keyboard.press('Enter');
  assert.equal(await button.getAttribute('aria-expanded'), 'true');
  const json = row.locator('pre.json');
  await json.waitFor({ state: 'visible' });
  assert.match(await json.innerText(), new RegExp(`"seq": ${seq},`));
  if (Number(await row.getAttribute('data-changes')) > 0) {
    assert.match(await row.locator('pre.json mark.changes').innerText(), /"changes": \[/);
    assert.ok(await row.locator('table').count() === 1, 'a table of the field changes');
  }
  await page.screenshot({ path: join(shots, 'status-page-event.png'), fullPage: false });
  await page.keyboard.press('Enter');
  assert.equal(await button.getAttribute('aria-expanded'), 'false');
});

test('resync asks for confirmation and shows the server\'s answer', async () => {
  const card = page.locator('#sources > li').first();
  await card.getByRole('button', { name: 'Resync…' }).click();
  const dialog = page.getByRole('dialog', { name: /^Resync / });
  await dialog.waitFor({ state: 'visible' });
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'hidden' });
  assert.equal(await card.locator('.note').innerText(), '', 'cancel sends nothing');

  await card.getByRole('button', { name: 'Resync…' }).click();
  await dialog.getByLabel(/^From/).fill('not a time');
  await dialog.getByRole('button', { name: 'Start resync' }).click();
  await dialog.getByText('RFC 3339').last().waitFor();
  await dialog.getByLabel(/^From/).fill('');
  await dialog.getByRole('button', { name: 'Start resync' }).click();
  await dialog.waitFor({ state: 'hidden' });
  // 202 where resync is built; until then the router's JSON 404/405, shown politely.
  await page.waitForFunction((name) => document.querySelector(`#sources > li[data-source="${name}"] .note`).textContent !== '',
    await card.getAttribute('data-source'), { timeout: 10000 });
  assert.match(await card.locator('.note').innerText(),
    /^(Resync started|A resync is already running|This service cannot resync yet: .+ \((404|405)\))/);
});

test('the tail parses SSE frames, resumes with Last-Event-ID, and shows changes as text', async () => {
  // A second tab whose /changes answers come from here: the demo's events carry no `changes` yet.
  const tab = await context.newPage();
  tab.on('pageerror', (e) => problems.push(`page error (second tab): ${e.message}`));
  await tab.addInitScript((t) => sessionStorage.setItem('changefeed.feed_token', t), token);
  const requests = [];
  let reconnected;
  const reconnect = new Promise((resolve) => { reconnected = resolve; });
  const hostile = '<img src=x onerror="window.pwned=1">';
  const ev = (seq, changes) => JSON.stringify({
    seq, event_id: `e-${seq}`, source: 'struct', source_kind: 'struct', resource: 'products', resource_id: `p${seq}`,
    operation: 'update', occurred_at: '2026-11-20T09:15:02.123Z', recorded_at: '2026-11-20T09:15:04.870Z',
    ...(changes ? { changes } : {}), upstream: { n: seq },
  });
  await tab.route('**/changes?**', async (route) => {
    const headers = route.request().headers();
    requests.push({ url: route.request().url(), lastEventId: headers['last-event-id'], auth: headers.authorization });
    if (requests.length === 2) reconnected();
    const body = requests.length > 1 ? ': keep-alive\n\n'
      : `: keep-alive\n\nid: 9000001\nevent: change\ndata: ${ev(9000001, [
        { field: 'Name', old: 'Chair', new: hostile }, { field: '/price', old: 10, new: 12.5 }])}\n\n`
        + `id: 9000002\r\nevent: change\r\ndata: ${ev(9000002)}\r\n\r\n`;
    await route.fulfill({ status: 200, headers: { 'Content-Type': 'text/event-stream' }, body });
  });
  await tab.goto(`${base}/`);
  await tab.locator('#events > li[data-seq="9000002"]').waitFor({ timeout: 10000 });
  assert.deepEqual(await tab.locator('#events > li').evaluateAll((els) => els.map((e) => e.dataset.seq)),
    ['9000002', '9000001'], 'newest first');
  const row = tab.locator('#events > li[data-seq="9000001"]');
  await row.locator('button.row').click();
  assert.equal(await row.locator('caption').innerText(), '2 field changes');
  assert.deepEqual(await row.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => tr.innerText.split('\t'))),
    [['Name', '"Chair"', JSON.stringify(hostile)], ['/price', '10', '12.5']]);
  assert.match(await row.locator('pre.json mark.changes').innerText(), /^ {2}"changes": \[/);
  assert.equal(await tab.locator('img').count(), 0, 'event text is never parsed as HTML');
  assert.equal(await tab.evaluate(() => window.pwned), undefined);
  // The stream ended: the reconnect resumes after the last id shown, with the token.
  let timer;
  const gaveUp = new Promise((resolve) => { timer = setTimeout(resolve, 10000); });
  await Promise.race([reconnect, gaveUp]);
  clearTimeout(timer);
  assert.ok(requests.length >= 2, 'the tail reconnected within 10 s');
  assert.equal(requests[1].lastEventId, '9000002');
  assert.equal(new URL(requests[1].url).searchParams.get('since'), '9000002');
  assert.ok(requests.every((r) => r.auth === `Bearer ${token}`));
  assert.equal(requests[0].lastEventId, undefined, 'the first request starts from since');
  await tab.close();
});

// Text whose contrast with its background is below WCAG AA (4.5:1; 3:1 for large text).
function lowContrast() {
  const rgba = (c) => (c.match(/[\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { const x = v / 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const over = (top, under) => {
    const a = top[3] === undefined ? 1 : top[3];
    return [0, 1, 2].map((i) => top[i] * a + under[i] * (1 - a));
  };
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) layers.push(rgba(getComputedStyle(e).backgroundColor));
    return layers.reverse().reduce((under, top) => (top.length ? over(top, under) : under), [255, 255, 255]);
  };
  const bad = [];
  for (const el of document.querySelectorAll('body *')) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || !el.getClientRects().length || el.closest('.visually-hidden, svg, [hidden], dialog:not([open])')) continue;
    const st = getComputedStyle(el);
    if (st.visibility !== 'visible' || Number(st.opacity) === 0) continue;
    const fg = over(rgba(st.color), background(el));
    const bg = background(el);
    const [l1, l2] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    const ratio = (l1 + 0.05) / (l2 + 0.05);
    const size = parseFloat(st.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(st.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) bad.push(`${el.tagName.toLowerCase()}.${el.className} "${el.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)}`);
  }
  return bad;
}

test('every control has a label, and text meets WCAG AA contrast in light and dark', async () => {
  const unlabelled = await page.locator('input, select, button').evaluateAll((els) => els
    .filter((e) => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim())
    .map((e) => e.id || e.outerHTML.slice(0, 60)));
  assert.deepEqual(unlabelled, []);
  for (const colorScheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme });
    assert.deepEqual(await page.evaluate(lowContrast), [], `${colorScheme} colours`);
  }
  await page.screenshot({ path: join(shots, 'status-page-dark.png'), fullPage: false });
  await page.emulateMedia({ colorScheme: 'light' });
});

test('the page reads well on a phone, and nothing failed or left the origin', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `no horizontal scrolling on a phone (${overflow}px too wide)`);
  await page.screenshot({ path: join(shots, 'status-page-phone.png'), fullPage: false });
  assert.deepEqual(foreign, []);
  assert.deepEqual(problems, []);
});
