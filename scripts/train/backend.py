"""Linear back-ends on top of a checkpoint's embeddings, fitted on training speakers only: does centring,
within-class whitening or LDA help the cosine on ../shared/data/dev?

    /usr/bin/python3 scripts/train/backend.py --ckpt scripts/train/runs/v5/final.pt [--chunk 3] [--dims 64,96,128] [--nap 1,2,4]

Training audio is cut into --chunk-second pieces so that every speaker has several "utterances" (a
LibriSpeech speaker has one recording), each embedded through both channels (wideband and the
simulated telephone line), so the within-speaker scatter includes the channel.  Dev audio is never
used for fitting.  Each back-end is a fixed affine map of the L2-normalised embedding, so one that
helps can be folded into the exported ONNX graph without touching the service.
"""
import argparse
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from eval_dev import DEFAULT_DATA, all_pairs, eer_mindcf, embed, index_rows, load_dev_set, model_input, read_mono  # noqa: E402
from export import load_model  # noqa: E402


def train_embeddings(model, data_root, chunk_s, channels):
    """[n, D] embeddings of training chunks, with speaker labels, for each channel."""
    rows = index_rows(data_root, 'train')
    embs, spk = [], []
    for r in rows:
        x, sr = read_mono(os.path.join(data_root, 'train', r['path']))
        n = int(chunk_s * sr)
        pieces = [x[i: i + n] for i in range(0, max(1, len(x) - n // 2), n)] if len(x) > 1.5 * n else [x]
        for p in pieces:
            for ch in channels:
                embs.append(embed(model, model_input(p, sr, ch)))
                spk.append(r['speaker'])
    return np.stack(embs), np.array(spk)


def scatter(E, spk):
    mu = E.mean(axis=0)
    Sw = np.zeros((E.shape[1], E.shape[1]))
    Sb = np.zeros_like(Sw)
    for s in np.unique(spk):
        X = E[spk == s]
        m = X.mean(axis=0)
        Sw += (X - m).T @ (X - m)
        Sb += len(X) * np.outer(m - mu, m - mu)
    return mu, Sw / len(E), Sb / len(E)


def fit_backends(E, spk, dims, shrinks, naps=()):
    """name -> (mu, W): score = cos((e - mu) W, (f - mu) W)."""
    mu, Sw, Sb = scatter(E, spk)
    D = E.shape[1]
    out = {'cosine': (np.zeros(D), np.eye(D)), 'centred': (mu, np.eye(D))}
    for shrink in shrinks:
        out.update(shrunk_backends(mu, Sw, Sb, dims, shrink))
    # Nuisance attribute projection (Solomonoff et al., ICASSP 2005): remove the k directions in
    # which one speaker's embeddings vary most (with short chunks: the words said, and the channel).
    w, V = np.linalg.eigh(Sw)
    V = V[:, np.argsort(-w)]
    for k in naps:
        out[f'nap{k}'] = (np.zeros(D), np.eye(D) - V[:, :k] @ V[:, :k].T)
    return out


def shrunk_backends(mu, Sw, Sb, dims, shrink):
    """WCCN and LDA with the within-class scatter shrunk by `shrink` towards a multiple of I."""
    D = len(mu)
    out = {}
    # Within-class covariance normalisation (Hatch et al., 2006), shrunk towards the identity because
    # the training speakers' own embeddings understate their within-speaker spread.
    Swr = (1 - shrink) * Sw + shrink * np.trace(Sw) / D * np.eye(D)
    w, V = np.linalg.eigh(Swr)
    Wh = V / np.sqrt(w)
    out[f'wccn(shrink {shrink})'] = (mu, Wh)
    # LDA: generalised eigenvectors of (Sb, Sw_r), largest first.
    bw, bV = np.linalg.eigh(Wh.T @ Sb @ Wh)
    order = np.argsort(-bw)
    for d in dims:
        out[f'lda{d}(shrink {shrink})'] = (mu, Wh @ bV[:, order[:d]])
    return out


def score(E, mu, W):
    X = (E - mu) @ W
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X @ X.T


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--ckpt', required=True)
    ap.add_argument('--data', default=DEFAULT_DATA)
    ap.add_argument('--chunk', type=float, default=3.0)
    ap.add_argument('--dims', default='64,96,128,160')
    ap.add_argument('--shrink', default='0.1,0.3')
    ap.add_argument('--nap', default='', help='comma-separated k: also nuisance attribute projection removing the top-k within-speaker directions')
    ap.add_argument('--sets', default='so762,sc,fsdd')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--cache', help='npz of training embeddings (written if absent)')
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model, ck = load_model(args.ckpt)
    channels = ['wideband', 'telephone']
    if args.cache and os.path.exists(args.cache):
        z = np.load(args.cache)
        E, spk = z['E'], z['spk']
    else:
        E, spk = train_embeddings(model, args.data, args.chunk, channels)
        if args.cache:
            np.savez(args.cache, E=E, spk=spk)
    print(f'training chunks: {len(E)} embeddings of {len(set(spk))} speakers', flush=True)
    dims = [int(d) for d in args.dims.split(',')]
    backends = fit_backends(E, spk, dims, [float(v) for v in args.shrink.split(',')], [int(k) for k in args.nap.split(',') if k])
    names = list(backends)
    print('| back-end | ' + ' | '.join(f'{s} {c[:4]}' for s in args.sets.split(',') for c in channels) + ' |')
    table = {n: [] for n in names}
    for name in args.sets.split(','):
        audio, spk_dev = load_dev_set(args.data, name)
        iu, labels = all_pairs(spk_dev)
        for ch in channels:
            X = np.stack([embed(model, model_input(x, sr, ch)) for x, sr in audio])
            for n in names:
                table[n].append(100 * eer_mindcf(score(X, *backends[n])[iu], labels)[0])
    for n in names:
        print(f'| {n} | ' + ' | '.join(f'{v:.2f}' for v in table[n]) + ' |')


if __name__ == '__main__':
    main()
