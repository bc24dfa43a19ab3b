// Prints the model card's tables (models/README.md) from the reports that
// scripts/train/model-card-evals.sh writes: node scripts/train/model-card-tables.mjs <report-dir>
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const dir = process.argv[2];
if (dir === undefined) {
  console.error('usage: node scripts/train/model-card-tables.mjs <report-dir>   (the out-dir of model-card-evals.sh)');
  process.exit(2);
}
const sets = ['so762', 'sc', 'fsdd'];
const channels = ['wideband', 'telephone'];
const read = (set, ch, kind) => {
  const f = path.join(dir, `${set}-${ch}-${kind}.json`);
  return existsSync(f) ? JSON.parse(readFileSync(f, 'utf8')) : null;
};
const pct = (v) => `${(v * 100).toFixed(2)} %`;
const eerCell = (r) => (r === null ? 'not run' : `${pct(r.eer.value)} [${(r.eer.ci95.low * 100).toFixed(1)}, ${(r.eer.ci95.high * 100).toFixed(1)}] (${r.minDcf.value.toFixed(3)})`);
// "wideband" means the recordings as they are; 8 kHz ones are scored as the service scores them (telephone).
const channelCell = (ch, r) =>
  ch === 'telephone' ? `telephone ${r.law === 'alaw' ? 'A-law' : 'µ-law'}` : r.scoringChannel === 'telephone' ? 'as recorded (8 kHz: telephone scoring)' : ch;
const n = (x) => x.toLocaleString('en-GB').replace(/,/g, ' ');
/** A report's FMR and FNMR at one default tier under one bound of its target ('—' where the report has none). */
const ratesCell = (r, policy, bound = 'estimate') => {
  const p = r?.policies.find((q) => q.policy === policy && q.targetFmrBound === bound);
  return p === undefined ? '—' : `${p.fmrText}, ${p.fnmrText}`;
};
/** EER at each tested duration, '*' on cells resting on fewer than 30 target trials. */
const durationsCell = (r) => r.byDuration.map((d) => (d.eer === undefined ? '—' : `${(d.eer.value * 100).toFixed(1)}${d.targetTrials < 30 ? '*' : ''}`)).join(' / ') + ' %';
/** A markdown table after a blank line, its separator from the header's columns; nothing without rows. */
const printTable = (header, rows) => {
  if (rows.length === 0) return;
  console.log(`\n${header}`);
  console.log(`|${'---|'.repeat(header.split(' | ').length)}`);
  for (const row of rows) console.log(row);
};

console.log('| dev set | channel | utterances (VAD found none) | target / non-target | whole, AS-norm: EER [95 % CI] (minDCF) | whole, cosine | speech (service path), AS-norm | speech EER at 2 / 3 / 5 / 10 s |');
console.log('|---|---|---|---|---|---|---|---|');
for (const set of sets) {
  for (const ch of channels) {
    const whole = read(set, ch, 'whole');
    const cosine = read(set, ch, 'cosine');
    const speech = read(set, ch, 'speech');
    const any = whole ?? speech ?? cosine;
    if (any === null) continue;
    const durations = speech === null ? 'not run' : durationsCell(speech);
    console.log(
      `| ${set} | ${channelCell(ch, any)} | ${any.counts.analysed}/${any.counts.utterances} (${any.counts.vadFallbackUtterances}) | ${n(any.counts.targetTrials)} / ${n(any.counts.nonTargetTrials)} | ${eerCell(whole)} | ${cosine === null ? 'not run' : pct(cosine.eer.value)} | ${speech === null ? 'not run' : `${pct(speech.eer.value)} (${speech.minDcf.value.toFixed(3)})`} | ${durations} |`,
    );
  }
}
console.log('\nCells marked \\* rest on fewer than 30 target trials; — means no trials at that duration.');
console.log('\n| dev set | telephone ÷ wideband EER (whole, AS-norm) |');
console.log('|---|---|');
for (const set of sets) {
  const w = read(set, 'wideband', 'whole');
  const t = read(set, 'telephone', 'whole');
  if (w !== null && t !== null) console.log(`| ${set} | ${(t.eer.value / w.eer.value).toFixed(2)} |`);
}

// Across channels: a voiceprint from one channel against callers on the other (eval --enrol-channel).
const crossRows = [];
for (const set of ['so762', 'sc']) {
  for (const [enrol, test] of [['wideband', 'telephone'], ['telephone', 'wideband']]) {
    const r = read(set, `${enrol}-${test}`, 'cross');
    if (r === null) continue;
    crossRows.push(
      `| ${set} | ${enrol} → ${test} | ${n(r.counts.targetTrials)} / ${n(r.counts.nonTargetTrials)} | ${eerCell(r)} | ${ratesCell(r, 'standard')} |`,
    );
  }
}
printTable('| dev set | enrolled → verified | target / non-target | whole, AS-norm: EER [95 % CI] (minDCF) | `standard` (FMR 1 %, estimate bound) on the caller\'s channel: FMR, FNMR |', crossRows);

// A-law: European networks' G.711, scored with the µ-law cohort and calibration as the service does.
const alawRows = [];
for (const set of sets) {
  const whole = read(set, 'telephone-alaw', 'whole');
  const speech = read(set, 'telephone-alaw', 'speech');
  if (whole === null && speech === null) continue;
  const muWhole = read(set, 'telephone', 'whole');
  const muSpeech = read(set, 'telephone', 'speech');
  alawRows.push(
    `| ${set} | ${eerCell(whole)} | ${muWhole === null ? 'not run' : pct(muWhole.eer.value)} | ${speech === null ? 'not run' : pct(speech.eer.value)} | ${muSpeech === null ? 'not run' : pct(muSpeech.eer.value)} | ${ratesCell(speech, 'standard')} |`,
  );
}
printTable('| dev set | A-law: whole, AS-norm EER [95 % CI] (minDCF) | µ-law: whole | A-law: speech (service path) | µ-law: speech | `standard` (FMR 1 %, estimate bound), A-law service path: FMR, FNMR |', alawRows);

// As the service decides: 20 s voiceprints against single utterances (eval --trials enrolment --voiceprints rotating), so762,
// and the same voiceprints against test segments of 2, 3, 5 and 10 s of speech at the default tiers'
// thresholds (upper-95), which do not change with the caller's speech while the minimum speech a
// policy asks for comes from these segments' EER.
// (Reports from before --voiceprints count one voiceprint per enrolled speaker and have no rates per segment.)
const enrolRows = [];
const byDurationRows = [];
for (const [enrol, test] of [['wideband', 'wideband'], ['telephone', 'telephone'], ['wideband', 'telephone'], ['telephone', 'wideband']]) {
  const r = read('so762', `${enrol}-${test}`, 'enrolment');
  if (r === null) continue;
  enrolRows.push(
    `| ${enrol} → ${test} | ${n(r.counts.voiceprints ?? r.counts.enrolledSpeakers)} (${r.counts.enrolledSpeakers}) / ${r.counts.speakers} | ${n(r.counts.targetTrials)} / ${n(r.counts.nonTargetTrials)} | ${eerCell(r)} | ${ratesCell(r, 'standard')} | ${ratesCell(r, 'standard', 'upper-95')} | ${ratesCell(r, 'high')} | ${ratesCell(r, 'high', 'upper-95')} | ${durationsCell(r)} |`,
  );
  for (const d of r.byDuration) {
    if (d.policies === undefined) continue;
    byDurationRows.push(`| ${enrol} → ${test} | ${d.seconds} s | ${n(d.targetTrials)} / ${n(d.nonTargetTrials)} | ${ratesCell(d, 'standard', 'upper-95')} | ${ratesCell(d, 'high', 'upper-95')} |`);
  }
}
printTable(
  '| so762, enrolled → verified | voiceprints (of speakers) / speakers | target / non-target | service path, AS-norm: EER [95 % CI] (minDCF) | `standard` (FMR 1 %), estimate: FMR, FNMR | `standard`, upper-95 | `high` (FMR 0.1 %), estimate | `high`, upper-95 | EER at 2 / 3 / 5 / 10 s of test speech |',
  enrolRows,
);
printTable('| so762, enrolled → verified | test speech | target / non-target | `standard`, upper-95: FMR, FNMR | `high`, upper-95: FMR, FNMR |', byDurationRows);
