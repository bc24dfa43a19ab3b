"""The reference model voxsv (../shared/models/reference/, MIT, (c) 2026 Jae-Woo Ahn) as a teacher.

    # does the teacher know what our model does not? score fusion on the dev sets
    /usr/bin/python3 scripts/train/teacher.py fusion --ckpt scripts/train/runs/v3/final.pt
    # distillation targets for train.py --distil: one teacher embedding per (speed, training utterance)
    /usr/bin/python3 scripts/train/teacher.py targets --out scripts/train/runs/teacher/voxsv-targets.npz

Front-end exactly as ../shared/models/reference/README.md describes it: 16 kHz mono, windows of
20 720 samples with a 0.5 s hop (shorter audio zero-padded on both sides to one window; a last window
at the end when more than 0.25 s would be left over), 512-point FFT of a 400-sample periodic Hann
window centred in the frame, hop 160, no centring, 80 HTK-mel bands 20-7600 Hz without area
normalisation, natural log of max(mel, 1e-9), 127 frames padded with one zero frame to 128, each
band's mean over the 128 frames subtracted. Utterance embedding: the L2-normalised mean of the
L2-normalised window embeddings. `fusion` checks this against the README's EER table first.

There is no onnxruntime for Debian's Python, so the ONNX graph runs in onnxruntime-node
(scripts/train/teacher-embed.mjs) on feature chunks written to a temporary folder.  Training with
the teacher in the loop (train.py --distil-online) runs the same graph in torch instead
(teacher_torch.py, which checks itself against onnxruntime-node): on centre_windows() of each clean
crop, or, for a stand-in (--distil-mode mimic), on batch_windows() of the augmented crop pooled as an
utterance (pool_windows).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F
import torchaudio

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from data import add_extra_data_arg  # noqa: E402
from eval_dev import DEFAULT_DATA, all_pairs, eer_mindcf, load_dev_set, model_input  # noqa: E402

TEACHER = os.path.normpath(os.path.join(HERE, '..', '..', '..', 'shared', 'models', 'reference', 'voxsv.onnx'))
WINDOW, HOP = 20720, 8000
CHUNK = 2048  # windows per ONNX run: 80 MB of features
_mel = torchaudio.transforms.MelSpectrogram(
    sample_rate=16000, n_fft=512, win_length=400, hop_length=160, f_min=20.0, f_max=7600.0, n_mels=80,
    window_fn=lambda n: torch.hann_window(n, periodic=True), power=2.0, center=False, norm=None, mel_scale='htk')


def pad_to_window(x16):
    """Audio shorter than one window, zero-padded on both sides to one (last dimension)."""
    pad = WINDOW - x16.shape[-1]
    return torch.nn.functional.pad(x16, (pad // 2, pad - pad // 2))


def window_starts(n):
    """Where the teacher's windows start in n > WINDOW samples: every 0.5 s, plus a last window at
    the end when more than 0.25 s would be left over."""
    starts = list(range(0, n - WINDOW + 1, HOP))
    if n - (starts[-1] + WINDOW) > 4000:
        starts.append(n - WINDOW)
    return starts


def windows(x16):
    """Teacher input windows [W, 80, 128] of one 16 kHz utterance."""
    if len(x16) <= WINDOW:
        return window_features(pad_to_window(x16).unsqueeze(0))
    return window_features(torch.stack([x16[s:s + WINDOW] for s in window_starts(len(x16))]))


def batch_windows(x16):
    """Teacher input windows [B, W, 80, 128] of a batch of equal-length 16 kHz crops [B, n], each
    crop windowed exactly as windows() windows an utterance."""
    b, n = x16.shape
    if n <= WINDOW:
        return window_features(pad_to_window(x16)).unsqueeze(1)
    frames = torch.stack([x16[:, s:s + WINDOW] for s in window_starts(n)], dim=1)  # [B, W, WINDOW]
    return window_features(frames.reshape(-1, WINDOW)).reshape(b, frames.shape[1], 80, 128)


def window_features(frames):
    """[W, 20720] audio windows -> the teacher's [W, 80, 128] input."""
    m = torch.log(torch.clamp(_mel(frames), min=1e-9))  # [W, 80, 127]
    m = torch.nn.functional.pad(m, (0, 1))
    return m - m.mean(dim=2, keepdim=True)


def centre_windows(x16):
    """One teacher window per row of a batch of equal-length 16 kHz crops [B, n]: the crop's middle
    1.295 s, or the whole crop zero-padded on both sides when shorter (as windows() pads)."""
    n = x16.shape[1]
    if n <= WINDOW:
        return window_features(pad_to_window(x16))
    s = (n - WINDOW) // 2
    return window_features(x16[:, s:s + WINDOW])


def run_in_onnxruntime_node(feats):
    """The teacher graph's raw outputs [W, 64] for window features [W, 80, 128], computed by
    onnxruntime-node (teacher-embed.mjs) on files in a temporary folder."""
    with tempfile.TemporaryDirectory() as tmp:
        fi, fo = os.path.join(tmp, 'feats.f32'), os.path.join(tmp, 'embs.f32')
        np.asarray(feats, dtype='<f4').tofile(fi)
        subprocess.run(['node', os.path.join(HERE, 'teacher-embed.mjs'), TEACHER, fi, fo], check=True)
        return np.fromfile(fo, dtype='<f4').reshape(len(feats), -1)


def pool_windows(w):
    """The teacher's utterance embedding from its raw window embeddings [..., W, 64]: the L2-normalised
    mean of the L2-normalised windows."""
    return F.normalize(F.normalize(w, dim=-1).mean(dim=-2), dim=-1)


def teacher_embeddings(utterances):
    """L2-normalised teacher embeddings [N, 64], one per 16 kHz utterance (an iterable of tensors)."""
    out, pending, counts = [], [], []

    def flush():
        if not pending:
            return
        w = torch.from_numpy(run_in_onnxruntime_node(torch.cat(pending).numpy()))
        k = 0
        for n in counts:
            out.append(pool_windows(w[k:k + n]).numpy())
            k += n
        pending.clear()
        counts.clear()

    for x16 in utterances:
        f = windows(x16)
        pending.append(f)
        counts.append(len(f))
        if sum(counts) >= CHUNK:
            flush()
    flush()
    return np.stack(out).astype(np.float32)


def fusion(args):
    from eval_dev import embed  # noqa: E402
    from export import load_model  # noqa: E402
    model, ck = load_model(args.ckpt)
    print(f"checkpoint {args.ckpt}: step {ck['step']}; teacher {TEACHER}")
    print('| dev set | channel | ours | voxsv | fused, w = ' + ' | '.join(str(w) for w in args.weights) + ' |')
    print('|---|---|---|---|' + '---|' * len(args.weights))
    for name in args.sets.split(','):
        audio, spk = load_dev_set(args.data, name)
        iu, lab = all_pairs(spk)
        for channel in args.channels.split(','):
            x16 = [model_input(x, sr, channel) for x, sr in audio]
            E = np.stack([embed(model, x) for x in x16])
            T = teacher_embeddings(x16)
            a, b = (E @ E.T)[iu], (T @ T.T)[iu]
            # Each system's scores standardised over all trials (no labels used), then summed with weight w.
            z = lambda s: (s - s.mean()) / s.std()  # noqa: E731
            cells = [f'{100 * eer_mindcf(s, lab)[0]:.2f} %' for s in [a, b] + [z(a) + w * z(b) for w in args.weights]]
            print(f'| {name} | {channel} | ' + ' | '.join(cells) + ' |', flush=True)


def targets(args):
    from data import load_train, parse_speeds, speed_perturb  # noqa: E402
    speeds = parse_speeds(args.speeds)
    waves, spk_of_utt, speakers = load_train(args.data, args.extra_data)
    out = np.zeros((len(speeds), len(waves), 64), dtype=np.float32)
    for k, speed in enumerate(speeds):
        # The same perturbation as data.CropSampler's, on the whole utterance.
        out[k] = teacher_embeddings(speed_perturb(torch.from_numpy(w), speed) for w in waves)
        spk = np.array(spk_of_utt)
        different = spk[:, None] != spk[None, :]
        # train.py --distil centres the targets because this is far from 0 (0.33 at speed 1.0 for voxsv).
        print(f'speed {speed}: {len(waves)} utterances; mean cosine between different speakers {(out[k] @ out[k].T)[different].mean():.3f}', flush=True)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    np.savez(args.out, targets=out, speeds=np.array(speeds), speakers=np.array(speakers), spk_of_utt=np.array(spk_of_utt))
    print(f'{args.out}: targets {out.shape}')


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest='cmd', required=True)
    f = sub.add_parser('fusion', help='EER of our model, the teacher and their score fusion on the dev sets')
    f.add_argument('--ckpt', required=True)
    f.add_argument('--sets', default='so762,sc,fsdd')
    f.add_argument('--channels', default='wideband')
    f.add_argument('--weights', type=lambda s: [float(v) for v in s.split(',')], default=[0.5, 1.0])
    t = sub.add_parser('targets', help='distillation targets for train.py --distil')
    t.add_argument('--out', required=True)
    t.add_argument('--speeds', default='1.0,0.9,1.1,0.8,1.2')
    add_extra_data_arg(t)
    for p in (f, t):
        p.add_argument('--data', default=DEFAULT_DATA)
        p.add_argument('--threads', type=int, default=1)
    args = ap.parse_args()
    if not os.path.exists(TEACHER):
        sys.exit(f'{TEACHER} not found: the teacher lives in ../shared beside the checkout')
    torch.set_num_threads(args.threads)
    fusion(args) if args.cmd == 'fusion' else targets(args)


if __name__ == '__main__':
    main()
