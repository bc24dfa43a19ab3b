#!/usr/bin/env python3
"""Build a production-sized speaker network for the benchmark: WeSpeaker's ResNet34, random weights.

Why: the committed test model (models/vp-test-tiny) is a few thousand multiply-adds per frame, so
latency and throughput measured with it say nothing about a real deployment. Issue 2 section 6
asks for the speed on real compute: the architecture of WeSpeaker's published ResNet34
(H. Wang et al., "WeSpeaker", ICASSP 2023; wespeaker/models/resnet.py, ResNet34 with
m_channels=32, feat_dim=80, embed_dim=256, pooling 'TSTP', two_emb_layer=False), about 6.6 M
parameters. The weights are random (seeded), so the output is not a speaker embedding; only its
cost is real. The file is NOT committed: it is written under data/ (git-ignored).

    /usr/bin/python3 scripts/bench/make-resnet34.py            # -> data/bench/models/bench-resnet34.{onnx,json}

Interface: the WeSpeaker ONNX convention, input `feats` float [B, T, 80], output `embs` [B, 256],
dynamic B and T, so the manifest (same schema as models/*.json) uses the WeSpeaker front end.
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile

import onnx
import torch
from torch import nn

MODEL_ID = "bench-resnet34"
NUM_MEL_BINS = 80
EMBEDDING_DIM = 256
M_CHANNELS = 32
BLOCKS = (3, 4, 6, 3)  # ResNet34 (He et al. 2016, table 1)
SEED = 20240634
OPSET = 13  # as scripts/train/export.py: what onnxruntime-node 1.30 runs without warnings
# Four stages with stride 2 on three of them: T must stay >= 1 after /8; 20 frames as the service default.
MIN_FRAMES = 20

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_OUT = os.path.join(ROOT, "data", "bench", "models")


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection; a 1x1 projection when the shape changes."""

    def __init__(self, in_planes: int, planes: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(planes),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class ResNet34(nn.Module):
    """WeSpeaker's ResNet: the 80 x T fbank is a one-channel image; stages of 32/64/128/256
    channels, the last three halving frequency and time; temporal statistics pooling (TSTP: mean
    and standard deviation over time of every channel x frequency row); one linear layer."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, M_CHANNELS, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(M_CHANNELS)
        layers = []
        in_planes = M_CHANNELS
        for i, n in enumerate(BLOCKS):
            planes = M_CHANNELS * 2**i
            for j in range(n):
                layers.append(BasicBlock(in_planes, planes, stride=2 if (i > 0 and j == 0) else 1))
                in_planes = planes
        self.layers = nn.Sequential(*layers)
        # 80 bins / 8 (three stride-2 stages) = 10 rows of 256 channels.
        self.stats_dim = (NUM_MEL_BINS // 8) * M_CHANNELS * 8
        self.seg_1 = nn.Linear(self.stats_dim * 2, EMBEDDING_DIM)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        x = feats.permute(0, 2, 1).unsqueeze(1)  # [B, T, F] -> [B, 1, F, T]
        x = torch.relu(self.bn1(self.conv1(x)))
        x = self.layers(x)
        x = x.reshape(x.shape[0], -1, x.shape[-1])  # [B, C * F', T']
        mean = x.mean(dim=-1)
        # WeSpeaker's TSTP uses the unbiased variance plus 1e-7 under the square root.
        std = torch.sqrt(torch.var(x, dim=-1, unbiased=True) + 1e-7)
        return self.seg_1(torch.cat([mean, std], dim=1))


def calibrate_batch_norm(model: nn.Module) -> None:
    """Fresh BatchNorm layers hold running mean 0 / variance 1, so at eval time activations would
    drift with depth. A few training-mode passes over random features give every layer statistics
    of its actual input, so inference sees activations of a realistic scale (speed does not depend
    on it, but a non-finite embedding would be refused by the service)."""
    model.train()
    with torch.no_grad():
        for _ in range(4):
            model(torch.randn(8, 300, NUM_MEL_BINS))
    model.eval()


def check_with_onnxruntime(onnx_path: str, model: nn.Module) -> float:
    """Runs the ONNX file in onnxruntime-node (Python has no onnxruntime here; the service uses the
    Node one anyway) through scripts/train/check_onnx.mjs; returns the largest |onnx - torch|."""
    torch.manual_seed(SEED + 1)
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        spec = []
        for i, (b, t) in enumerate([(1, MIN_FRAMES), (1, 298), (2, 517)]):
            x = torch.randn(b, t, NUM_MEL_BINS)
            with torch.no_grad():
                y = model(x)
            x.numpy().astype("<f4").tofile(os.path.join(tmp, f"in{i}.bin"))
            y.numpy().astype("<f4").tofile(os.path.join(tmp, f"out{i}.bin"))
            spec.append({"input": f"in{i}.bin", "output": f"out{i}.bin", "dims": [b, t, NUM_MEL_BINS]})
        with open(os.path.join(tmp, "cases.json"), "w") as f:
            json.dump({"model": os.path.abspath(onnx_path), "cases": spec}, f)
        res = subprocess.run(
            ["node", os.path.join(ROOT, "scripts", "train", "check_onnx.mjs"), tmp],
            cwd=ROOT, capture_output=True, text=True,
        )
        if res.returncode != 0:
            raise SystemExit("onnxruntime-node check failed: " + res.stderr + res.stdout)
        for r in json.loads(res.stdout):
            print(f"  onnxruntime-node {r['dims']} -> {r['outDims']}: max|diff| {r['maxAbsDiff']:.2e}, cos {r['minCos']:.7f}")
            worst = max(worst, r["maxAbsDiff"])
    return worst


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out-dir", default=DEFAULT_OUT, help=f"where the .onnx and .json go (default {DEFAULT_OUT})")
    ap.add_argument("--skip-check", action="store_true", help="do not compare against onnxruntime-node")
    args = ap.parse_args()
    torch.manual_seed(SEED)
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))

    model = ResNet34()
    params = sum(p.numel() for p in model.parameters())
    print(f"{MODEL_ID}: WeSpeaker ResNet34 (BasicBlock {list(BLOCKS)}, base width {M_CHANNELS}), {params:,} parameters ({params / 1e6:.2f} M)")
    calibrate_batch_norm(model)

    os.makedirs(args.out_dir, exist_ok=True)
    onnx_path = os.path.join(args.out_dir, f"{MODEL_ID}.onnx")
    torch.onnx.export(
        model, torch.randn(1, 200, NUM_MEL_BINS), onnx_path,
        input_names=["feats"], output_names=["embs"],
        dynamic_axes={"feats": {0: "B", 1: "T"}, "embs": {0: "B"}},
        opset_version=OPSET, do_constant_folding=True,
    )
    onnx.checker.check_model(onnx.load(onnx_path))
    if not args.skip_check:
        worst = check_with_onnxruntime(onnx_path, model)
        if worst > 1e-3:
            raise SystemExit(f"onnxruntime-node disagrees with torch by {worst:.2e}")

    with open(onnx_path, "rb") as f:
        sha256 = hashlib.sha256(f.read()).hexdigest()
    manifest = {
        "id": MODEL_ID,
        "description": (
            f"BENCHMARK ONLY: WeSpeaker ResNet34 architecture ({params:,} parameters) with random, seeded "
            "weights, built by scripts/bench/make-resnet34.py to measure speed on production-sized compute. "
            "Not a speaker model; never serve it."
        ),
        "convention": "wespeaker",
        "file": f"{MODEL_ID}.onnx",
        "sha256": sha256,
        "sampleRate": 16000,
        # WeSpeaker's compute_fbank options, as in models/conventions/wespeaker.json.
        "frontEnd": {
            "numMelBins": NUM_MEL_BINS,
            "frameLength": 25,
            "frameShift": 10,
            "dither": 0,
            "windowType": "hamming",
            "snipEdges": True,
        },
        "sampleScale": "int16",
        "normalisation": "mean",
        "input": {"name": "feats", "layout": "BTF"},
        "output": {"name": "embs"},
        "embeddingDim": EMBEDDING_DIM,
        "segmentation": {"mode": "whole"},
        "minFrames": MIN_FRAMES,
    }
    manifest_path = os.path.join(args.out_dir, f"{MODEL_ID}.json")
    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(f"wrote {onnx_path} ({os.path.getsize(onnx_path):,} bytes, sha256 {sha256})")
    print(f"wrote {manifest_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
