"""One model made of several trained checkpoints: their L2-normalised embeddings, weighted and
concatenated, so that the cosine of two fused embeddings is the weighted mean of the members' cosines
(score fusion inside a single ONNX graph; the service and its cohorts, calibration and thresholds see
one ordinary embedding).

    /usr/bin/python3 scripts/train/fused.py --members scripts/train/runs/v5/final.pt scripts/train/runs/mimic/final.pt \
        --out scripts/train/runs/fused/final.pt

With unit vectors e_i and weights w_i, |concat|^2 = sum w_i^2, so
    cos(concat(w_i e_i), concat(w_i f_i)) = sum w_i^2 cos(e_i, f_i) / sum w_i^2.
The default weights make w_i^2 proportional to 1 / sd_i, the spread of member i's cosines between
different *training* speakers (cohort.speaker_cohort, wideband): each member's scores count in
units of its own impostor spread, as when standardised scores are summed (teacher.py fusion), without
looking at dev audio.  The checkpoint holds the members' weights, so export.py, eval_dev.py and
cohort.py read it like any other (export.load_model).
"""
import argparse
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


class FusedEmbedding(torch.nn.Module):
    """Members' normalised embeddings, each times its weight, concatenated.  Takes raw log-mel
    features and applies CMN for any member that expects it."""

    takes_raw_feats = True

    def __init__(self, members, weights):
        super().__init__()
        if len(members) != len(weights) or len(members) < 2:
            raise ValueError('a fused model needs two or more members, one weight each')
        self.members = torch.nn.ModuleList(members)
        self.weights = [float(w) for w in weights]

    def forward(self, feats):  # feats [B, T, F], raw log-mel
        centred = feats - feats.mean(dim=1, keepdim=True)
        return torch.cat([w * F.normalize(m(feats if m.takes_raw_feats else centred), dim=1)
                          for m, w in zip(self.members, self.weights)], dim=1)


def build_fused(ck):
    from model import build_model  # noqa: E402
    members = []
    for m in ck['members']:
        net = build_model(m['cfg'])
        net.load_state_dict(m['model'])
        members.append(net)
    return FusedEmbedding(members, ck['weights'])


def impostor_spread(model, data_root):
    """Standard deviation of the cosines between different training speakers' cohort embeddings."""
    from cohort import speaker_cohort  # noqa: E402
    C = speaker_cohort(model, data_root, 'wideband')
    return float((C @ C.T)[np.triu_indices(len(C), 1)].std())


def main():
    from cohort import DEFAULT_DATA  # noqa: E402
    from export import load_model  # noqa: E402
    ap = argparse.ArgumentParser()
    ap.add_argument('--members', nargs='+', required=True, help='two or more train.py checkpoints')
    ap.add_argument('--out', required=True)
    ap.add_argument('--weights', help='comma-separated, one per member (default: from the training speakers, see above)')
    ap.add_argument('--data', default=DEFAULT_DATA)
    ap.add_argument('--threads', type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if len(args.members) < 2:
        sys.exit('--members: two or more checkpoints')
    loaded = [load_model(p) for p in args.members]
    if any(ck.get('members') for _, ck in loaded):
        sys.exit('--members: fuse train.py checkpoints, not fused ones')
    if args.weights:
        weights = [float(v) for v in args.weights.split(',')]
        if len(weights) != len(loaded):
            sys.exit(f'--weights: {len(loaded)} values, one per member')
    else:
        spreads = [impostor_spread(model, args.data) for model, _ in loaded]
        weights = [float(1 / np.sqrt(s)) for s in spreads]
        print('impostor cosine spread per member (training speakers, wideband): ' + ', '.join(f'{s:.4f}' for s in spreads))
    members = [dict(cfg=ck['cfg'], model=ck['model'], args=ck['args'], step=ck['step'], elapsed=ck['elapsed'], distil=ck.get('distil'), path=p)
               for p, (_, ck) in zip(args.members, loaded)]
    ck = dict(members=members, weights=weights, cfg=dict(emb_dim=sum(m['cfg']['emb_dim'] for m in members)),
              step=sum(m['step'] for m in members), elapsed=sum(m['elapsed'] for m in members),
              args=dict(fused=args.members), speakers=loaded[0][1]['speakers'])
    # The identity in the docstring, on random features: what the fused model scores is what was meant.
    fused = build_fused(ck).eval()
    a, b = torch.randn(4, 150, 80, generator=torch.Generator().manual_seed(1)), torch.randn(4, 150, 80, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        got = F.cosine_similarity(fused(a), fused(b))
        want = sum(w * w * F.cosine_similarity(m(a), m(b)) for (m, _), w in zip(loaded, weights)) / sum(w * w for w in weights)
    gap = (got - want).abs().max().item()
    if gap > 1e-5:
        sys.exit(f'fused cosine differs from the weighted mean of the members\' cosines by {gap:.1e}')
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    torch.save(ck, args.out)
    print(f'{args.out}: {len(members)} members, weights ' + ', '.join(f'{w:.4f}' for w in weights) + f', {ck["cfg"]["emb_dim"]}-dim embedding; '
          f'cosine = weighted mean of the members\' cosines to {gap:.1e}')


if __name__ == '__main__':
    main()
