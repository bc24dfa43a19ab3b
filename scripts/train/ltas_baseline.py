"""Long-term average spectrum (LTAS) baseline on the dev sets: how much speaker information lies in
the per-utterance mean of the raw log-mel features, which CMN removes before the network sees them.

    /usr/bin/python3 scripts/train/ltas_baseline.py        (about 3 min on one core)

Each utterance becomes its mean log-mel vector (the service's front-end, features.kaldi_fbank without
normalisation) minus the mean over 300 training utterances, scored by cosine over all pairs, like
../shared/models/reference/README.md.  Two variants:
  with level  - the vector as is: a louder recording moves every band up;
  shape only  - the level over the telephone-band bins (model.LEVEL_BINS) subtracted, as the
                spectral-shape branch of the model does, so loudness carries no weight.
A large gap between the two on a set means its speakers differ in recording level, a cue a
voice-biometric service should not rely on (a caller's level depends on the handset and distance).
"""
import argparse
import csv
import os
import random
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from eval_dev import DEFAULT_DATA, all_pairs, eer_mindcf, model_input, read_mono  # noqa: E402
from features import kaldi_fbank  # noqa: E402
from model import LEVEL_BINS  # noqa: E402


def mean_logmel(path, channel):
    return kaldi_fbank(model_input(*read_mono(path), channel), normalise=False).mean(dim=0).numpy()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', default=DEFAULT_DATA)
    ap.add_argument('--sets', default='so762,sc,fsdd')
    ap.add_argument('--channels', default='wideband,telephone')
    args = ap.parse_args()
    torch.set_num_threads(1)
    if not os.path.isdir(args.data):
        sys.exit(f'ltas_baseline: {args.data} is absent (the shared speech data); nothing to do')
    rows = list(csv.DictReader(open(os.path.join(args.data, 'index.tsv')), delimiter='\t'))
    train = [r for r in rows if r['split'] == 'train']
    random.Random(0).shuffle(train)
    print('| dev set | channel | LTAS with level | LTAS shape only |')
    print('|---|---|---|---|')
    for channel in args.channels.split(','):
        ref = np.mean([mean_logmel(os.path.join(args.data, 'train', r['path']), channel) for r in train[:300]], axis=0)
        for name in args.sets.split(','):
            utts = [r for r in rows if r['split'] == 'dev' and r['set'] == name]
            M = np.stack([mean_logmel(os.path.join(args.data, 'dev', r['path']), channel) for r in utts]) - ref
            spk = np.array([r['speaker'] for r in utts])
            iu, labels = all_pairs(spk)
            eers = []
            for V in (M, M - M[:, LEVEL_BINS].mean(axis=1, keepdims=True)):
                V = V / np.linalg.norm(V, axis=1, keepdims=True)
                eers.append(eer_mindcf((V @ V.T)[iu], labels)[0])
            print(f'| {name} | {channel} | {100 * eers[0]:.2f} % | {100 * eers[1]:.2f} % |', flush=True)


if __name__ == '__main__':
    main()
