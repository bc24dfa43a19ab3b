"""The teacher's ONNX graph (../shared/models/reference/voxsv.onnx) executed by torch, so training can ask
the teacher about every augmented crop it draws (train.py --distil-online) instead of reading
per-utterance targets from a file.  Debian's Python has no onnxruntime; the graph is small (124 nodes,
11 operator types) and plain, so a direct interpreter of exactly those operators is shorter than any
converter.  An unknown operator is an error, never a guess.

    /usr/bin/python3 scripts/train/teacher_torch.py   # self-check against onnxruntime-node on dev audio

The weights are read from ../shared at run time and never written anywhere.
"""
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def _attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


class OnnxTeacher(torch.nn.Module):
    """Runs the graph on [N, 80, 128] window features; returns the raw [N, 64] embedding."""

    def __init__(self, path):
        super().__init__()
        g = onnx.load(path).graph
        self.input_name = g.input[0].name
        self.output_name = g.output[0].name
        self.consts = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in g.initializer}
        self.nodes = []
        for n in g.node:
            if n.op_type == 'Constant':
                self.consts[n.output[0]] = torch.from_numpy(numpy_helper.to_array(_attrs(n)['value']).copy())
            else:
                self.nodes.append((n.op_type, list(n.input), n.output[0], _attrs(n)))

    @torch.no_grad()
    def forward(self, feats):
        v = dict(self.consts)
        v[self.input_name] = feats.unsqueeze(1).float()
        for op, ins, out, a in self.nodes:
            x = [v[i] for i in ins]
            if op == 'Clip':
                y = x[0].clamp(float(x[1]), float(x[2]))
            elif op == 'Mul':
                y = x[0] * x[1]
            elif op == 'Add':
                y = x[0] + x[1]
            elif op == 'Div':
                y = x[0] / x[1]
            elif op == 'Round':
                y = torch.round(x[0])  # half to even, as ONNX Round
            elif op == 'Floor':
                y = torch.floor(x[0])
            elif op == 'Conv':
                p = a.get('pads', [0, 0, 0, 0])
                assert p[0] == p[2] and p[1] == p[3] and a.get('group', 1) == 1, f'unsupported Conv {a}'
                y = F.conv2d(x[0], x[1], x[2] if len(x) > 2 else None, stride=a.get('strides', 1),
                             padding=(p[0], p[1]), dilation=a.get('dilations', 1))
            elif op == 'MaxPool':
                assert not any(a.get('pads', [0])) and not a.get('ceil_mode', 0), f'unsupported MaxPool {a}'
                y = F.max_pool2d(x[0], a['kernel_shape'], a['strides'])
            elif op == 'ReduceSum':
                y = x[0].sum(dim=tuple(int(d) for d in x[1]), keepdim=bool(a.get('keepdims', 1)))
            elif op == 'Gemm':
                assert not a.get('transA', 0), f'unsupported Gemm {a}'
                w = x[1].T if a.get('transB', 0) else x[1]
                y = a.get('alpha', 1.0) * (x[0] @ w) + a.get('beta', 1.0) * x[2]
            else:
                raise NotImplementedError(f'teacher graph operator {op} is not interpreted')
            v[out] = y
        return v[self.output_name]


def main():
    """Self-checks: the interpreter and onnxruntime-node agree on real dev windows, and a batch of crops
    is windowed as each crop alone would be (teacher.batch_windows, train.py --distil-mode mimic)."""
    import csv

    from eval_dev import DEFAULT_DATA, model_input, read_mono
    from teacher import TEACHER, batch_windows, run_in_onnxruntime_node, windows
    if not os.path.exists(TEACHER):
        sys.exit(f'{TEACHER} not found: the teacher lives in ../shared beside the checkout')
    torch.set_num_threads(2)
    rows = [r for r in csv.DictReader(open(os.path.join(DEFAULT_DATA, 'index.tsv')), delimiter='\t') if r['split'] == 'dev']
    feats = []
    for r in rows[::25]:
        x, sr = read_mono(os.path.join(DEFAULT_DATA, 'dev', r['path']))
        for ch in ('wideband', 'telephone'):
            feats.append(windows(model_input(x, sr, ch)))
    feats = torch.cat(feats)
    ours = OnnxTeacher(TEACHER)(feats).numpy()
    ref = run_in_onnxruntime_node(feats.numpy())
    diff = np.abs(ours - ref)
    print(f'{len(feats)} windows: {int((diff > 0).sum())} of {diff.size} outputs differ, max |diff| {diff.max():.1f} (int8 units)')
    crops = torch.randn(3, 44000, generator=torch.Generator().manual_seed(5))
    # below one window (padded), exactly one, several with and without a last window at the end
    lengths = [4800, 20720, 28720, 33000, 44000]
    gap = max((batch_windows(crops[:, :n])[i] - windows(crops[i, :n])).abs().max().item() for n in lengths for i in range(3))
    # not bit-exact: a batched FFT rounds differently in the last float32 bits
    print(f'batch_windows against windows per crop at {lengths} samples: max |diff| {gap:.1e} (log-mel)')
    sys.exit(0 if diff.max() <= 1 and gap < 1e-4 else 1)


if __name__ == '__main__':
    main()
