"""Self-distillation targets: a trained model's own embeddings of the whole, clean training utterances.

    /usr/bin/python3 scripts/train/self_targets.py --ckpt scripts/train/runs/v6/final.pt \
        --out scripts/train/runs/self/v6-speaker-targets.npz [--level speaker|utterance]

`train.py --self-distil FILE` pulls the embedding of every short, augmented training crop towards
these targets: short-utterance compensation by teacher-student learning from long utterances (Jung
et al., "Short utterance compensation in speaker verification via cosine-based teacher-student
learning of speaker embeddings", ASRU 2019), with the previous stage as the teacher. Why: on the
0.4 s fsdd digits, v6 scores two recordings of one speaker saying *the same* digit at a mean cosine
of 0.69 but saying *different* digits at 0.33 (different speakers: 0.19 and 0.11), so the
embedding of a sub-second clip says as much about the word as about the voice (EER 3.5 % within
a digit, 21.5 % across digits: `eval_dev.py --ckpt scripts/train/runs/v6/final.pt --sets fsdd
--channels wideband --dither 1 --by-word`).

`--level speaker` (default) replaces each utterance's target with its speaker's centroid at that
speed (the renormalised mean of the unit embeddings of all the speaker's utterances), so a crop of
one command word is pulled towards what the speaker's *other* words share, not towards that word;
for the LibriSpeech speakers (one utterance each) the two levels are the same.

The file has the layout of teacher.py's targets (targets [speed, utterance, dim], speeds, speakers,
spk_of_utt), plus the checkpoint and level it was made from.
"""
import argparse
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from data import add_extra_data_arg, load_train, parse_speeds, speed_perturb  # noqa: E402
from eval_dev import DEFAULT_DATA, embed  # noqa: E402
from export import load_model  # noqa: E402
from features import TRAIN_DITHER  # noqa: E402


def speaker_centroids(units, spk_of_utt):
    """Each row replaced by the renormalised mean of the unit rows of its speaker."""
    spk = np.asarray(spk_of_utt)
    out = np.empty_like(units)
    for s in np.unique(spk):
        rows = spk == s
        c = units[rows].mean(axis=0)
        out[rows] = c / np.linalg.norm(c)
    return out


def own_embeddings(model, waves, speeds):
    """The model's unit embeddings of each whole training utterance at each speed [speed, utterance,
    dim], at the level data.CropSampler gives its crops (peak 0.5), with the training dither."""
    out = None
    for k, speed in enumerate(speeds):
        for i, w in enumerate(waves):
            x = speed_perturb(torch.from_numpy(w), speed)
            e = embed(model, x / x.abs().max().clamp(min=1e-4) * 0.5, TRAIN_DITHER)
            if out is None:
                out = np.zeros((len(speeds), len(waves), e.shape[0]), dtype=np.float32)
            out[k, i] = e
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--ckpt', required=True, help='the teacher: a train.py checkpoint (usually the stage this run starts from)')
    ap.add_argument('--out', required=True)
    ap.add_argument('--data', default=DEFAULT_DATA)
    add_extra_data_arg(ap)
    ap.add_argument('--speeds', default='1.0,0.9,1.1,0.8,1.2')
    ap.add_argument('--level', choices=['speaker', 'utterance'], default='speaker')
    ap.add_argument('--threads', type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    speeds = parse_speeds(args.speeds)
    model, ck = load_model(args.ckpt)
    waves, spk_of_utt, speakers = load_train(args.data, args.extra_data)
    units = own_embeddings(model, waves, speeds)
    spk = np.array(spk_of_utt)
    different = spk[:, None] != spk[None, :]
    out = np.empty_like(units)
    for k, speed in enumerate(speeds):
        same = (units[k] @ units[k].T)[~different & ~np.eye(len(spk), dtype=bool)]
        out[k] = speaker_centroids(units[k], spk_of_utt) if args.level == 'speaker' else units[k]
        print(f'speed {speed}: {len(waves)} utterances; mean cosine between utterances of the same speaker {same.mean():.3f}, '
              f'of different speakers {(out[k] @ out[k].T)[different].mean():.3f}', flush=True)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    np.savez(args.out, targets=out, speeds=np.array(speeds), speakers=np.array(speakers), spk_of_utt=np.array(spk_of_utt),
             ckpt=np.array(os.path.abspath(args.ckpt)), step=np.array(ck['step']), level=np.array(args.level))
    print(f'{args.out}: targets {out.shape}, level {args.level}, from {args.ckpt} (step {ck["step"]})')


if __name__ == '__main__':
    main()
