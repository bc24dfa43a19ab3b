// Prints the noise table (README, *Accuracy in noise*) from the reports that
// scripts/eval/noise-evals.sh writes: node scripts/eval/noise-tables.mjs <report-dir>
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const dir = process.argv[2];
if (dir === undefined) {
  console.error('usage: node scripts/eval/noise-tables.mjs <report-dir>   (the out-dir of noise-evals.sh)');
  process.exit(2);
}
const read = (name) => {
  const f = path.join(dir, `${name}.json`);
  return existsSync(f) ? JSON.parse(readFileSync(f, 'utf8')) : null;
};
const pct = (v) => `${(v * 100).toFixed(2)} %`;
const rates = (policies, name) => {
  const p = policies.find((x) => x.policy === name && x.targetFmrBound !== 'upper-95');
  return p === undefined ? '—' : `${p.fmrText} / ${p.fnmrText}`;
};
// The trials the service's SNR gate lets through (qualityGate.decided; null: all of them).
const decidedCell = (r) => {
  const d = r.qualityGate.decided;
  if (d === null) return 'all';
  if (d.eer === undefined) return `${d.targetTrials} / ${d.nonTargetTrials} trials: ${d.skipped}`;
  return `${pct(d.eer.value)}; ${rates(d.policies, 'standard')} (${d.targetTrials} / ${d.nonTargetTrials} trials)`;
};

console.log('| channel | test side | EER [95 % CI] (minDCF) | `standard`: FMR / FNMR | `high`: FMR / FNMR | service\'s SNR estimate: median [10th, 90th pct] | test sides under the 5 dB gate | trials the gate decides: EER; `standard` FMR / FNMR |');
console.log('|---|---|---|---|---|---|---|---|');
for (const ch of ['wideband', 'telephone', 'wideband-telephone']) {
  const rows = [['clean', read(`so762-${ch}-clean`)]];
  for (const snr of [20, 10, 5, 0]) {
    for (const noise of ['white', 'babble']) rows.push([`${noise} ${snr} dB`, read(`so762-${ch}-${noise}-${snr}`)]);
  }
  for (const [label, r] of rows) {
    if (r === null) continue;
    const s = r.testSideSnrDb;
    const under = `${s.underMinSnrDb} / ${r.counts.analysed}${s.notEstimated > 0 ? ` (${s.notEstimated} not estimated)` : ''}`;
    console.log(
      `| ${ch === 'wideband-telephone' ? 'enrolled wideband, calling by phone' : ch} | ${label} | ${pct(r.eer.value)} [${(r.eer.ci95.low * 100).toFixed(1)}, ${(r.eer.ci95.high * 100).toFixed(1)}] (${r.minDcf.value.toFixed(3)}) | ${rates(r.policies, 'standard')} | ${rates(r.policies, 'high')} | ${s.median} [${s.p10}, ${s.p90}] dB | ${under} | ${decidedCell(r)} |`,
    );
  }
}
