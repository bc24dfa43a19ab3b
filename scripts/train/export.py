"""Export a trained checkpoint to ONNX plus the service's manifest (src/model/manifest.ts).

    /usr/bin/python3 scripts/train/export.py --ckpt scripts/train/runs/v7/final.pt --id vp-resnet-v7

Writes models/<id>.onnx (input `feats` [B, T, 80] float, output `embs` [B, D], dynamic B and T,
WeSpeaker convention) and models/<id>.json.  Checks the ONNX graph against torch on random inputs of
several lengths with onnxruntime-node (scripts/train/check_onnx.mjs), because Python has no
onnxruntime here and the service runs onnxruntime-node anyway.
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, '..', '..'))
sys.path.insert(0, HERE)
from features import TRAIN_DITHER  # noqa: E402
from model import build_model  # noqa: E402

MIN_FRAMES = 20  # 4 strided stages need T >= 16; 20 frames = 0.2 s of audio + 15 ms


def load_model(ckpt_path, time_strides=None):
    """A train.py checkpoint, or a fused one (fused.py), as an eval-mode model and the checkpoint.
    ``time_strides`` runs a checkpoint's weights in another layout (model.ThinResNet: no weight
    changes shape), to see what a --time-strides run starts from."""
    ck = torch.load(ckpt_path, map_location='cpu')
    if ck.get('members'):
        if time_strides is not None:
            raise SystemExit(f'{ckpt_path}: a fused checkpoint takes no time_strides')
        from fused import build_fused  # noqa: E402
        model = build_fused(ck)
    else:
        model = build_model(ck['cfg'] if time_strides is None else {**ck['cfg'], 'time_strides': list(time_strides)})
        model.load_state_dict(ck['model'])
    model.eval()
    return model, ck


def distilled(ck):
    """Whether a checkpoint (or any member of a fused one) learnt from the teacher."""
    return (ck.get('distil') is not None or bool(ck['args'].get('distil_online'))
            or any(distilled(m) for m in ck.get('members') or []))


def check_with_onnxruntime(onnx_path, model):
    """Runs the ONNX file in onnxruntime-node on random inputs of several shapes; returns max |diff|."""
    torch.manual_seed(123)
    cases = [(1, MIN_FRAMES), (1, 98), (3, 301), (2, 1000)]
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        spec = []
        for i, (b, t) in enumerate(cases):
            x = torch.randn(b, t, 80)
            with torch.no_grad():
                y = model(x)
            x.numpy().astype('<f4').tofile(os.path.join(tmp, f'in{i}.bin'))
            y.numpy().astype('<f4').tofile(os.path.join(tmp, f'out{i}.bin'))
            spec.append(dict(input=f'in{i}.bin', output=f'out{i}.bin', dims=[b, t, 80]))
        with open(os.path.join(tmp, 'cases.json'), 'w') as f:
            json.dump(dict(model=os.path.abspath(onnx_path), cases=spec), f)
        res = subprocess.run(['node', os.path.join(HERE, 'check_onnx.mjs'), tmp], cwd=REPO, capture_output=True, text=True)
        if res.returncode != 0:
            raise SystemExit('onnxruntime-node check failed: ' + res.stderr + res.stdout)
        report = json.loads(res.stdout)
        for r in report:
            print(f"  onnxruntime-node dims {r['dims']} -> {r['outDims']} max|diff| {r['maxAbsDiff']:.2e} cos {r['minCos']:.7f}")
            worst = max(worst, r['maxAbsDiff'])
    return worst


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--ckpt', required=True)
    # No default: exporting a new checkpoint under the shipped model's id would overwrite it.
    ap.add_argument('--id', required=True, help='model id: writes models/<id>.onnx and models/<id>.json')
    ap.add_argument('--out-dir', default=os.path.join(REPO, 'models'))
    ap.add_argument('--dither', type=float, default=TRAIN_DITHER,
                    help='the manifest\'s frontEnd.dither (int16 units); default: what training used. vp-resnet-v5 and earlier shipped with 0')
    ap.add_argument('--speech-context-ms', type=int, default=200,
                    help='the manifest\'s speechContextMs: audio kept either side of the VAD\'s speech in what the model hears; vp-resnet-v6 shipped with 0 until this was measured')
    ap.add_argument('--description', default='Voice Passport default speaker model: thin ResNet, attentive statistics pooling, AAM-softmax; trained on CPU on LibriSpeech/speechocean762/Speech Commands samples with noise, reverberation, speed and telephone-channel augmentation.')
    args = ap.parse_args()
    torch.set_num_threads(2)

    model, ck = load_model(args.ckpt)
    os.makedirs(args.out_dir, exist_ok=True)
    onnx_path = os.path.join(args.out_dir, args.id + '.onnx')
    dummy = torch.randn(1, 200, 80)
    torch.onnx.export(
        model, dummy, onnx_path, opset_version=13, do_constant_folding=True,
        input_names=['feats'], output_names=['embs'],
        dynamic_axes={'feats': {0: 'B', 1: 'T'}, 'embs': {0: 'B'}},
    )
    m = onnx.load(onnx_path)
    onnx.checker.check_model(m)
    worst = check_with_onnxruntime(onnx_path, model)
    assert worst < 1e-3, f'ONNX disagrees with torch: max |diff| {worst}'

    digest = hashlib.sha256(open(onnx_path, 'rb').read()).hexdigest()
    emb_dim = ck['cfg']['emb_dim']
    n_params = sum(p.numel() for p in model.parameters())
    learnt_from_teacher = distilled(ck)
    teacher = 'voxsv (github.com/nyangmeong/max78000-speaker-verification, MIT, (c) 2026 Jae-Woo Ahn)'
    manifest = {
        'id': args.id,
        'description': args.description
        + (' The spectral-shape branch adds the level-normalised long-term average spectrum.' if model.takes_raw_feats else '')
        + (f' Knowledge distillation from the reference model {teacher}.' if learnt_from_teacher else '')
        + f' {n_params} parameters, {emb_dim}-dim embedding.',
        'convention': 'wespeaker',
        'file': args.id + '.onnx',
        'sha256': digest,
        'sampleRate': 16000,
        # By default the service dithers as training did (features.TRAIN_DITHER).
        'frontEnd': {'numMelBins': 80, 'frameLength': 25, 'frameShift': 10, 'dither': args.dither, 'windowType': 'hamming', 'snipEdges': True},
        'sampleScale': 'int16',
        # The spectral-shape branch applies CMN inside the graph (scripts/train/model.py).
        'normalisation': 'none' if model.takes_raw_feats else 'mean',
        'input': {'name': 'feats', 'layout': 'BTF'},
        'output': {'name': 'embs'},
        'embeddingDim': emb_dim,
        'segmentation': {'mode': 'whole'},
        'minFrames': MIN_FRAMES,
        # Our models train on untrimmed crops: the service keeps this much audio either side of
        # the VAD's speech (measured on v6: src/model/manifest.ts, models/README.md).
        'speechContextMs': args.speech_context_ms,
        # data.py brought every training rate to 16 kHz, and made the telephone crops' 8 kHz round
        # trip, with torchaudio's resampler; the service makes the model input with the same one.
        'resampler': 'torchaudio',
        'source': {
            'url': 'scripts/train/ (this repository)',
            'licence': 'Model weights: trained by the Voice Passport project on CC BY 4.0 data'
            + (f', distilled from the MIT-licensed {teacher}' if learnt_from_teacher else '')
            + '; see models/README.md for attribution.',
            'citation': 'Training data: LibriSpeech (V. Panayotov et al., ICASSP 2015, CC BY 4.0); speechocean762 (J. Zhang et al., Interspeech 2021, CC BY 4.0); Speech Commands v0.02 (P. Warden, 2018, CC BY 4.0).',
        },
    }
    with open(os.path.join(args.out_dir, args.id + '.json'), 'w') as f:
        json.dump(manifest, f, indent=2)
        f.write('\n')
    print(f'wrote {onnx_path} ({os.path.getsize(onnx_path)} bytes, sha256 {digest}) and {args.id}.json; {n_params} params; worst diff {worst:.2e}')


if __name__ == '__main__':
    main()
