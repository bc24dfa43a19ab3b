"""Deepen a checkpoint: a larger student that starts where the smaller one ended.

    /usr/bin/python3 scripts/train/deepen.py --ckpt scripts/train/runs/v7/rebuilt.pt --blocks 1,2,3,3 \
        [--branch-scale 0.25] --out scripts/train/runs/deep/init.pt
    /usr/bin/python3 scripts/train/deepen.py --scales scripts/train/runs/deep/last.pt

The second form prints each residual block's mean |scale| of its last BatchNorm in a checkpoint
(how far each block's residual branch is open), to watch grown blocks during training.

New residual blocks are appended at the end of each stage (stride 1, same width, so no shortcut
convolution). With --branch-scale 0 (the default) their last BatchNorm's scale is zero, so each new
block's residual branch adds exactly zero and the block passes its (already non-negative,
post-ReLU) input through unchanged: function-preserving growth (Net2DeeperNet, Chen, Goodfellow &
Shlens, ICLR 2016) by the zero-initialised residual of Goyal et al., "Accurate, large minibatch
SGD", 2017; the check at the end then asserts the embeddings equal the old ones. Training from the
result (train.py --init) begins near the old model's accuracy; from scratch, a larger network
would need the ten CPU hours of the first seven stages again. The output keeps the checkpoint's
head, distillation projection, speakers and arguments.

Measured on v7 (blocks 1,2,3,3, lr 3e-4): from a zero scale the new blocks stayed closed (at
step 728 their scales had drifted to about 0.001 and no further; a guess at why: a converged
network's loss has no first-order use for a branch whose features are still random), so that run
was only another fine-tune of v7. A positive --branch-scale starts the branches open, a little off
the old function (the check prints the embeddings' minimum cosine to the old ones on fixed random
input). The measured run's start was drawn before --seed existed, so a rerun starts from other
random blocks.
The model card's limitations give what the open run measured.
"""
import argparse

import torch

from model import BLOCKS, build_model


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--ckpt', help='a train.py (or from_onnx.py) checkpoint')
    ap.add_argument('--blocks', help='blocks per stage of the deeper model, each >= the checkpoint\'s, e.g. 1,2,3,3')
    ap.add_argument('--out')
    ap.add_argument('--scales', metavar='CKPT', help='instead: print the residual blocks\' BatchNorm scales of this checkpoint')
    ap.add_argument('--branch-scale', type=float, default=0.0,
                    help='initial scale of the new blocks\' last BatchNorm: 0 (default) keeps the function exactly; '
                         'a positive value starts their residual branches open (see the docstring)')
    ap.add_argument('--seed', type=int, default=0, help='seeds the new blocks\' random convolutions')
    args = ap.parse_args()
    if args.scales:
        return print_scales(args.scales)
    if not (args.ckpt and args.blocks and args.out):
        ap.error('give --ckpt, --blocks and --out (or --scales CKPT)')
    torch.manual_seed(args.seed)
    ck = torch.load(args.ckpt, map_location='cpu')
    old_cfg = ck['cfg']
    old_blocks = list(old_cfg.get('blocks', BLOCKS))
    new_blocks = [int(v) for v in args.blocks.split(',')]
    if len(new_blocks) != len(old_blocks) or any(n < o for n, o in zip(new_blocks, old_blocks)):
        raise SystemExit(f'--blocks {args.blocks}: needs {len(old_blocks)} stages, none with fewer blocks than {old_blocks}')
    cfg = dict(old_cfg, blocks=new_blocks)
    old, new = build_model(old_cfg), build_model(cfg)
    old.load_state_dict(ck['model'])
    # Where each old block sits in the new flat layer list: block j of stage k keeps its place in
    # the stage, the new ones follow.
    old_at = {(k, j): i for k, j, i in flat_blocks(old_blocks)}
    where = {old_at[k, j]: i for k, j, i in flat_blocks(new_blocks) if (k, j) in old_at}
    state = new.state_dict()
    for k, v in ck['model'].items():
        if k.startswith('layers.'):
            idx, rest = k.split('.', 2)[1:]
            state[f'layers.{where[int(idx)]}.{rest}'] = v
        else:
            state[k] = v
    new.load_state_dict(state)
    kept = set(where.values())
    with torch.no_grad():
        for i, block in enumerate(new.layers):
            if i not in kept:
                block.bn2.weight.fill_(args.branch_scale)
    for m in (old, new):
        m.eval()
    x = torch.randn(3, 150, 80, generator=torch.Generator().manual_seed(0)) * 3 - 5  # fixed, so the printed cosine repeats
    with torch.no_grad():
        a, b = old(x), new(x)
    diff = (a - b).abs().max().item()
    cos = torch.nn.functional.cosine_similarity(a, b, dim=1).min().item()
    if args.branch_scale == 0 and diff > 1e-5:
        raise SystemExit(f'deepened model differs from {args.ckpt}: max |diff| {diff:.2e}')
    out = dict(ck, model=new.state_dict(), cfg=cfg, deepened_from=args.ckpt, branch_scale=args.branch_scale)
    torch.save(out, args.out)
    n_old = sum(p.numel() for p in old.parameters())
    n_new = sum(p.numel() for p in new.parameters())
    print(f'{args.ckpt} {old_blocks} ({n_old} parameters) -> {args.out} {new_blocks} ({n_new}); max |diff| {diff:.1e}, min cosine {cos:.4f}')


def print_scales(path):
    ck = torch.load(path, map_location='cpu')
    stages = list(ck['cfg'].get('blocks', BLOCKS))
    print(f'{path}: step {ck["step"]}, blocks {stages}')
    for k, j, i in flat_blocks(stages):
        g = ck['model'][f'layers.{i}.bn2.weight']
        print(f'  stage {k + 1} block {j + 1} (layers.{i}): mean |scale| {g.abs().mean().item():.4f}')


def flat_blocks(blocks):
    """(stage, block in stage, index in model.ThinResNet's flat layer list) for a blocks-per-stage list."""
    i = 0
    for k, n in enumerate(blocks):
        for j in range(n):
            yield k, j, i
            i += 1


if __name__ == '__main__':
    main()
