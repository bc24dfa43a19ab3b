"""Impostor cohort for adaptive symmetric score normalisation (AS-norm).

    /usr/bin/python3 scripts/train/cohort.py --ckpt CKPT --out cohort-wideband.f32 [--channel telephone]

One embedding per *training* speaker (the L2-normalised mean of up to --utts of its utterances, each
cut to --seconds), or with --rows utterance one per utterance (the service's default since
`voice-passport cohort --rows`), so the cohort never contains a dev or enrolled speaker.  AS-norm (Matejka et al.,
"Analysis of score normalization in multilingual speaker recognition", Interspeech 2017):
    s' = ((s - mu_e) / sd_e + (s - mu_t) / sd_t) / 2
where mu/sd are the mean and standard deviation of the top-K cosine scores of each side against the
cohort.  Written as little-endian float32 [N, D] (the service reads it with no parser).
"""
import argparse
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from data import DEFAULT_DATA  # noqa: E402


def training_cuts(data_root, utts=3, seconds=6.0, cut='start'):
    """Per training speaker (sorted by name), its first `utts` utterances (path order), each cut to its
    first `seconds` (the service's cohort), or with cut='middle' to the `seconds` around its middle
    (for short cuts, which would otherwise be mostly the silence before the first word):
    [(speaker, [(samples, rate), ...])]: the cohort's audio."""
    from eval_dev import index_rows, read_mono  # noqa: E402  (import cycle otherwise)
    train = index_rows(data_root, 'train')
    by_spk = {}
    for r in train:
        by_spk.setdefault(r['speaker'], []).append(r)
    out = []
    for spk in sorted(by_spk):
        cuts = []
        for r in sorted(by_spk[spk], key=lambda r: r['path'])[:utts]:
            x, sr = read_mono(os.path.join(data_root, 'train', r['path']))
            n = int(seconds * sr)
            start = max(0, (len(x) - n) // 2) if cut == 'middle' else 0
            cuts.append((x[start: start + n], sr))
        out.append((spk, cuts))
    return out


def speaker_cohort(model, data_root, channel='wideband', utts=3, seconds=6.0, dither=0.0, rows='speaker', speeds=(1.0,), cut='start', embed_kw=None):
    """The cohort's rows; each speed in `speeds` other than 1.0 adds every cut again, speed-perturbed
    (data.speed_perturb), as the virtual speakers training had: (speaker, speed) pairs are its
    classes, so a perturbed cut is an impostor to every real voice. `embed_kw`: more of
    eval_dev.embed's options (min_frames, window), as the dev clips are embedded."""
    from eval_dev import embed, model_input  # noqa: E402  (import cycle otherwise)
    from data import speed_perturb  # noqa: E402
    out = []
    for _, cuts in training_cuts(data_root, utts, seconds, cut):
        for speed in speeds:
            embs = [embed(model, model_input(speed_perturb(x, speed), sr, channel), dither, **(embed_kw or {})) for x, sr in cuts]
            if rows == 'utterance':
                out.extend(embs)
            else:
                m = np.mean(embs, axis=0)
                out.append(m / np.linalg.norm(m))
    return np.stack(out).astype(np.float32)


def as_norm(S, Ca, Cb, topk):
    """S [n, m] raw cosines between sides a and b; Ca [n, N], Cb [m, N] cosines against the cohort."""
    def stats(C):
        top = -np.sort(-C, axis=1)[:, :topk]
        return top.mean(axis=1), top.std(axis=1) + 1e-6
    ma, sa = stats(Ca)
    mb, sb = stats(Cb)
    return 0.5 * ((S - ma[:, None]) / sa[:, None] + (S - mb[None, :]) / sb[None, :])


def main():
    from export import load_model  # noqa: E402
    ap = argparse.ArgumentParser()
    ap.add_argument('--ckpt', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--data', default=DEFAULT_DATA)
    ap.add_argument('--channel', default='wideband', choices=['wideband', 'telephone'])
    ap.add_argument('--utts', type=int, default=3)
    ap.add_argument('--seconds', type=float, default=6.0)
    ap.add_argument('--rows', default='speaker', choices=['speaker', 'utterance'], help='a row per speaker (its utterances averaged) or per utterance')
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--dither', type=float, default=0.0, help='test-time dither in int16 units, as eval_dev.py --dither (the service dithers by the manifest)')
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model, _ = load_model(args.ckpt)
    C = speaker_cohort(model, args.data, args.channel, args.utts, args.seconds, args.dither, args.rows)
    C.astype('<f4').tofile(args.out)
    print(f'{args.out}: {C.shape[0]} rows ({args.rows}) x {C.shape[1]} dims ({args.channel})')


if __name__ == '__main__':
    main()
