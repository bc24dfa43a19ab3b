"""Score-level probes on a checkpoint, measured on ../shared/data/dev with the reference protocol
(all pairs, one utterance each side, whole utterances, AS-norm top-K against the training-speaker
cohort of cohort.py, a row per speaker). None is in the service; models/README.md says why.

    /usr/bin/python3 scripts/train/score_probes.py --ckpt scripts/train/runs/dv/final.pt   (about 2 min)

qmf  - duration-aware calibration, a quality-measure function (Mandasari et al., "Quality measure
       functions for calibration of speaker recognition systems in various duration conditions",
       IEEE TASLP 21(11), 2013): llr = a*s + b + c*log(shorter) + d*log(longer) side's seconds, fitted
       like calibrate.ts (prior-weighted logistic regression, prior 0.5). Unlike llr = a*s + b it can
       reorder trials, so it can change the EER. Fitted and measured on disjoint speakers: so762's
       speakers are split in two at random, each half scored with the other half's fit, the EER of
       each half averaged, over --repeats splits; the same halves scored by s alone are the baseline.
thresholds - how optimistic a policy threshold is when it is set and reported on the same speakers,
       as `voice-passport calibrate` does on so762: the threshold for a target false-match rate is
       set on one half of the speakers' non-target scores and the FMR and FNMR measured on the other
       half, over the same --repeats random halvings as qmf; beside them, the same rule set and
       measured on all trials.  Two rules: `estimate` (the lowest threshold whose measured FMR is at
       or under the target, the service's default) and `upper-bound` (the lowest operating-table
       threshold whose FMR interval over resampled speakers ends at or under the target, the
       service's `targetFmrBound: "upper-95"`).
ltas - score fusion with the long-term average spectrum: the cosine of each side's per-utterance
       mean raw log-mel, minus the training speakers' mean for the channel and minus its level
       (model.LEVEL_BINS, as the spectral-shape branch does), weighted (1 - w) against the network's
       cosine (w), as concatenated normalised vectors (fused.py's identity), then AS-norm with the
       cohort fused the same way. Each dev speaker most likely recorded all their clips in one
       sitting on one device, so anything that matches the recording chain scores here as if it
       were the voice.
level - how much the recording level alone tells the dev speakers apart, and what adding it to
       the network's AS-norm score would do: each side's level is its mean raw log-mel over the
       telephone-band bins (model.LEVEL_BINS, what the spectral-shape branch subtracts), the
       score −|level difference|, fused as (1 − w)·z(AS-norm) + w·z(level score) with z the
       standardisation over the set's trials (no labels used). The model ignores level by design
       (a caller's level follows the handset, not the voice); this measures what that costs on
       these sets, where each speaker kept one recording level.
"""
import argparse
import os
import sys

import numpy as np
import torch
from scipy.optimize import minimize

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from cohort import as_norm, training_cuts  # noqa: E402
from data import DEFAULT_DATA  # noqa: E402
from eval_dev import all_pairs, eer_mindcf, embed, load_dev_set, model_input  # noqa: E402
from export import load_model  # noqa: E402
from features import kaldi_fbank  # noqa: E402
from model import LEVEL_BINS  # noqa: E402

CHANNELS = ('wideband', 'telephone')


def embed_and_ltas(model, x16, dither):
    return embed(model, x16, dither), kaldi_fbank(x16, normalise=False).mean(dim=0).numpy()


def training_cohort(model, data_root, channel, utts, seconds, dither):
    """cohort.speaker_cohort's embeddings (a row per speaker), with each speaker's mean LTAS of the same cuts."""
    E, M = [], []
    for _, cuts in training_cuts(data_root, utts, seconds):
        es, ms = [], []
        for x, sr in cuts:
            e, m = embed_and_ltas(model, model_input(x, sr, channel), dither)
            es.append(e)
            ms.append(m)
        e = np.mean(es, axis=0)
        E.append(e / np.linalg.norm(e))
        M.append(np.mean(ms, axis=0))
    return np.stack(E), np.stack(M)


def shape(M, ref):
    V = M - ref
    V = V - V[:, LEVEL_BINS].mean(axis=1, keepdims=True)
    return V / np.linalg.norm(V, axis=1, keepdims=True)


def level_probe(a, levels, iu, labels, weights):
    """EERs of −|level difference| alone, of the AS-norm trial scores `a`, and of their fusions."""
    d = -np.abs(levels[:, None] - levels[None, :])[iu]
    z = lambda v: (v - v.mean()) / v.std()  # noqa: E731  (standardised over the set's trials, no labels)
    za, zd = z(a), z(d)
    return eer_mindcf(d, labels)[0], eer_mindcf(a, labels)[0], [eer_mindcf((1 - w) * za + w * zd, labels)[0] for w in weights]


def fit_logistic(X, y, prior=0.5):
    """Weights w (last: offset) minimising the prior-weighted cross-entropy of llr = X.w."""
    weight = np.where(y, prior / y.sum(), (1 - prior) / (~y).sum())
    sign = np.where(y, 1.0, -1.0)
    offset = np.log(prior / (1 - prior))

    def objective(w):
        z = X @ w[:-1] + w[-1] + offset
        loss = np.logaddexp(0, -sign * z)
        grad = weight * -sign / (1 + np.exp(sign * z))
        return (weight * loss).sum(), np.concatenate([X.T @ grad, [grad.sum()]])

    return minimize(objective, np.zeros(X.shape[1] + 1), jac=True, method='L-BFGS-B').x


def qmf_features(s, d1, d2, kind):
    shorter, longer = np.log(np.minimum(d1, d2)), np.log(np.maximum(d1, d2))
    return {'s': [s], 's+log(shorter)': [s, shorter], 's+log(shorter)+log(longer)': [s, shorter, longer]}[kind]


def speaker_halvings(spk, iu, repeats, seed):
    """`repeats` random splits of the speakers in two halves, each as (test, fit) trial masks both ways
    round: only trials with both sides in one half, so no speaker is in fit and test."""
    speakers = np.array(sorted(set(spk)))
    rng = np.random.default_rng(seed)
    for _ in range(repeats):
        half = set(rng.permutation(speakers)[: len(speakers) // 2])
        in_half = np.array([x in half for x in spk])
        folds = [in_half[iu[0]] & in_half[iu[1]], ~in_half[iu[0]] & ~in_half[iu[1]]]
        yield [(folds[0], folds[1]), (folds[1], folds[0])]


def qmf_probe(A, seconds, spk, repeats, seed):
    iu, labels = all_pairs(spk)
    s, d1, d2 = A[iu], seconds[iu[0]], seconds[iu[1]]
    kinds = ('s', 's+log(shorter)', 's+log(shorter)+log(longer)')
    X = {k: np.stack(qmf_features(s, d1, d2, k), axis=1) for k in kinds}
    eers = {k: [] for k in kinds}
    for ways in speaker_halvings(spk, iu, repeats, seed):
        for k in kinds:
            per_fold = []
            for test, fit in ways:
                w = fit_logistic(X[k][fit], labels[fit])
                per_fold.append(eer_mindcf(X[k][test] @ w[:-1], labels[test])[0])
            eers[k].append(np.mean(per_fold))
    base = np.array(eers['s'])
    return {k: (float(np.mean(v)), float(np.mean(np.array(v) - base)), int((np.array(v) < base).sum())) for k, v in eers.items()}


def threshold_for_fmr(non_target, target):
    """A threshold (accept when score >= it) that at most `target` of these non-target scores reach."""
    ranked = np.sort(non_target)[::-1]
    k = int(np.floor(target * len(ranked)))
    return np.nextafter(ranked[min(k, len(ranked) - 1)], np.inf)


def rates(scores, labels, t):
    accept = scores >= t
    return float(accept[~labels].mean()), float((~accept[labels]).mean())


def fmr_grid(non_target_trials):
    """calibration.ts fmrGrid: the R10 preferred numbers from 0.5 down to the first below 1/N."""
    grid = [0.5]
    for exponent in range(-1, -13, -1):
        for m in (8, 6.3, 5, 4, 3.15, 2.5, 2, 1.6, 1.25, 1):
            f = float(f'{m * 10.0 ** exponent:.3g}')
            if f < 0.5:
                grid.append(f)
            if f * non_target_trials < 1:
                return grid
    return grid


def upper_bound_threshold(non_target, side_a, side_b, target, reps, seed):
    """The upper-bound rule: of calibrate's operating-table rows (a threshold per fmrGrid value, plus
    the FMR-0 row), the lowest threshold whose FMR interval's upper end (97.5th percentile of the
    subsets bootstrap over speakers, confidence.ts: each non-target trial weighted by the product of
    its two speakers' draw counts) is at or under the target."""
    speakers = np.unique(np.concatenate([side_a, side_b]))
    index = {s: i for i, s in enumerate(speakers)}
    a = np.array([index[s] for s in side_a])
    b = np.array([index[s] for s in side_b])
    n = len(speakers)
    thresholds = sorted({threshold_for_fmr(non_target, f) for f in fmr_grid(len(non_target))} | {np.nextafter(non_target.max(), np.inf)})
    # Trials and accepted impostors per speaker pair, at each threshold.
    trials = np.zeros((n, n))
    np.add.at(trials, (a, b), 1)
    accepted = np.zeros((len(thresholds), n, n))
    for k, t in enumerate(thresholds):
        np.add.at(accepted[k], (a, b), (non_target >= t).astype(float))
    counts = np.random.default_rng(seed).multinomial(n, np.full(n, 1 / n), size=reps).astype(float)
    denominator = np.einsum('ri,ij,rj->r', counts, trials, counts)
    fmr = np.einsum('ri,kij,rj->rk', counts, accepted, counts) / denominator[:, None]
    upper = np.percentile(fmr, 97.5, axis=0)  # linear between order statistics, as quantile() in confidence.ts
    for t, u in zip(thresholds, upper):
        if u <= target:
            return t
    return thresholds[-1]


def threshold_probe(A, spk, targets, repeats, seed, reps=1000):
    """Each target's threshold by two rules, set on one half of the speakers and measured on the
    other: `estimate` (the FMR measured on the calibration speakers at or under the target, what
    calibrate's policies do) and `upper-bound` (the upper end of that FMR's 95 % interval over
    resampled speakers at or under the target)."""
    iu, labels = all_pairs(spk)
    s = A[iu]
    side_a, side_b = np.asarray(spk)[iu[0]], np.asarray(spk)[iu[1]]
    rules = {
        'estimate': lambda m, target: threshold_for_fmr(s[m & ~labels], target),
        'upper-bound': lambda m, target: upper_bound_threshold(s[m & ~labels], side_a[m & ~labels], side_b[m & ~labels], target, reps, seed),
    }
    out = {}
    everything = np.ones_like(labels)
    for target in targets:
        for rule, threshold in rules.items():
            in_sample = rates(s, labels, threshold(everything, target))
            held = []
            for ways in speaker_halvings(spk, iu, repeats, seed):
                for test, fit in ways:
                    held.append(rates(s[test], labels[test], threshold(fit, target)))
            fmr, fnmr = np.array(held).T
            out[(target, rule)] = dict(inSample=in_sample, heldOutFmr=(float(fmr.mean()), float(fmr.min()), float(fmr.max())),
                                       heldOutMet=int((fmr <= target).sum()), heldOutCount=len(fmr), heldOutFnmr=float(fnmr.mean()))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--ckpt', required=True)
    ap.add_argument('--data', default=DEFAULT_DATA)
    ap.add_argument('--dither', type=float, default=1.0, help='test-time dither in int16 units (the service\'s frontEnd.dither)')
    ap.add_argument('--topk', type=int, default=100)
    ap.add_argument('--weights', default='1,0.95,0.9', help='ltas: the network\'s share w of the fused cosine')
    ap.add_argument('--level-weights', default='0.1,0.2,0.3,0.5', help='level: the level score\'s share w of the fused score')
    ap.add_argument('--repeats', type=int, default=20, help='qmf and thresholds: random speaker splits')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--threads', type=int, default=2)
    args = ap.parse_args()
    if not os.path.isdir(args.data):
        sys.exit(f'score_probes: {args.data} is absent (the shared speech data); nothing to do')
    torch.set_num_threads(args.threads)
    model, _ = load_model(args.ckpt)
    weights = [float(v) for v in args.weights.split(',')]
    cohort = {ch: training_cohort(model, args.data, ch, 3, 6.0, args.dither) for ch in CHANNELS}
    qmf, thresholds, level = {}, {}, []
    level_weights = [float(v) for v in args.level_weights.split(',')]
    print('## ltas: EER, cosine / AS-norm, by the network\'s share w')
    for name in ('so762', 'sc', 'fsdd'):
        audio, spk = load_dev_set(args.data, name)
        iu, labels = all_pairs(spk)
        for ch in CHANNELS:
            out = [embed_and_ltas(model, model_input(x, sr, ch), args.dither) for x, sr in audio]
            E, CE = np.stack([e for e, _ in out]), cohort[ch][0]
            M = np.stack([m for _, m in out])
            ref = cohort[ch][1].mean(axis=0)
            V, CV = shape(M, ref), shape(cohort[ch][1], ref)
            # The network alone (ltas at w 1): the scores of the level, qmf and thresholds probes,
            # whatever --weights asks for.
            ECE = E @ CE.T
            A_net = as_norm(E @ E.T, ECE, ECE, args.topk)
            level.append((name, ch, level_probe(A_net[iu], M[:, LEVEL_BINS].mean(axis=1), iu, labels, level_weights)))
            if name == 'so762':
                qmf[ch] = qmf_probe(A_net, np.array([len(x) / sr for x, sr in audio]), spk, args.repeats, args.seed)
                thresholds[ch] = threshold_probe(A_net, spk, (0.01, 0.001), args.repeats, args.seed)
            cells = []
            for w in weights:
                F = np.hstack([np.sqrt(w) * E, np.sqrt(1 - w) * V])
                C = np.hstack([np.sqrt(w) * CE, np.sqrt(1 - w) * CV])
                S, FC = F @ F.T, F @ C.T
                A = as_norm(S, FC, FC, args.topk)
                cells.append(f'w {w:g}: {100 * eer_mindcf(S[iu], labels)[0]:.2f} / {100 * eer_mindcf(A[iu], labels)[0]:.2f} %')
            print(f'| {name} | {ch} | ' + ' | '.join(cells) + ' |', flush=True)
    print('\n## level: EER of the level alone, of the network (AS-norm), and fused with the level score at share w')
    print('| dev set | channel | level alone | AS-norm | ' + ' | '.join(f'w {w:g}' for w in level_weights) + ' |')
    print('|---|---|---|---|' + '---|' * len(level_weights))
    for name, ch, (alone, net, fused) in level:
        print(f'| {name} | {ch} | {100 * alone:.2f} % | {100 * net:.2f} % | ' + ' | '.join(f'{100 * e:.2f} %' for e in fused) + ' |')
    print(f'\n## qmf: so762, AS-norm, mean EER of held-out speaker halves ({args.repeats} splits)')
    print('| channel | calibration inputs | mean EER | change vs s | better in |')
    print('|---|---|---|---|---|')
    for ch, rows in qmf.items():
        for k, (mean, change, better) in rows.items():
            print(f'| {ch} | {k} | {100 * mean:.2f} % | {100 * change:+.2f} | {better} / {args.repeats} |')
    print(f'\n## thresholds: so762, AS-norm, set on one half of the speakers, measured on the other ({args.repeats} splits, both ways)')
    print('| channel | target FMR | rule | set and measured on all: FMR / FNMR | held out: FMR mean [min, max] | held out: FMR at or under target | held out: FNMR |')
    print('|---|---|---|---|---|---|---|')
    for ch, rows in thresholds.items():
        for (target, rule), r in rows.items():
            fmr, lo, hi = r['heldOutFmr']
            print(f'| {ch} | {100 * target:g} % | {rule} | {100 * r["inSample"][0]:.2f} / {100 * r["inSample"][1]:.1f} % | '
                  f'{100 * fmr:.2f} % [{100 * lo:.2f}, {100 * hi:.2f}] | {r["heldOutMet"]} / {r["heldOutCount"]} | {100 * r["heldOutFnmr"]:.1f} % |')

if __name__ == '__main__':
    main()
