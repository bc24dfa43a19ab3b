// Voice Passport operator console: policies (shown and changed), verification statistics and the
// audit log, through the operator API with a key the operator types in. The key lives in this
// module's memory only (no storage, no cookie), so closing the page forgets it. Everything the API
// returns is inserted as text (textContent), never parsed as HTML, and the page's own CSP
// (src/http/console.ts) lets nothing but this file script it.

// `load` counts loads: an answer to an older one (the period changed, or the key was forgotten, while
// it was on its way) is dropped, never shown over a newer one.
const state = { key: null, days: '7', policies: null, policiesVersion: null, editingVersion: null, loadedAt: 0, timer: null, load: 0 };
const auditRows = 25;
const svgNs = 'http://www.w3.org/2000/svg';

const $ = (id) => document.getElementById(id);

/** fetch itself failed: the service could not be reached (as against an answer the console could not show). */
class NetworkError extends Error {}

class ApiError extends Error {
  constructor(status, problem, retryAfter) {
    super(problem?.detail ?? problem?.title ?? `HTTP ${status}`);
    this.status = status;
    this.retryAfter = retryAfter;
    /** RFC 9457 problem's validation issues ({ path, message }), when the API gave them. */
    this.issues = Array.isArray(problem?.issues) ? problem.issues : [];
  }
}

/** One API call with `key` (one load's key, captured when it began: a forgotten key is never sent). */
async function api(path, { method = 'GET', body, key = state.key, ifMatch, withVersion = false } = {}) {
  if (key === null) throw new ApiError(401, { detail: 'No key.' });
  const headers = { Authorization: `Bearer ${key}`, Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (ifMatch) headers['If-Match'] = ifMatch;
  let res;
  try {
    res = await fetch(path, { method, headers, cache: 'no-store', ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  } catch (e) {
    throw new NetworkError(e.message);
  }
  const answer = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, answer, res.headers.get('Retry-After'));
  // The resource's version (ETag), for a change that must not overwrite another operator's.
  return withVersion ? { answer, version: res.headers.get('ETag') } : answer;
}

function explain(error) {
  if (error instanceof NetworkError) return `The service could not be reached (${error.message}).`;
  if (!(error instanceof ApiError)) return `The console could not show the service's answer (${error.message}); reload the page, and report it if it stays.`;
  if (error.status === 401) return 'The key was refused: it is not a key of this service, or it was revoked.';
  if (error.status === 403) return 'This key may not read the operator pages: use a key with the operator role.';
  if (error.status === 429) return `Too many requests with this key; try again in ${error.retryAfter ?? 'a few'} s.`;
  return `The service answered ${error.status}: ${error.message}`;
}

function el(tag, text, attributes = {}) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

function row(cells) {
  const tr = document.createElement('tr');
  for (const cell of cells) tr.append(cell instanceof Node ? cell : el('td', cell));
  return tr;
}

function td(...children) {
  const cell = document.createElement('td');
  cell.append(...children);
  return cell;
}

/** A rate in per cent: two decimals from 0.1 %, two significant digits below (0.0060 %, not 0.01 %), as the targets go that low. */
const rate = (x) => {
  const pc = x * 100;
  return `${pc === 0 || pc >= 0.1 ? pc.toFixed(2) : pc.toPrecision(2)} %`;
};
const share = (n, total) => (total === 0 ? '—' : `${n} (${((100 * n) / total).toFixed(1)} %)`);
const fixed = (x) => (Math.abs(x) >= 10 ? x.toFixed(2) : x.toFixed(3));

// --- readiness (open endpoint) ---

async function showReadiness() {
  const line = $('readiness');
  try {
    const res = await fetch('/readyz', { cache: 'no-store' });
    const body = await res.json().catch(() => null);
    const failing = Object.entries(body?.checks ?? {}).filter(([, ok]) => !ok).map(([name]) => name);
    const ready = res.ok && failing.length === 0;
    line.textContent = ready ? 'Service ready.' : failing.length > 0 ? `Service not ready: ${failing.join(', ')}.` : `Service not ready (HTTP ${res.status}).`;
    line.className = ready ? 'ok' : 'error';
  } catch (e) {
    line.textContent = `The service could not be reached (${e.message}).`;
    line.className = 'error';
  }
}

// --- policies ---

// ISO/IEC 19795-1 rule of three, as eval and calibrate quote rates: fewer than 3 errors in N trials
// only bound the rate by 3/N, so such a rate is shown as that bound, never as a number.
function rateText(value, trials, kind) {
  if (trials !== null && trials >= 3 && Math.round(value * trials) < 3) return `< 3/${trials} (${rate(3 / trials)})`;
  return `${kind === 'at-most' ? '≤ ' : ''}${rate(value)}`;
}

function rateCell(value, interval, kind, trials) {
  if (value === null) return td('—');
  const cell = td(rateText(value, trials, kind));
  if (interval) cell.append(el('span', ` 95 %: ${rate(interval.low)}–${rate(interval.high)}`, { class: 'interval' }));
  return cell;
}

function renderPolicies(response) {
  $('policies-explanation').textContent = response.explanation;
  const warnings = $('policy-warnings');
  warnings.replaceChildren(...response.warnings.map((w) => el('li', w)));
  const body = $('policy-table').tBodies[0];
  body.replaceChildren();
  for (const p of response.policies) {
    // A tier seeded before bounds were stored has none: it holds the estimate (src/scoring/policy.ts, boundOf).
    const setBy = p.thresholdSource === 'target-fmr' ? `target FMR ${rate(p.targetFmr)} (${p.targetFmrBound ?? 'estimate'})` : 'explicit threshold';
    const name = td(el('strong', p.name));
    if (p.description) name.append(el('div', p.description, { class: 'description' }));
    const channels = p.channels === null ? [] : Object.entries(p.channels);
    if (channels.length === 0) {
      body.append(row([name, setBy, 'any', `${fixed(p.threshold)} (${response.comparisonScale})`, '—', '—', 'no calibration', `${p.minNetSpeechSeconds} s`]));
      continue;
    }
    for (const [channel, t] of channels) {
      const data = [`${t.nonTargetTrials ?? '?'} impostor / ${t.targetTrials ?? '?'} genuine trials`];
      if (t.falseMatchPairs !== null) data.push(`false matches from ${t.falseMatchPairs} speaker pair${t.falseMatchPairs === 1 ? '' : 's'}`);
      if (t.lowestSupportedFmr !== null) data.push(`supports targets ≥ ${rate(t.lowestSupportedFmr)}`);
      body.append(
        row([
          name.cloneNode(true),
          setBy,
          channel,
          `${fixed(t.rawThreshold)} ${response.comparisonScale} (LLR ${fixed(t.llrThreshold)})`,
          rateCell(t.fmr, t.fmrInterval, t.rates, t.nonTargetTrials),
          rateCell(t.fnmr, t.fnmrInterval, t.rates, t.targetTrials),
          data.join('; '),
          `${p.minNetSpeechSeconds} s`,
        ]),
      );
    }
  }
}

// --- changing the policies (PUT /v1/operator/policies replaces the whole set) ---

function input(className, value, attributes = {}) {
  const field = el('input', undefined, { class: className, ...attributes });
  field.value = value ?? '';
  return field;
}

function select(className, options, value, label) {
  const field = el('select', undefined, { class: className, 'aria-label': label });
  for (const [optionValue, label] of options) field.append(el('option', label, { value: optionValue }));
  field.value = value;
  return field;
}

function editorRow(policy) {
  // A new row starts as the running model can take it: by target FMR only with a calibration.
  const byTarget = policy ? policy.targetFmr !== null : state.policies.calibration !== null;
  const which = policy ? `of ${policy.name}` : 'of the new policy';
  const mode = select('mode', [['target', 'target FMR (%)'], ['threshold', 'explicit threshold']], byTarget ? 'target' : 'threshold', `set by, ${which}`);
  const value = input('value', policy ? String(byTarget ? +(policy.targetFmr * 100).toPrecision(6) : policy.threshold) : '', { type: 'number', step: 'any', 'aria-label': `target FMR in per cent or threshold, ${which}` });
  const bound = select('bound', [['', 'default'], ['upper-95', 'upper-95'], ['estimate', 'estimate']], policy?.targetFmrBound ?? '', `FMR bound, ${which}`);
  const syncBound = () => {
    bound.disabled = mode.value !== 'target';
  };
  mode.addEventListener('change', syncBound);
  syncBound();
  const remove = el('button', 'Remove', { type: 'button', class: 'remove', 'aria-label': `Remove the policy ${policy ? policy.name : 'added'}` });
  const tr = row([
    td(input('name', policy?.name, { 'aria-label': `name ${which}`, spellcheck: 'false' })),
    td(mode),
    td(value),
    td(bound),
    td(input('min', policy ? String(policy.minNetSpeechSeconds) : '', { type: 'number', step: 'any', min: '0.5', 'aria-label': `minimum net speech in seconds, ${which}` })),
    td(input('description', policy?.description, { 'aria-label': `description ${which}` })),
    td(remove),
  ]);
  remove.addEventListener('click', () => {
    // Focus goes to the next row's Remove (or the row before's, or Add), not to the page's start.
    const next = tr.nextElementSibling ?? tr.previousElementSibling;
    tr.remove();
    (next?.querySelector('.remove') ?? $('add-policy')).focus();
  });
  return tr;
}

function openEditor() {
  // The set this edit starts from: saved over it only, even if a refresh shows a newer one meanwhile.
  state.editingVersion = state.policiesVersion;
  $('editor-table').tBodies[0].replaceChildren(...state.policies.policies.map(editorRow));
  $('editor-error').hidden = true;
  $('policy-saved').textContent = '';
  $('policy-editor').hidden = false;
  $('edit-policies').hidden = true;
  ($('editor-table').querySelector('input') ?? $('add-policy')).focus();
}

function closeEditor() {
  const wasOpen = !$('policy-editor').hidden;
  $('policy-editor').hidden = true;
  $('edit-policies').hidden = false;
  if (wasOpen && state.key !== null) $('edit-policies').focus();
}

/** The PUT body as the operator wrote it; the API checks it and says what is wrong. */
function editedPolicies() {
  return [...$('editor-table').tBodies[0].rows].map((tr) => {
    const field = (name) => tr.querySelector(`.${name}`).value.trim();
    const policy = { name: field('name'), description: field('description') };
    const value = field('value');
    if (value !== '') {
      // Per cent to a fraction without binary noise (0.07 / 100 is 0.0007000000000000001).
      if (field('mode') === 'target') policy.targetFmr = Number((Number(value) / 100).toPrecision(12));
      else policy.threshold = Number(value);
    }
    if (field('mode') === 'target' && field('bound') !== '') policy.targetFmrBound = field('bound');
    if (field('min') !== '') policy.minNetSpeechSeconds = Number(field('min'));
    return policy;
  });
}

async function savePolicies() {
  const error = $('editor-error');
  try {
    const saved = await api('/v1/operator/policies', { method: 'PUT', body: { policies: editedPolicies() }, ifMatch: state.editingVersion });
    closeEditor();
    await refresh();
    $('policy-saved').textContent = `Saved: ${saved.policies.length} ${saved.policies.length === 1 ? 'policy' : 'policies'}.`;
  } catch (e) {
    const withIssues = e instanceof ApiError && e.issues.length > 0;
    const changedMeanwhile = e instanceof ApiError && e.status === 412;
    const parts = [
      el('p', changedMeanwhile ? 'Another operator changed the policies since this edit began; nothing was changed. Cancel, look at the current set, and edit again.' : withIssues ? `The service refused the set (${e.status}); nothing was changed:` : explain(e)),
    ];
    if (withIssues) {
      const list = el('ul');
      list.append(...e.issues.map((i) => el('li', `${i.path}: ${i.message}`)));
      parts.push(list);
    }
    error.replaceChildren(...parts);
    error.hidden = false;
    if (e instanceof ApiError && (e.status === 401 || e.status === 403)) signOut(explain(e));
  }
}

// --- statistics ---

const decisions = ['accept', 'reject', 'inconclusive', 'not-enrolled', 'no-consent', 'locked'];

function statsPath() {
  if (state.days === 'all') return '/v1/operator/stats';
  const from = new Date(Date.now() - Number(state.days) * 86_400_000).toISOString();
  return `/v1/operator/stats?from=${encodeURIComponent(from)}`;
}

function decisionRow(policy, channel, counts) {
  const total = decisions.reduce((sum, d) => sum + (counts[d] ?? 0), 0);
  return row([policy, channel, total, ...decisions.map((d) => share(counts[d] ?? 0, total))]);
}

function renderStats(stats, policies) {
  for (const button of document.querySelectorAll('#ranges button')) button.setAttribute('aria-pressed', String(button.dataset.days === state.days));
  $('stats-range').textContent = stats.from === null ? 'The whole history.' : `From ${stats.from.replace('T', ' ').slice(0, 16)} UTC until now.`;
  const body = $('decision-table').tBodies[0];
  body.replaceChildren();
  const names = Object.keys(stats.verifications.byPolicy).sort();
  for (const name of names) {
    body.append(decisionRow(name, 'all', stats.verifications.byPolicy[name]));
    for (const [channel, c] of Object.entries(stats.byChannel)) {
      if (c.verifications.byPolicy[name]) body.append(decisionRow('', channel, c.verifications.byPolicy[name]));
    }
  }
  if (names.length === 0) body.append(row([el('td', 'No verifications in this period.', { colspan: '9' })]));

  const notes = [
    `Subjects: ${stats.enrolment.subjects} (${stats.enrolment.enrolled} enrolled, ${stats.enrolment.enrolling} enrolling).`,
    `Locked out now: ${stats.lockouts.verificationDisabledNow}; calls refused as locked in this period: ${stats.lockouts.lockedDecisions}.`,
  ];
  const reasonList = (reasons) => Object.entries(reasons).map(([r, n]) => `${r} ${n}`).join(', ');
  for (const [channel, c] of Object.entries(stats.byChannel)) {
    if (Object.keys(c.inconclusiveReasons).length > 0) notes.push(`Inconclusive on ${channel}: ${reasonList(c.inconclusiveReasons)}.`);
  }
  // Streams are decided on what the caller said before hanging up or falling silent: their share
  // of inconclusive calls tells of the platform's integration, apart from the recordings'.
  const transportNames = { request: 'Recordings', stream: 'Streams' };
  for (const [transport, t] of Object.entries(stats.byTransport)) {
    if (t.verifications.total === 0) continue;
    const inconclusive = t.verifications.byDecision.inconclusive;
    const why = inconclusive > 0 ? ` (${reasonList(t.inconclusiveReasons)})` : '';
    notes.push(`${transportNames[transport] ?? transport}: ${t.verifications.total}, ${share(inconclusive, t.verifications.total)} inconclusive${why}.`);
  }
  $('stats-notes').replaceChildren(...notes.map((n) => el('span', `${n} `)));
  renderOutcomes(stats.outcomes, policies);

  const key = policies.comparisonScale === 'as-norm' ? 'normalisedScoreHistograms' : 'scoreHistograms';
  const figures = [];
  for (const [channel, c] of Object.entries(stats.byChannel)) {
    for (const [name, bins] of Object.entries(c[key]).sort(([a], [b]) => a.localeCompare(b))) {
      if (!bins.some((b) => b.accept + b.reject > 0)) continue;
      const policy = policies.policies.find((p) => p.name === name);
      const threshold = policy?.channels?.[channel]?.rawThreshold ?? policy?.threshold ?? null;
      figures.push(histogram(`${name} · ${channel}`, bins, threshold, policies.comparisonScale));
    }
  }
  $('histograms').replaceChildren(...(figures.length > 0 ? figures : [el('p', 'No scored verifications in this period.')]));
}

/** Observed errors with their rate and 95 % interval, e.g. "2 of 20: 10.00 % 95 %: 2.79 %–30.10 %"; none decided: "—". */
function observedCell(observed) {
  if (observed === null) return td('—');
  const cell = rateCell(observed.rate, { low: observed.low95, high: observed.high95 }, 'estimate');
  cell.prepend(`${observed.errors} of ${observed.decided}: `);
  return cell;
}

function renderOutcomes(outcomes, policies) {
  const body = $('outcome-table').tBodies[0];
  body.replaceChildren();
  const names = Object.keys(outcomes).sort();
  const outcomeRow = (policy, channel, target, { genuine, impostor }) =>
    row([policy, channel, target, impostor.reported, observedCell(impostor.falseMatchRate), genuine.reported, observedCell(genuine.falseNonMatchRate)]);
  for (const name of names) {
    const policy = policies.policies.find((p) => p.name === name);
    const target = policy?.targetFmr ?? null;
    body.append(outcomeRow(name, 'all', target === null ? '—' : rate(target), outcomes[name]));
    // Each channel has its own threshold: its reported calls apart, where it has any.
    for (const [channel, o] of Object.entries(outcomes[name].byChannel)) {
      if (o.genuine.reported + o.impostor.reported > 0) body.append(outcomeRow('', channel, '', o));
    }
  }
  if (names.length === 0) body.append(row([el('td', 'No outcomes reported for calls in this period.', { colspan: '7' })]));
}

// --- consent notices (GET /v1/consent-notices) ---

/** "1095" when the service keeps to what the notice says, "400 (notice: none)" or "365 (notice: 1095)" when not. */
function periodCell(stated, applied) {
  return stated === applied ? String(applied) : `${applied} (notice: ${stated ?? 'none'})`;
}

function renderNotices({ versions, warnings }) {
  $('notice-warnings').replaceChildren(...warnings.map((w) => el('li', w)));
  $('notice-table').tBodies[0].replaceChildren(
    ...versions.map((v) => {
      const version = td(el('strong', v.version));
      if (v.current) version.append(el('span', ' current', { class: 'description' }));
      return row([
        version,
        v.availableLocales.join(', '),
        periodCell(v.retention.voiceprintUnusedDays, v.appliedRetention.voiceprintUnusedDays),
        periodCell(v.retention.verificationHistoryDays, v.appliedRetention.verificationHistoryDays),
        periodCell(v.retention.consentRecordDays, v.appliedRetention.consentRecordDays),
      ]);
    }),
  );
}

function svg(tag, attributes, text) {
  const node = document.createElementNS(svgNs, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function bar(x, y, width, height, kind, tooltip) {
  const rect = svg('rect', { x, y, width, height, class: kind });
  rect.append(svg('title', {}, tooltip));
  return rect;
}

function histogram(title, bins, threshold, scale) {
  const width = 400;
  const height = 150;
  const axis = 70;
  const barSpace = 60;
  const lo = bins[0].lower;
  const hi = bins[bins.length - 1].upper;
  const x = (v) => ((Math.min(Math.max(v, lo), hi) - lo) / (hi - lo)) * width;
  const max = Math.max(1, ...bins.map((b) => Math.max(b.accept, b.reject)));
  const accepted = bins.reduce((n, b) => n + b.accept, 0);
  const rejected = bins.reduce((n, b) => n + b.reject, 0);

  const figure = el('figure', undefined, { class: 'histogram' });
  const caption = `${title}: ${accepted} accepted, ${rejected} rejected${threshold === null ? '' : `; threshold ${fixed(threshold)} ${scale}`}`;
  const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': caption });
  bins.forEach((b) => {
    const bx = x(b.lower) + 1;
    const bw = Math.max(1, x(b.upper) - x(b.lower) - 2);
    const range = `${b.lower} to ${b.upper}`;
    if (b.accept > 0) chart.append(bar(bx, axis - (b.accept / max) * barSpace, bw, (b.accept / max) * barSpace, 'accept', `${range}: ${b.accept} accepted`));
    if (b.reject > 0) chart.append(bar(bx, axis, bw, (b.reject / max) * barSpace, 'reject', `${range}: ${b.reject} rejected`));
  });
  chart.append(svg('line', { x1: 0, x2: width, y1: axis, y2: axis, class: 'axis' }));
  chart.append(svg('text', { x: 0, y: height - 2, class: 'tick' }, String(lo)));
  chart.append(svg('text', { x: width, y: height - 2, class: 'tick end' }, String(hi)));
  if (threshold !== null) {
    const tx = x(threshold);
    chart.append(svg('line', { x1: tx, x2: tx, y1: 4, y2: axis + barSpace, class: 'threshold' }));
    chart.append(svg('text', { x: tx + 3, y: 12, class: 'tick' }, `threshold ${fixed(threshold)}`));
  }
  figure.append(chart, el('figcaption', caption));
  return figure;
}

// --- audit log (newest entries) ---

async function loadAudit(key) {
  const first = await api('/v1/audit?limit=1', { key });
  if (first.head === null) return { head: null, prunedThrough: null, entries: [] };
  const afterSeq = Math.max(0, first.head.seq - auditRows);
  const page = await api(`/v1/audit?afterSeq=${afterSeq}&limit=${auditRows}`, { key });
  return { head: first.head, prunedThrough: first.prunedThrough, entries: page.entries.slice().reverse() };
}

function renderAudit({ head, prunedThrough, entries }) {
  // Entries up to prunedThrough were removed by the audit log's retention (audit.pruned).
  const held = head === null ? 0 : head.seq - (prunedThrough?.seq ?? 0);
  const pruned = prunedThrough === null ? '' : ` Entries up to #${prunedThrough.seq} were pruned by the retention.`;
  $('audit-head').textContent =
    head === null
      ? 'The audit log is empty.'
      : `Newest ${entries.length} of ${held} entries.${pruned} Head #${head.seq}, hash ${head.hash}: record it outside the service to detect later removal of entries (npx voice-passport audit verify).`;
  const body = $('audit-table').tBodies[0];
  body.replaceChildren(
    ...entries.map((e) => {
      const subject = e.subjectPseudonym === null ? td('—') : td(el('code', `${e.subjectPseudonym.slice(0, 12)}…`, { title: e.subjectPseudonym }));
      return row([e.seq, e.occurredAt.replace('T', ' ').replace('Z', ''), e.action, e.outcome, e.actorKeyId ?? '—', subject]);
    }),
  );
}

// --- flow ---

/** Loads and shows everything; false when a newer load, or signing out, overtook this one (nothing shown). */
async function loadAll() {
  const load = ++state.load;
  const key = state.key;
  const [{ answer: policies, version }, stats, notices, audit] = await Promise.all([
    api('/v1/operator/policies', { key, withVersion: true }),
    api(statsPath(), { key }),
    api('/v1/consent-notices', { key }),
    loadAudit(key),
  ]);
  if (load !== state.load || key !== state.key) return false;
  state.policies = policies;
  state.policiesVersion = version;
  renderPolicies(policies);
  renderStats(stats, policies);
  renderNotices(notices);
  renderAudit(audit);
  state.loadedAt = Date.now();
  $('loaded-at').textContent = `Loaded ${new Date(state.loadedAt).toISOString().replace('T', ' ').slice(0, 19)} UTC.`;
  return true;
}

// --- refreshing while watched ---

const refreshMs = () => Number(document.body.dataset.refreshSeconds) * 1000;

/**
 * Reloads the figures every refreshMs while signed in and "refresh every minute" is ticked, but
 * only while the page is shown: a console left in a background tab costs the API (and the key's
 * rate limit) nothing, and catches up as soon as it is looked at again.
 */
function scheduleRefresh() {
  clearTimeout(state.timer);
  state.timer = null;
  if (state.key === null || !$('auto-refresh').checked) return;
  state.timer = setTimeout(async () => {
    if (document.visibilityState === 'visible') await reloadEverything();
    scheduleRefresh();
  }, refreshMs());
}

async function reloadEverything() {
  await Promise.all([showReadiness(), refresh()]);
}

function catchUpWhenShown() {
  if (document.visibilityState !== 'visible' || state.key === null || !$('auto-refresh').checked) return;
  if (Date.now() - state.loadedAt >= refreshMs()) void reloadEverything().then(scheduleRefresh);
}

async function refresh() {
  const error = $('load-error');
  const key = state.key;
  try {
    await loadAll();
    error.hidden = true;
  } catch (e) {
    if (key !== state.key) return; // signed out meanwhile: nothing to tell
    error.textContent = explain(e);
    error.hidden = false;
    if (e instanceof ApiError && (e.status === 401 || e.status === 403)) signOut(explain(e));
  }
}

function signOut(message) {
  state.key = null;
  state.policies = null;
  state.policiesVersion = null;
  state.editingVersion = null;
  state.load++;
  scheduleRefresh();
  closeEditor();
  $('editor-table').tBodies[0].replaceChildren();
  $('policy-saved').textContent = '';
  $('signed-in').hidden = true;
  $('sign-in').hidden = false;
  for (const id of ['policy-table', 'decision-table', 'outcome-table', 'notice-table', 'audit-table']) $(id).tBodies[0].replaceChildren();
  $('histograms').replaceChildren();
  for (const id of ['notice-warnings', 'policy-warnings']) $(id).replaceChildren();
  for (const id of ['policies-explanation', 'stats-range', 'stats-notes', 'audit-head', 'loaded-at']) $(id).textContent = '';
  const error = $('sign-in-error');
  error.textContent = message ?? '';
  error.hidden = message === undefined;
  $('key').focus();
}

async function signIn(event) {
  event.preventDefault();
  const input = $('key');
  state.key = input.value.trim();
  input.value = '';
  try {
    if (!(await loadAll())) return;
    $('sign-in').hidden = true;
    $('sign-in-error').hidden = true;
    $('signed-in').hidden = false;
    $('load-error').hidden = true;
    // The form the focus was in is gone: it goes to the first thing shown.
    $('refresh').focus();
    scheduleRefresh();
  } catch (e) {
    signOut(explain(e));
  }
}

document.addEventListener('DOMContentLoaded', () => {
  $('sign-in').addEventListener('submit', signIn);
  $('refresh').addEventListener('click', () => void reloadEverything());
  $('auto-refresh').addEventListener('change', scheduleRefresh);
  document.addEventListener('visibilitychange', catchUpWhenShown);
  $('sign-out').addEventListener('click', () => signOut());
  $('edit-policies').addEventListener('click', openEditor);
  $('add-policy').addEventListener('click', () => $('editor-table').tBodies[0].append(editorRow(null)));
  $('save-policies').addEventListener('click', () => void savePolicies());
  $('cancel-policies').addEventListener('click', closeEditor);
  for (const button of document.querySelectorAll('#ranges button')) {
    button.addEventListener('click', () => {
      state.days = button.dataset.days;
      void refresh();
    });
  }
  void showReadiness();
});
