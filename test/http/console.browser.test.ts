/**
 * The operator console in a real browser (Debian's chromium through playwright-core) against a
 * listening in-process service: signing in, what the tables show against what the API answers,
 * the period buttons, refused keys, forgetting the key, and no script or CSP error on the way.
 * Skipped, with a message, where chromium is not installed (`apt-get install chromium`).
 */
import fs from 'node:fs';
import request from 'supertest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toneWav } from '../passport/fakes.js';
import { calibration } from './fixtures/calibration.js';
import { consent, consentAndEnrol, createHarness, verifyCall, type Harness } from './harness.js';

const chromiumPath = process.env.VP_CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = fs.existsSync(chromiumPath);
if (!haveChromium) console.warn(`Skipping the operator console browser tests: no chromium at ${chromiumPath} (apt-get install chromium, or set VP_CHROMIUM).`);

let browser: Browser;
let h: Harness;
let page: Page;
/** Console errors, page errors and failed requests: each one fails the test that caused it. */
const problems: string[] = [];

const table = (id: string) => page.$$eval(`#${id} tbody tr`, (rows) => rows.map((r) => [...r.querySelectorAll('td')].map((c) => (c.textContent ?? '').trim())));

async function signIn(key: string): Promise<void> {
  await page.fill('#key', key);
  await page.click('#sign-in button[type=submit]');
}

async function openConsole(harness: Harness): Promise<Page> {
  const p = await browser.newPage();
  p.on('console', (m) => {
    // A refused key is an expected 401/403 in the network log, which chromium reports as a console error.
    if (m.type() === 'error' && !/status of 40[13]/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  p.on('pageerror', (e) => problems.push(`page: ${e.message}`));
  await p.goto(`http://${await harness.listen()}/console`);
  return p;
}

describe.skipIf(!haveChromium)('operator console in a browser', { timeout: 30_000 }, () => {
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: chromiumPath, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  }, 30_000);
  afterAll(async () => {
    await browser?.close();
  });

  describe('a model without calibration', () => {
    beforeAll(async () => {
      h = createHarness();
      await consentAndEnrol(h, 'cust-1', 200);
      await consent(h, 'cust-2');
      await verifyCall(h, 'cust-1', toneWav({ freq: 200, seconds: 4 })); // accept
      const rejected = await verifyCall(h, 'cust-1', toneWav({ freq: 400, seconds: 4 })); // reject
      const telephone = await verifyCall(h, 'cust-1', toneWav({ freq: 200, seconds: 4, sampleRate: 8000 })); // accept, telephone
      await verifyCall(h, 'cust-2', toneWav({ freq: 200, seconds: 4 })); // not enrolled
      await verifyCall(h, 'cust-1', toneWav({ freq: 200, seconds: 6 }), '?policy=high'); // accept at high
      // Reported afterwards: the rejected caller was the customer, the telephone one was not.
      const outcome = (id: string, body: object) => request(h.app).put(`/v1/verifications/${id}/outcome`).set(h.auth('operator')).send(body);
      expect((await outcome(rejected.body.verificationId, { truth: 'genuine', source: 'step-up' })).status).toBe(200);
      expect((await outcome(telephone.body.verificationId, { truth: 'impostor', source: 'fraud-case' })).status).toBe(200);
      page = await openConsole(h);
    }, 30_000);
    afterAll(async () => {
      await h?.close();
    });

    it('opens at /console/ and shows the readiness of the service before any key', async () => {
      expect(new URL(page.url()).pathname).toBe('/console/');
      // Polled from here, not evaluated in the page: the page's CSP allows no eval.
      await expect.poll(() => page.textContent('#readiness'), { timeout: 10_000 }).toBe('Service ready.');
      expect(await page.isVisible('#signed-in')).toBe(false);
      expect(problems).toEqual([]);
    });

    it('refuses an unknown key and a key of another role with a reason, and shows nothing', async () => {
      await signIn('vp_operator_' + 'x'.repeat(43));
      await page.waitForSelector('#sign-in-error:not([hidden])');
      expect(await page.textContent('#sign-in-error')).toBe('The key was refused: it is not a key of this service, or it was revoked.');
      await signIn(h.keys.telephony);
      await expect.poll(() => page.textContent('#sign-in-error'), { timeout: 10_000 }).toContain('operator role');
      expect(await page.isVisible('#signed-in')).toBe(false);
      expect(await table('policy-table')).toEqual([]);
      expect(problems).toEqual([]);
    });

    it('shows the policies, the decisions and the audit log as the API answers them', async () => {
      await signIn(h.keys.operator);
      await page.waitForSelector('#signed-in:not([hidden])');
      expect(await page.isVisible('#sign-in')).toBe(false);
      expect(await page.inputValue('#key')).toBe('');

      const policies = (await request(h.app).get('/v1/operator/policies').set(h.auth('operator'))).body;
      expect(await page.textContent('#policies-explanation')).toBe(policies.explanation);
      expect(await table('policy-table')).toEqual(
        policies.policies.map((p: { name: string; description: string; threshold: number; minNetSpeechSeconds: number }) => [
          `${p.name}${p.description}`,
          'explicit threshold',
          'any',
          `${p.threshold.toFixed(3)} (cosine)`,
          '—',
          '—',
          'no calibration',
          `${p.minNetSpeechSeconds} s`,
        ]),
      );

      // The period buttons start at the last 7 days of the browser's clock; the harness's calls are dated March 2026.
      expect(await table('decision-table')).toEqual([['No verifications in this period.']]);
      expect(await table('outcome-table')).toEqual([['No outcomes reported for calls in this period.']]);
      await page.click('#ranges button[data-days=all]');
      await expect.poll(async () => (await table('decision-table')).length, { timeout: 10_000 }).toBeGreaterThan(1);
      expect(await page.getAttribute('#ranges button[data-days=all]', 'aria-pressed')).toBe('true');
      expect(await page.textContent('#stats-range')).toBe('The whole history.');
      const z = ['0 (0.0 %)', '0 (0.0 %)', '0 (0.0 %)', '0 (0.0 %)', '0 (0.0 %)', '0 (0.0 %)'];
      expect(await table('decision-table')).toEqual([
        ['high', 'all', '1', '1 (100.0 %)', ...z.slice(1)],
        ['', 'wideband', '1', '1 (100.0 %)', ...z.slice(1)],
        ['standard', 'all', '4', '2 (50.0 %)', '1 (25.0 %)', '0 (0.0 %)', '1 (25.0 %)', '0 (0.0 %)', '0 (0.0 %)'],
        ['', 'wideband', '2', '1 (50.0 %)', '1 (50.0 %)', '0 (0.0 %)', '0 (0.0 %)', '0 (0.0 %)', '0 (0.0 %)'],
        ['', 'telephone', '1', '1 (100.0 %)', ...z.slice(1)],
      ]);
      const notes = await page.textContent('#stats-notes');
      expect(notes).toContain('Subjects: 2 (1 enrolled, 0 enrolling).');
      // Every call sent a recording; a transport without calls is not named.
      expect(notes).toContain('Recordings: 5, 0 (0.0 %) inconclusive.');
      expect(notes).not.toContain('Streams');
      // One of one of each, with the Wilson interval the API answers; no target FMR without calibration;
      // per channel, where each was scored (the rejected call wideband, the accepted one on the phone).
      const observed = '1 of 1: 100.00 % 95 %: 20.65 %–100.00 %';
      expect(await table('outcome-table')).toEqual([
        ['standard', 'all', '—', '1', observed, '1', observed],
        ['', 'wideband', '', '0', '—', '1', observed],
        ['', 'telephone', '', '1', observed, '0', '—'],
      ]);
      // The notices and the periods kept to: v1 names none for the records, so the configuration's apply.
      expect(await table('notice-table')).toEqual([
        ['v1', 'en, nl', '1095', '400 (notice: none)', '1826 (notice: none)'],
        ['v2 current', 'en, nl', '1095', '400', '1826'],
      ]);
      expect(await page.$$eval('#notice-warnings li', (l) => l.length)).toBe(0);
      // One figure per policy and channel with scored calls; its threshold line where the policy has it.
      expect(await page.$$eval('#histograms figcaption', (c) => c.map((x) => x.textContent))).toEqual([
        'high · wideband: 1 accepted, 0 rejected; threshold 0.600 cosine',
        'standard · wideband: 1 accepted, 1 rejected; threshold 0.500 cosine',
        'standard · telephone: 1 accepted, 0 rejected; threshold 0.500 cosine',
      ]);
      expect(await page.$$eval('#histograms svg rect.accept', (r) => r.length)).toBe(3);
      expect(await page.$$eval('#histograms svg rect.reject', (r) => r.length)).toBe(1);

      const audit = (await request(h.app).get('/v1/audit?limit=1000').set(h.auth('operator'))).body;
      const newest = audit.entries.slice(-25).reverse();
      const rows = await table('audit-table');
      expect(rows.map((r) => [Number(r[0]), r[2], r[3], r[4]])).toEqual(newest.map((e: { seq: number; action: string; outcome: string; actorKeyId: string | null }) => [e.seq, e.action, e.outcome, e.actorKeyId ?? '—']));
      expect(await page.textContent('#audit-head')).toContain(`Head #${audit.head.seq}, hash ${audit.head.hash}`);
      expect(problems).toEqual([]);
    });

    it('changes the policies in the editor: the API refuses an invalid set with its reasons, then takes a valid one, audited under the key', async () => {
      const fieldIn = (rowIndex: number, name: string) => page.locator(`#editor-table tbody tr >> nth=${rowIndex}`).locator(`.${name}`);
      const before = (await request(h.app).get('/v1/operator/policies').set(h.auth('operator'))).body.policies;
      await page.click('#edit-policies');
      expect(await page.isVisible('#policy-editor')).toBe(true);
      expect(await page.$$eval('#editor-table .name', (f) => f.map((x) => (x as unknown as { value: string }).value))).toEqual(['high', 'standard']);
      expect(await fieldIn(1, 'value').inputValue()).toBe('0.5');
      expect(await fieldIn(1, 'mode').inputValue()).toBe('threshold');

      // A cosine model takes thresholds in [-1, 1]: the API says so, and nothing changes.
      await fieldIn(1, 'value').fill('2');
      await page.click('#save-policies');
      await page.waitForSelector('#editor-error:not([hidden])');
      expect(await page.textContent('#editor-error p')).toBe('The service refused the set (400); nothing was changed:');
      expect(await page.textContent('#editor-error li')).toMatch(/^body\.policies\.1\.threshold: the running model compares cosines/);
      expect((await request(h.app).get('/v1/operator/policies').set(h.auth('operator'))).body.policies).toEqual(before);
      // The refused PUT is the one error chromium logged (a 400 in the network log).
      expect(problems.splice(0)).toEqual([expect.stringMatching(/status of 400/)]);

      await fieldIn(1, 'value').fill('0.55');
      await page.click('#add-policy');
      // Without a calibration a new policy starts as an explicit threshold (no bound to choose).
      expect(await fieldIn(2, 'mode').inputValue()).toBe('threshold');
      expect(await fieldIn(2, 'bound').isDisabled()).toBe(true);
      await fieldIn(2, 'mode').selectOption('target');
      expect(await fieldIn(2, 'bound').isDisabled()).toBe(false);
      await fieldIn(2, 'mode').selectOption('threshold');
      await fieldIn(2, 'name').fill('vip');
      await fieldIn(2, 'value').fill('0.7');
      await fieldIn(2, 'min').fill('4');
      await fieldIn(2, 'description').fill('Private banking.');
      await page.click('#save-policies');
      await expect.poll(() => page.textContent('#policy-saved'), { timeout: 10_000 }).toBe('Saved: 3 policies.');
      expect(await page.isVisible('#policy-editor')).toBe(false);

      const after = (await request(h.app).get('/v1/operator/policies').set(h.auth('operator'))).body.policies;
      expect(after.map((p: { name: string; threshold: number; minNetSpeechSeconds: number; description: string }) => [p.name, p.threshold, p.minNetSpeechSeconds, p.description])).toEqual([
        ['high', 0.6, 5, 'Payments and changes to contact details.'],
        ['standard', 0.55, 3, 'Caller authentication for account information.'],
        ['vip', 0.7, 4, 'Private banking.'],
      ]);
      expect((await table('policy-table')).map((r) => [r[0], r[3]])).toEqual([
        ['highPayments and changes to contact details.', '0.600 (cosine)'],
        ['standardCaller authentication for account information.', '0.550 (cosine)'],
        ['vipPrivate banking.', '0.700 (cosine)'],
      ]);
      const audit = (await request(h.app).get('/v1/audit?action=policy.updated').set(h.auth('operator'))).body.entries;
      expect(audit.map((e: { outcome: string; actorKeyId: string; details: { name: string } }) => [e.outcome, e.actorKeyId, e.details.name])).toEqual([
        ['changed', h.keyIds.operator, 'standard'],
        ['created', h.keyIds.operator, 'vip'],
      ]);
      expect(problems).toEqual([]);
    });

    it('does not save over a set another operator changed after the edit began (If-Match): says so, changes nothing', async () => {
      await page.click('#edit-policies');
      await page.locator('#editor-table tbody tr >> nth=1').locator('.value').fill('0.52');
      // Meanwhile another operator (here: the API) changes the set.
      const other = await request(h.app)
        .put('/v1/operator/policies')
        .set(h.auth('operator'))
        .send({ policies: [{ name: 'standard', threshold: 0.58, minNetSpeechSeconds: 3 }, { name: 'high', threshold: 0.6, minNetSpeechSeconds: 5 }] });
      expect(other.status).toBe(200);
      await page.click('#save-policies');
      await page.waitForSelector('#editor-error:not([hidden])');
      expect(await page.textContent('#editor-error p')).toBe('Another operator changed the policies since this edit began; nothing was changed. Cancel, look at the current set, and edit again.');
      expect((await request(h.app).get('/v1/operator/policies').set(h.auth('operator'))).body.policies.map((p: { name: string; threshold: number }) => [p.name, p.threshold])).toEqual([
        ['high', 0.6],
        ['standard', 0.58],
      ]);
      expect(problems.splice(0)).toEqual([expect.stringMatching(/status of 412/)]);
      await page.click('#cancel-policies');
    });

    it('reloads the figures by itself while "refresh every minute" is ticked, and not once it is unticked', async () => {
      const standardTotal = async () => Number((await table('decision-table')).find((r) => r[0] === 'standard')![2]);
      const before = await standardTotal();
      // A second instead of a minute; ticking again schedules with it.
      await page.$eval('body', (b) => b.setAttribute('data-refresh-seconds', '1'));
      expect(await page.isChecked('#auto-refresh')).toBe(true);
      await page.uncheck('#auto-refresh');
      await page.check('#auto-refresh');
      await verifyCall(h, 'cust-1', toneWav({ freq: 200, seconds: 4 }));
      await expect.poll(standardTotal, { timeout: 10_000 }).toBe(before + 1);

      await page.uncheck('#auto-refresh');
      const loadedAt = await page.textContent('#loaded-at');
      await verifyCall(h, 'cust-1', toneWav({ freq: 200, seconds: 4 }));
      await new Promise((resolve) => setTimeout(resolve, 2500));
      expect([await standardTotal(), await page.textContent('#loaded-at')]).toEqual([before + 1, loadedAt]);
      await page.click('#refresh');
      await expect.poll(standardTotal, { timeout: 10_000 }).toBe(before + 2);
      expect(problems).toEqual([]);
    });

    it('says how much of the audit log is held once its oldest entries were pruned', async () => {
      const through = h.store.audit.list({ limit: 10 })[9]!;
      h.store.audit.pruneBefore(new Date(Date.parse(through.occurredAt) + 1), { actorKeyId: null, retentionDays: 1 });
      const head = h.store.audit.head()!;
      await page.click('#refresh');
      await expect.poll(() => page.textContent('#audit-head'), { timeout: 10_000 }).toContain('were pruned');
      // The clock did not move between entries, so every entry up to the newest written then went.
      const pruned = h.store.audit.prunedThrough()!;
      expect(pruned.seq).toBeGreaterThanOrEqual(through.seq);
      const held = head.seq - pruned.seq;
      expect((await table('audit-table')).length).toBe(Math.min(25, held));
      expect(await page.textContent('#audit-head')).toBe(
        `Newest ${Math.min(25, held)} of ${held} entries. Entries up to #${pruned.seq} were pruned by the retention. Head #${head.seq}, hash ${head.hash}: record it outside the service to detect later removal of entries (npx voice-passport audit verify).`,
      );
      expect(problems).toEqual([]);
    });

    it('forgets the key: the tables empty and the next request needs the key again', async () => {
      await page.click('#sign-out');
      expect(await page.isVisible('#sign-in')).toBe(true);
      expect(await page.isVisible('#signed-in')).toBe(false);
      for (const id of ['policy-table', 'decision-table', 'outcome-table', 'notice-table', 'audit-table']) expect(await table(id), id).toEqual([]);
      expect(await page.$$eval('#histograms *', (n) => n.length)).toBe(0);
      expect(problems).toEqual([]);
    });
  });

  describe('a calibrated model', () => {
    beforeAll(async () => {
      h = createHarness({ calibration });
      page = await openConsole(h);
    }, 30_000);
    afterAll(async () => {
      await h?.close();
    });

    it('shows each policy per channel: threshold on both scales, the rates with their intervals, and what they rest on', async () => {
      await signIn(h.keys.operator);
      await page.waitForSelector('#signed-in:not([hidden])');
      const view = (await request(h.app).get('/v1/operator/policies').set(h.auth('operator'))).body;
      const wb = view.policies.find((p: { name: string }) => p.name === 'standard').channels.wideband;
      const tel = view.policies.find((p: { name: string }) => p.name === 'standard').channels.telephone;
      const pct = (x: number) => `${(x * 100).toFixed(2)} %`;
      const rows = await table('policy-table');
      // The name cell holds the name and, below it, the description.
      expect(rows.map((r) => [r[0], r[2]])).toEqual([
        ['highPayments and changes to contact details.', 'wideband'],
        ['highPayments and changes to contact details.', 'telephone'],
        ['standardCaller authentication for account information.', 'wideband'],
        ['standardCaller authentication for account information.', 'telephone'],
      ]);
      // Wideband carries 95 % intervals, this telephone calibration none (fixtures/calibration.ts).
      expect(rows[2]!.slice(1)).toEqual([
        'target FMR 1.00 % (estimate)',
        'wideband',
        `${wb.rawThreshold.toFixed(3)} cosine (LLR ${wb.llrThreshold.toFixed(3)})`,
        `${pct(wb.fmr)} 95 %: ${pct(wb.fmrInterval.low)}–${pct(wb.fmrInterval.high)}`,
        `${pct(wb.fnmr)} 95 %: ${pct(wb.fnmrInterval.low)}–${pct(wb.fnmrInterval.high)}`,
        '2000 impostor / 500 genuine trials; supports targets ≥ 0.15 %',
        `${view.policies[1].minNetSpeechSeconds} s`,
      ]);
      expect(rows[3]!.slice(3, 6)).toEqual([`${tel.rawThreshold.toFixed(3)} cosine (LLR ${tel.llrThreshold.toFixed(3)})`, pct(tel.fmr), pct(tel.fnmr)]);
      expect(wb.fmr).toBe(0.01);
      // high's threshold lets 1 of the 2000 impostor trials through (0.05 %): under 3/2000, shown as that bound (rule of three).
      const high = view.policies.find((p: { name: string }) => p.name === 'high').channels.wideband;
      expect(Math.round(high.fmr * 2000)).toBeLessThan(3);
      expect(rows[0]![4]).toMatch(/^< 3\/2000 \(0\.15 %\) 95 %: [\d.]+ %–[\d.]+ %$/);
      // high's 0.1 % is below what 2000 impostor trials support: the warnings, as the API words them.
      expect(await page.$$eval('#policy-warnings li', (li) => li.map((x) => x.textContent))).toEqual(view.warnings);
      expect(view.warnings).toHaveLength(2);
      expect(problems).toEqual([]);
    });

    it('sets a policy by its target false match rate in per cent', async () => {
      await page.click('#edit-policies');
      const standard = page.locator('#editor-table tbody tr >> nth=1');
      expect([await standard.locator('.mode').inputValue(), await standard.locator('.value').inputValue()]).toEqual(['target', '1']);
      await standard.locator('.value').fill('2');
      await page.click('#save-policies');
      await expect.poll(() => page.textContent('#policy-saved'), { timeout: 10_000 }).toBe('Saved: 2 policies.');
      const view = (await request(h.app).get('/v1/operator/policies').set(h.auth('operator'))).body;
      expect(view.policies[1]).toMatchObject({ name: 'standard', targetFmr: 0.02, thresholdSource: 'target-fmr' });
      expect((await table('policy-table'))[2]!.slice(1, 3)).toEqual(['target FMR 2.00 % (estimate)', 'wideband']);
      expect(problems).toEqual([]);
    });
    it('keeps the keyboard focus where the operator works, and shows small rates with two significant digits', async () => {
      // A string: this file is compiled without the DOM's types, and the expression runs in the page.
      const focused = () => page.evaluate<string>('(() => { const a = document.activeElement; return a?.id || a?.className || a?.tagName; })()');
      await page.focus('#edit-policies');
      await page.keyboard.press('Enter');
      expect(await focused()).toBe('name'); // the first field of the editor
      await page.click('#cancel-policies');
      expect(await focused()).toBe('edit-policies');
      // Named for a screen reader, per policy.
      expect(await page.$$eval('#editor-table select.bound', (s) => s.map((x) => x.getAttribute('aria-label')))).toEqual(['FMR bound, of high', 'FMR bound, of standard']);

      await page.click('#edit-policies');
      await page.click('#add-policy');
      const added = page.locator('#editor-table tbody tr >> nth=2');
      await added.locator('.name').fill('tiny');
      await added.locator('.value').fill('0.07'); // per cent: 0.0007, with no binary noise
      await added.locator('.min').fill('3');
      await page.click('#save-policies');
      await expect.poll(() => page.textContent('#policy-saved'), { timeout: 10_000 }).toBe('Saved: 3 policies.');
      const view = (await request(h.app).get('/v1/operator/policies').set(h.auth('operator'))).body;
      expect(view.policies.find((p: { name: string }) => p.name === 'tiny')).toMatchObject({ targetFmr: 0.0007 });
      const tiny = (await table('policy-table')).filter((r) => r[0]!.startsWith('tiny'));
      expect(tiny[0]![1]).toBe('target FMR 0.070 % (estimate)');
      expect(problems).toEqual([]);
    });

    it('drops a slow answer to an earlier period when a later one was asked for', async () => {
      // "all" answers slowly; "last 24 h", asked for after it, answers at once.
      await page.route((url) => url.pathname === '/v1/operator/stats' && url.search === '', async (route) => {
        await new Promise((resolve) => setTimeout(resolve, 1500));
        await route.continue();
      });
      await page.click('#ranges button[data-days=all]');
      await page.click('#ranges button[data-days="1"]');
      await expect.poll(() => page.textContent('#stats-range')).toMatch(/^From .* UTC until now\.$/);
      await new Promise((resolve) => setTimeout(resolve, 2000));
      expect(await page.textContent('#stats-range')).toMatch(/^From .* UTC until now\.$/);
      expect(await page.getAttribute('#ranges button[data-days="1"]', 'aria-pressed')).toBe('true');
      await page.unroute(() => true);
      expect(problems).toEqual([]);
    });

    it('forgets every figure with the key, and puts the focus on the key field', async () => {
      await page.click('#sign-out');
      for (const id of ['policies-explanation', 'stats-range', 'stats-notes', 'audit-head', 'loaded-at']) expect(await page.textContent(`#${id}`), id).toBe('');
      expect(await page.$$eval('#policy-warnings li', (li) => li.length)).toBe(0);
      expect(await page.evaluate<string>('document.activeElement?.id')).toBe('key');
      expect(problems).toEqual([]);
    });
  });
});
