"""Average the weights of the last checkpoints of a run (checkpoint averaging over the annealed tail
of the cosine schedule, as in Vaswani et al. 2017 and the WeSpeaker recipes' model averaging).

    /usr/bin/python3 scripts/train/average.py --run scripts/train/runs/v1 [--last 5]
    /usr/bin/python3 scripts/train/average.py --ckpts A.pt B.pt [--weights 0.5,0.5] --out soup.pt

The second form interpolates the weights of checkpoints of one lineage, e.g. a fine-tuned stage and
the checkpoint it started from (robust fine-tuning by weight-space ensembling, WiSE-FT: Wortsman et
al., CVPR 2022); the output keeps the last checkpoint's config, head and distillation projection.

Reads <run>/final.pt and <run>/tail/*.pt (written by train.py every checkpoint in the last 30 % of
the budget) and writes <run>/avg.pt with final.pt's config.  BatchNorm running statistics are
averaged too (they move slowly at the end of training, so their mean is a fair estimate).
"""
import argparse
import glob
import os

import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--run', help='a run folder: average final.pt with its last tail checkpoints into <run>/avg.pt')
    ap.add_argument('--ckpts', nargs='+', help='instead of --run: these checkpoints (same architecture)')
    ap.add_argument('--weights', help='with --ckpts: comma-separated interpolation weights (default equal); normalised to sum 1')
    ap.add_argument('--out', help='with --ckpts: where to write the average')
    ap.add_argument('--last', type=int, default=5, help='tail checkpoints to average with final.pt')
    ap.add_argument('--tail-glob', default=None, help='override: glob of checkpoints to average')
    args = ap.parse_args()
    if args.ckpts:
        return interpolate(args)
    if not args.run:
        ap.error('give --run or --ckpts')
    final = torch.load(os.path.join(args.run, 'final.pt'), map_location='cpu')
    paths, states = [], []
    for p in sorted(glob.glob(args.tail_glob or os.path.join(args.run, 'tail', '*.pt'))):
        ck = torch.load(p, map_location='cpu')
        if not ck.get('final'):  # final.pt itself is added once below
            paths.append(p)
            states.append(ck['model'])
    paths, states = paths[-args.last:], states[-args.last:] + [final['model']]
    out = dict(final)
    out['model'] = weighted_average(states, [1.0 / len(states)] * len(states))
    out['averaged'] = [os.path.basename(p) for p in paths] + ['final.pt']
    torch.save(out, os.path.join(args.run, 'avg.pt'))
    print('averaged', out['averaged'], '->', os.path.join(args.run, 'avg.pt'))


def weighted_average(states, weights):
    """sum_i weights[i] * states[i] for every floating-point tensor of the state dicts (BatchNorm
    running statistics included); integer buffers (num_batches_tracked) are the last state's."""
    last = states[-1]
    avg = {}
    for k, v in last.items():
        if any(k not in s or s[k].shape != v.shape for s in states):
            raise SystemExit(f'{k}: the checkpoints differ in architecture')
        avg[k] = sum(w * s[k] for w, s in zip(weights, states)) if v.is_floating_point() else v
    return avg


def interpolate(args):
    if not args.out:
        raise SystemExit('--ckpts needs --out')
    cks = [torch.load(p, map_location='cpu') for p in args.ckpts]
    w = [1.0] * len(cks) if args.weights is None else [float(v) for v in args.weights.split(',')]
    if len(w) != len(cks) or min(w) < 0 or sum(w) <= 0:
        raise SystemExit('--weights needs one non-negative weight per checkpoint')
    w = [v / sum(w) for v in w]
    out = dict(cks[-1])
    out['model'] = weighted_average([c['model'] for c in cks], w)
    out['averaged'] = [f'{p} x {wi:.3f}' for p, wi in zip(args.ckpts, w)]
    torch.save(out, args.out)
    print('interpolated', out['averaged'], '->', args.out)


if __name__ == '__main__':
    main()
