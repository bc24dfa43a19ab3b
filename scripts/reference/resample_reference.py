#!/usr/bin/python3
"""Reference outputs of torchaudio.functional.resample with its defaults (Hann-windowed sinc,
lowpass_filter_width 6, rolloff 0.99): how the training scripts (scripts/train/data.py, eval_dev.py)
brought audio at other rates to 16 kHz, so src/audio/sinc-resample.ts can be checked against it.

    /usr/bin/python3 scripts/reference/resample_reference.py [--out fixtures/resample/torchaudio.json]

Each case holds the rates, a synthetic input (a seeded mix of tones, a chirp and noise; float32
little-endian, base64) and torchaudio's float32 output (base64).
"""
import argparse
import base64
import json
import os

import numpy as np
import torch
import torchaudio
import torchaudio.functional as AF

CASES = [(8000, 16000, 401), (16000, 8000, 803), (22050, 16000, 500), (44100, 16000, 997), (16000, 16000 * 3 // 2, 64), (8000, 16000, 1)]


def signal(rate, n, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / rate
    x = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 0.45 * rate * t) + 0.2 * np.sin(2 * np.pi * (100 + 0.2 * rate * t / max(t[-1], 1e-9)) * t)
    return (x + 0.05 * rng.standard_normal(n)).astype(np.float32)


def b64(a):
    return base64.b64encode(np.asarray(a, dtype='<f4').tobytes()).decode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', default=os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'resample', 'torchaudio.json'))
    args = ap.parse_args()
    cases = []
    for k, (src, dst, n) in enumerate(CASES):
        x = signal(src, n, k)
        y = AF.resample(torch.from_numpy(x), src, dst).numpy()
        cases.append(dict(fromRate=src, toRate=dst, inputLength=n, input=b64(x), output=b64(y), outputLength=int(y.shape[-1])))
    with open(args.out, 'w') as f:
        json.dump(dict(source=f'torchaudio {torchaudio.__version__} functional.resample, defaults (sinc_interpolation, lowpass_filter_width 6, rolloff 0.99); torch {torch.__version__}', cases=cases), f, indent=1)
        f.write('\n')
    print(f'wrote {len(cases)} cases to {args.out}')


if __name__ == '__main__':
    main()
