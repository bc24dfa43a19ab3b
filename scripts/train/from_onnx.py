"""Rebuild a train.py checkpoint from a shipped ONNX model, so training can go on from the committed
model in a clean clone (the runs/ checkpoints are git-ignored and are lost with the machine).

    /usr/bin/python3 scripts/train/from_onnx.py --model vp-resnet-v7 --out scripts/train/runs/v7/rebuilt.pt \
        [--distil scripts/train/runs/teacher/voxsv-targets.npz]

What the ONNX file holds, and what has to be rebuilt:
- The trunk's convolutions come with their batch norms folded in (torch.onnx.export in eval mode with
  constant folding): W' = W * g / sqrt(v + eps) and a bias. A batch norm is rebuilt behind each
  one so that the model computes exactly the same function in eval mode, and, in train mode, what it
  computed before the fold: its running statistics are measured on augmented training crops, as
  training sees them, and its scale and shift are set so that normalising by those statistics and
  scaling back gives W'x + b' again. Each filter is scaled to unit norm first (the batch norm behind
  it makes the function blind to that scale), so every channel starts at the same effective step
  size under Adam; the original norms are not recoverable.
- Every other weight (attentive pooling, embedding layer, its batch norm, the spectral-shape branch)
  is stored under its own name and is copied.
- The AAM-softmax head is not exported. Its rows are imprinted (Qi, Brown & Lowe, "Low-shot learning
  with imprinted weights", CVPR 2018): class k*S + s, speaker s at speed k, gets the mean unit
  embedding of that speaker's clean training utterances at that speed.
- With --distil, the projection that train.py --distil learns towards the teacher's space is
  fitted by least squares from the model's own embeddings to the (centred, unit) teacher targets.

The model's layout (widths, blocks, time strides, embedding size, spectral-shape branch) is read off
the graph. The rebuilt model is checked against the ONNX file in onnxruntime-node on random inputs
(export.check_with_onnxruntime) and the script fails if they disagree.
"""
import argparse
import json
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, '..', '..'))
sys.path.insert(0, HERE)
from data import DEFAULT_DATA, CropSampler, add_extra_data_arg, load_train, parse_speeds  # noqa: E402
from export import check_with_onnxruntime  # noqa: E402
from features import TRAIN_DITHER, batched_fbank  # noqa: E402
from model import TIME_STRIDES, build_model  # noqa: E402
from self_targets import own_embeddings, speaker_centroids  # noqa: E402
from train import load_targets  # noqa: E402

BN_EPS = 1e-5  # torch.nn.BatchNorm2d's default, which model.ThinResNet uses


def read_graph(path):
    """The ONNX file's named initialisers and the trunk's 2-D Conv nodes in execution order, each as
    (weight, bias, strides). Attentive pooling's 1-D convolutions keep their names: they are among
    the initialisers."""
    m = onnx.load(path)
    inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    trunk = []
    for node in m.graph.node:  # torch.onnx.export writes nodes in the order forward() ran them
        if node.op_type != 'Conv':
            continue
        if len(node.input) != 3 or node.input[1] not in inits or node.input[2] not in inits:
            raise SystemExit(f'{path}: Conv node {node.name} has no constant weight and bias (not a folded export)')
        if inits[node.input[1]].ndim != 4:
            continue
        strides = next((list(a.ints) for a in node.attribute if a.name == 'strides'), [1, 1])
        trunk.append((inits[node.input[1]], inits[node.input[2]], tuple(strides)))
    return inits, trunk


def infer_cfg(inits, trunk):
    """model.build_model's cfg for the graph: the trunk's convolutions are the stem then, per block,
    3x3, 3x3 and (where the shape or stride changes) a 1x1 shortcut."""
    stem, rest = trunk[0], trunk[1:]
    if stem[2][0] != stem[2][1]:
        raise SystemExit(f'stem strides {stem[2]}: expected the same stride in frequency and time')
    widths, blocks, strides, i = [], [], [], 0
    while i < len(rest):
        a, b = rest[i], rest[i + 1]
        if a[0].shape[2:] != (3, 3) or b[0].shape[2:] != (3, 3):
            raise SystemExit(f'trunk convolution {i}: expected a 3x3 pair, got {a[0].shape} and {b[0].shape}')
        i += 2
        if i < len(rest) and rest[i][0].shape[2:] == (1, 1):
            i += 1
        cout = a[0].shape[0]
        if not widths or cout != widths[-1] or a[2] != (1, 1):
            widths.append(cout)
            blocks.append(1)
            strides.append(a[2])
        else:
            blocks[-1] += 1
    if len(widths) < 2 or any(s[0] != 2 for s in strides[1:]):
        raise SystemExit(f'trunk strides {strides}: expected stages 2.. to halve frequency')
    cfg = dict(widths=widths, blocks=blocks, emb_dim=int(inits['emb.weight'].shape[0]), stem_stride=stem[2][0])
    time_strides = tuple(s[1] for s in strides[1:])
    if time_strides != TIME_STRIDES:  # as train.py: the default stays out of cfg
        cfg['time_strides'] = list(time_strides)
    if 'shape.net.0.weight' in inits:
        cfg['shape_branch'] = True
    return cfg


def trunk_pairs(model):
    """The trunk's (conv, batch norm) pairs in the order forward() runs them."""
    pairs = [(model.conv1, model.bn1)]
    for block in model.layers:
        pairs += [(block.conv1, block.bn1), (block.conv2, block.bn2)]
        if block.short is not None:
            pairs.append((block.short[0], block.short[1]))
    return pairs


def load_weights(model, inits, trunk):
    """Copies the named weights and the folded convolutions; each batch norm starts as an identity
    around the filter's norm (set_norm_stats finishes it). Returns [(conv, bn, norm, bias)]."""
    own = model.state_dict()
    named = {k: torch.from_numpy(v.copy()) for k, v in inits.items() if k in own}
    missing = [k for k in own if not k.startswith(('conv1.', 'bn1.', 'layers.')) and not k.endswith('num_batches_tracked') and k not in named]
    if missing:
        raise SystemExit(f'weights missing from the ONNX file: {missing}')
    model.load_state_dict(named, strict=False)
    pairs = trunk_pairs(model)
    if len(trunk) != len(pairs):
        raise SystemExit(f'{len(trunk)} trunk convolutions in the graph, {len(pairs)} in the model')
    folded = []
    with torch.no_grad():
        for (conv, bn), (w, b, _) in zip(pairs, trunk):
            if tuple(conv.weight.shape) != w.shape:
                raise SystemExit(f'convolution shape {w.shape} in the graph, {tuple(conv.weight.shape)} in the model')
            w = torch.from_numpy(w.copy())
            norm = w.flatten(1).norm(dim=1).clamp(min=1e-12)
            conv.weight.copy_(w / norm[:, None, None, None])
            bias = torch.from_numpy(b.copy())
            folded.append((conv, bn, norm, bias))
            set_bn(bn, norm, bias, torch.zeros_like(norm), torch.ones_like(norm))
    return folded


def set_bn(bn, norm, bias, mean, var):
    """bn(y) = norm * y + bias in eval mode for filters scaled by 1 / norm, whatever mean and var are;
    with mean and var the statistics of y, train mode computes nearly the same."""
    bn.running_mean.copy_(mean)
    bn.running_var.copy_(var)
    bn.weight.copy_(norm * torch.sqrt(var + BN_EPS))
    bn.bias.copy_(norm * mean + bias)


def set_norm_stats(model, folded, waves, spk_of_utt, n_speakers, batches, seed):
    """Measures each rebuilt batch norm's input statistics on augmented training crops (as train.py
    draws them: 0.3-2.5 s, noise, reverberation, telephone channel on half) and sets them."""
    sums = {id(bn): [0.0, 0.0, 0] for _, bn, _, _ in folded}

    def hook(bn, inputs, _out):
        y = inputs[0].double()
        s = sums[id(bn)]
        s[0] = s[0] + y.sum(dim=(0, 2, 3))
        s[1] = s[1] + (y * y).sum(dim=(0, 2, 3))
        s[2] += y.numel() // y.shape[1]

    handles = [bn.register_forward_hook(hook) for _, bn, _, _ in folded]
    sampler = CropSampler(waves, spk_of_utt, n_speakers, seed=seed)
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    model.eval()
    with torch.no_grad():
        for _ in range(batches):
            x, *_ = sampler.batch(64, int(rng.uniform(0.3, 2.5) * 16000), p_channel=0.5)
            model(batched_fbank(x, dither=TRAIN_DITHER, normalise=not model.takes_raw_feats, generator=gen))
    for h in handles:
        h.remove()
    with torch.no_grad():
        for _, bn, norm, bias in folded:
            s1, s2, n = sums[id(bn)]
            mean = s1 / n
            var = (s2 / n - mean * mean).clamp(min=0)
            set_bn(bn, norm, bias, mean.float(), var.float())


def imprint_head(units, n_speakers, spk_of_utt):
    """AAM head rows [speeds * speakers, dim]: each (speed, speaker) class's renormalised mean unit
    embedding. self_targets.speaker_centroids gives it once per utterance; each utterance writes it
    to its speaker's row."""
    spk = np.asarray(spk_of_utt)
    rows = np.zeros((units.shape[0] * n_speakers, units.shape[2]), dtype=np.float32)
    for k in range(units.shape[0]):
        rows[k * n_speakers + spk] = speaker_centroids(units[k], spk_of_utt)
    return rows


def fit_projection(units, teacher):
    """Least-squares map from own unit embeddings to centred, unit teacher targets (as train.py
    prepares them), as a Linear(dim, teacher_dim, bias=False) weight; and the mean cosine it reaches."""
    t = teacher - teacher.reshape(-1, teacher.shape[2]).mean(axis=0)
    t = t / np.linalg.norm(t, axis=2, keepdims=True)
    x, y = units.reshape(-1, units.shape[2]), t.reshape(-1, t.shape[2])
    p, *_ = np.linalg.lstsq(x, y, rcond=None)  # [dim, teacher_dim]
    pred = x @ p
    cos = (pred * y).sum(1) / np.linalg.norm(pred, axis=1).clip(1e-12)
    return p.T.astype(np.float32), float(cos.mean())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', required=True, help='model id: reads <models-dir>/<id>.onnx')
    ap.add_argument('--models-dir', default=os.path.join(REPO, 'models'), help='where the ONNX file is (default: the repository\'s models/)')
    ap.add_argument('--out', required=True, help='the checkpoint to write (train.py --init takes it)')
    ap.add_argument('--data', default=DEFAULT_DATA)
    add_extra_data_arg(ap)
    ap.add_argument('--speeds', default='1.0,0.9,1.1,0.8,1.2', help='the head\'s classes: one per speaker and speed')
    ap.add_argument('--distil', help='teacher.py targets: also fit the distillation projection')
    ap.add_argument('--stat-batches', type=int, default=40, help='batches of 64 augmented crops for the batch-norm statistics')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--threads', type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    speeds = parse_speeds(args.speeds)
    onnx_path = os.path.join(args.models_dir, args.model + '.onnx')
    inits, trunk = read_graph(onnx_path)
    cfg = infer_cfg(inits, trunk)
    print(f'{onnx_path}: {json.dumps(cfg)}', flush=True)
    model = build_model(cfg)
    folded = load_weights(model, inits, trunk)

    waves, spk_of_utt, speakers = load_train(args.data, args.extra_data)
    set_norm_stats(model, folded, waves, spk_of_utt, len(speakers), args.stat_batches, args.seed)  # leaves it in eval mode
    worst = check_with_onnxruntime(onnx_path, model)
    if worst >= 1e-3:
        sys.exit(f'the rebuilt model disagrees with {onnx_path}: max |diff| {worst}')

    units = own_embeddings(model, waves, speeds)  # [speed, utterance, dim], unit rows
    head = imprint_head(units, len(speakers), spk_of_utt)
    distil = None
    if args.distil:
        teacher = load_targets('--distil', args.distil, speakers, spk_of_utt, speeds)
        weight, cos = fit_projection(units, teacher)
        distil = {'weight': torch.from_numpy(weight)}
        print(f'distillation projection: least squares to {args.distil}, mean cosine {cos:.3f}', flush=True)

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    # The keys train.py --init reads; no optimiser state (--init starts a fresh one anyway).
    torch.save(dict(model=model.state_dict(), head={'weight': torch.from_numpy(head)}, distil=distil, centre=None, opt=None,
                    elapsed=0.0, step=0, cfg=cfg, speakers=speakers,
                    args=dict(speeds=args.speeds, from_onnx=onnx_path, distil=args.distil), final=True), args.out)
    print(f'{args.out}: rebuilt from {onnx_path} (max |diff| {worst:.2e} against onnxruntime-node), head {tuple(head.shape)}'
          + ('' if distil is None else f', projection {tuple(distil["weight"].shape)}'))


if __name__ == '__main__':
    main()
