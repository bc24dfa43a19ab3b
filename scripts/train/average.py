"""Average the weights of the last checkpoints of a run (checkpoint averaging over the annealed tail
of the cosine schedule, as in Vaswani et al. 2017 and the WeSpeaker recipes' model averaging).

    /usr/bin/python3 scripts/train/average.py --run scripts/train/runs/v1 [--last 5]

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
    ap.add_argument('--run', required=True)
    ap.add_argument('--last', type=int, default=5, help='tail checkpoints to average with final.pt')
    ap.add_argument('--tail-glob', default=None, help='override: glob of checkpoints to average')
    args = ap.parse_args()
    final = torch.load(os.path.join(args.run, 'final.pt'), map_location='cpu')
    paths, states = [], []
    for p in sorted(glob.glob(args.tail_glob or os.path.join(args.run, 'tail', '*.pt'))):
        ck = torch.load(p, map_location='cpu')
        if not ck.get('final'):  # final.pt itself is added once below
            paths.append(p)
            states.append(ck['model'])
    paths, states = paths[-args.last:], states[-args.last:] + [final['model']]
    avg = {}
    for k, v in final['model'].items():
        if v.is_floating_point():
            avg[k] = sum(s[k] for s in states) / len(states)
        else:
            avg[k] = v  # num_batches_tracked
    out = dict(final)
    out['model'] = avg
    out['averaged'] = [os.path.basename(p) for p in paths] + ['final.pt']
    torch.save(out, os.path.join(args.run, 'avg.pt'))
    print('averaged', out['averaged'], '->', os.path.join(args.run, 'avg.pt'))


if __name__ == '__main__':
    main()
