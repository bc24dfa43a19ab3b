"""Quick all-pairs single-utterance cosine EER / minDCF on ../shared/data/dev, for monitoring training.

    /usr/bin/python3 scripts/train/eval_dev.py --ckpt scripts/train/runs/v1/final.pt [--sets so762,sc,fsdd] [--channels wideband,telephone]

Trials: every unordered pair of utterances within a dev set (same speaker = target), one utterance
each side, cosine of L2-normalised embeddings: the protocol of ../shared/models/reference/README.md.
Front-end: torchaudio.compliance.kaldi.fbank exactly as the service (features.kaldi_fbank).
`telephone`: 300-3400 Hz band-limit, 8 kHz, G.711 mu-law round trip at the recording's own level,
then the service's 8 kHz path (upsampled to 16 kHz).  8 kHz recordings (FSDD) are upsampled.
The TypeScript harness (`npx voice-passport eval`) is the authority; this is the training-time view.
"""
import argparse
import csv
import json
import os
import sys
import zlib

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as AF

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from data import DEFAULT_DATA, alaw_roundtrip, mulaw_roundtrip, parse_speeds  # noqa: E402
from export import MIN_FRAMES, load_model  # noqa: E402
from features import kaldi_fbank  # noqa: E402


def telephone(x, sr, law='mulaw'):
    """Band-limit 300-3400 Hz, resample to 8 kHz, G.711 round trip (no level change). Returns 8 kHz."""
    x8 = AF.resample(x, sr, 8000) if sr != 8000 else x
    spec = torch.fft.rfft(x8)
    f = torch.fft.rfftfreq(len(x8), 1 / 8000)
    x8 = torch.fft.irfft(spec * ((f >= 300) & (f <= 3400)).to(spec.dtype), n=len(x8)).clamp(-1, 1)
    return mulaw_roundtrip(x8) if law == 'mulaw' else alaw_roundtrip(x8)


def read_mono(path):
    """A sound file as mono ±1 float32 and its rate."""
    x, sr = sf.read(path, dtype='float32', always_2d=True)
    return torch.from_numpy(x.mean(axis=1).copy()), sr


def index_rows(data_root, split, name=None):
    """index.tsv's rows of one split ('train' or 'dev'), of one set if `name` is given, in file order."""
    with open(os.path.join(data_root, 'index.tsv')) as f:
        return [r for r in csv.DictReader(f, delimiter='\t') if r['split'] == split and name in (None, r['set'])]


def dev_rows(data_root, name):
    """index.tsv's rows of one dev set, in file order."""
    return index_rows(data_root, 'dev', name)


def load_dev_set(data_root, name):
    """One dev set's recordings [(audio, rate)] and speaker labels, in index.tsv order."""
    rows = dev_rows(data_root, name)
    return [read_mono(os.path.join(data_root, 'dev', r['path'])) for r in rows], np.array([r['speaker'] for r in rows])


def dev_words(data_root, name):
    """The word each utterance of a dev set says, from its file name (sc: `left-1.flac`, fsdd:
    `7_12.flac`), in load_dev_set's order; None for a set whose names do not carry it (so762)."""
    if name not in ('sc', 'fsdd'):
        return None
    return np.array([os.path.basename(r['path']).replace('-', '_').split('_')[0] for r in dev_rows(data_root, name)])


def model_input(x, sr, channel):
    """Through the simulated telephone line if asked, then at the model's 16 kHz."""
    if channel == 'telephone':
        x, sr = telephone(x, sr), 8000
    return AF.resample(x, sr, 16000) if sr != 16000 else x


def all_pairs(speakers):
    """The reference protocol's trials: every unordered pair (i < j) as upper-triangle indices of an
    [n, n] score matrix, and whether each pair is a target (same speaker)."""
    spk = np.asarray(speakers)
    iu = np.triu_indices(len(spk), 1)
    return iu, (spk[:, None] == spk[None, :])[iu]


def eer_mindcf(scores, labels, p_target=0.01):
    order = np.argsort(-scores)
    lab = labels[order].astype(np.float64)
    nt, nn = lab.sum(), (1 - lab).sum()
    # threshold just below each sorted score: accept the top k
    fa = np.concatenate([[0], np.cumsum(1 - lab)]) / nn
    miss = 1 - np.concatenate([[0], np.cumsum(lab)]) / nt
    i = np.argmin(np.abs(fa - miss))
    eer = (fa[i] + miss[i]) / 2
    dcf = p_target * miss + (1 - p_target) * fa
    mindcf = dcf.min() / min(p_target, 1 - p_target)
    return eer, mindcf, int(nt), int(nn)


def embed(model, x16, dither=0.0, draw=0, min_frames=MIN_FRAMES, window=None):
    """One clip's L2-normalised embedding. `window` (seconds, hop): a clip longer than one window is
    embedded window by window, frames cut from the one fbank as the service's 'windows'
    segmentation does (src/model/embedder.ts, windowStarts), the unit vectors averaged."""
    if dither > 0:
        # Test-time dither (int16 units), seeded by the audio itself: repeatable, yet two recordings
        # never share one noise realisation (their silent stretches would then look alike).
        seed = zlib.crc32(x16.numpy().tobytes()) + draw
        x16 = x16 + dither / 32768.0 * torch.randn(x16.shape, generator=torch.Generator().manual_seed(seed))
    normalise = not model.takes_raw_feats
    feats = kaldi_fbank(x16, normalise)
    if feats.shape[0] < min_frames:  # the service repeat-pads audio that is too short
        reps = -(-min_frames // feats.shape[0])
        feats = kaldi_fbank(x16.repeat(reps + 1), normalise)[: max(min_frames, feats.shape[0])]
    if window is not None and feats.shape[0] > round(window[0] * 100):  # 100 frames a second (10 ms shift)
        w, hop = max(min_frames, round(window[0] * 100)), max(1, round(window[1] * 100))
        starts = list(range(0, feats.shape[0] - w + 1, hop))
        if starts[-1] != feats.shape[0] - w:
            starts.append(feats.shape[0] - w)
        with torch.no_grad():
            e = model(torch.stack([feats[s: s + w] for s in starts]))
        e = (e / e.norm(dim=1, keepdim=True)).mean(dim=0)
        return (e / e.norm()).numpy()
    with torch.no_grad():
        e = model(feats.unsqueeze(0))[0]
    return (e / e.norm()).numpy()


def embed_tta(model, x16, dither, draws, shifts, min_frames=MIN_FRAMES, window=None):
    """The mean of the L2-normalised embeddings of several views of one clip (test-time
    augmentation), normalised again: each dither draw (seeds audio CRC + 0 .. draws-1) at each
    start offset in samples (the 10 ms frame grid moved by a fraction of a hop)."""
    views = [embed(model, x16[s:], dither, d, min_frames, window) for s in shifts for d in range(draws)]
    e = np.mean(views, axis=0)
    return e / np.linalg.norm(e)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--ckpt', required=True)
    ap.add_argument('--data', default=DEFAULT_DATA)
    ap.add_argument('--sets', default='so762,sc,fsdd')
    ap.add_argument('--channels', default='wideband,telephone')
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--json', help='write results here')
    ap.add_argument('--dither', type=float, default=0.0, help='test-time dither in int16 units, seeded by the audio (the service uses the manifest\'s frontEnd.dither: 1.0 since vp-resnet-v6; default 0 here, the figures quoted for v5 and before)')
    ap.add_argument('--time-strides', help='run the checkpoint\'s weights with these time strides of stages 2-4, e.g. 2,2,1 (export.load_model)')
    ap.add_argument('--by-word', action='store_true', help='sc and fsdd: also the EER and mean cosines of same-word and different-word trials apart (how much the embedding of a short clip says about the word)')
    ap.add_argument('--asnorm', default='', help='comma-separated top-K values: also report AS-norm EER against a training-speaker cohort (cohort.py)')
    ap.add_argument('--cohort-utts', type=int, default=3, help='with --asnorm: utterances per cohort speaker (the service\'s voice-passport cohort --per-speaker)')
    ap.add_argument('--cohort-speeds', default='1.0', help='with --asnorm: comma-separated speed factors (data.SPEED_RATIOS); each besides 1.0 adds every cohort cut again, speed-perturbed: the virtual speakers of training')
    ap.add_argument('--cohort-seconds', type=float, default=6.0, help='with --asnorm: seconds per cohort cut (the service\'s 6); shorter cuts are taken around the middle of each utterance')
    ap.add_argument('--cohort-rows', default='speaker', choices=['speaker', 'utterance'], help='with --asnorm: a cohort row per speaker (its utterances averaged; the figures quoted before the service\'s cohort --rows) or per utterance (the service\'s default since)')
    ap.add_argument('--cohort-words', action='store_true', help='with --asnorm: add every Speech Commands training clip (1 s words, 102 speakers) to the cohort as a row of its own, so a short test clip finds impostors saying the same word')
    ap.add_argument('--tta-draws', type=int, default=1, help='test-time augmentation: average the embeddings of this many dither draws (with --dither); dev clips only, the AS-norm cohort is embedded once')
    ap.add_argument('--tta-shifts', default='0', help='test-time augmentation: comma-separated start offsets in samples at 16 kHz (e.g. 0,40,80,120: the frame grid moved by quarter hops), embeddings averaged; dev clips only')
    ap.add_argument('--min-frames', type=int, default=MIN_FRAMES, help='repeat shorter clips (the audio tiled, then cut) to this many frames before the network (the manifest\'s minFrames; default the export\'s)')
    ap.add_argument('--window', help='SECONDS,HOP: embed clips longer than SECONDS window by window (the manifest\'s segmentation "windows"), the cohort too; default whole')
    args = ap.parse_args()
    window = None if args.window is None else tuple(float(v) for v in args.window.split(','))
    shifts = [int(v) for v in args.tta_shifts.split(',')]
    torch.set_num_threads(args.threads)
    model, ck = load_model(args.ckpt, None if args.time_strides is None else [int(v) for v in args.time_strides.split(',')])
    results = []
    topks = [int(k) for k in args.asnorm.split(',') if k]
    cohorts = {}
    if topks:
        from cohort import as_norm, speaker_cohort  # noqa: E402
        for channel in args.channels.split(','):
            cohorts[channel] = speaker_cohort(model, args.data, channel, args.cohort_utts, seconds=args.cohort_seconds, dither=args.dither, rows=args.cohort_rows,
                                              speeds=parse_speeds(args.cohort_speeds, '--cohort-speeds'), cut='start' if args.cohort_seconds >= 6.0 else 'middle',
                                              embed_kw=dict(min_frames=args.min_frames, window=window))
            if args.cohort_words:
                W = np.stack([embed(model, model_input(*read_mono(os.path.join(args.data, 'train', r['path'])), channel), args.dither, min_frames=args.min_frames, window=window)
                              for r in index_rows(args.data, 'train', 'sc')])
                cohorts[channel] = np.concatenate([cohorts[channel], W])
    print(f"checkpoint {args.ckpt}: step {ck['step']}, {ck['elapsed'] / 60:.1f} min trained")
    print('| dev set | channel | speakers | target / non-target | EER | minDCF(0.01) |')
    print('|---|---|---|---|---|---|')
    for name in args.sets.split(','):
        audio, spk = load_dev_set(args.data, name)
        for channel in args.channels.split(','):
            embs = [embed_tta(model, model_input(x, sr, channel), args.dither, args.tta_draws, shifts, args.min_frames, window) for x, sr in audio]
            E = np.stack(embs)
            S = E @ E.T
            iu, labels = all_pairs(spk)
            eer, dcf, nt, nn = eer_mindcf(S[iu], labels)
            results.append(dict(set=name, channel=channel, speakers=len(set(spk)), target=nt, nonTarget=nn, eer=eer, minDCF=dcf))
            print(f'| {name} | {channel} | {len(set(spk))} | {nt} / {nn} | {100 * eer:.2f} % | {dcf:.3f} |', flush=True)
            words = dev_words(args.data, name) if args.by_word else None
            if words is not None:
                same = (words[:, None] == words[None, :])[iu]
                t = S[iu]
                for label, m in (('same word', same), ('different words', ~same)):
                    eer, dcf, nt, nn = eer_mindcf(t[m], labels[m])
                    results.append(dict(set=name, channel=channel, words=label, target=nt, nonTarget=nn, eer=eer, minDCF=dcf,
                                        meanTarget=float(t[m & labels].mean()), meanNonTarget=float(t[m & ~labels].mean())))
                    print(f'| {name} | {channel}, {label} | {len(set(spk))} | {nt} / {nn} | {100 * eer:.2f} % | {dcf:.3f} | '
                          f'mean cosine target {t[m & labels].mean():.3f}, non-target {t[m & ~labels].mean():.3f}', flush=True)
            for k in topks:
                C = E @ cohorts[channel].T
                eer, dcf, nt, nn = eer_mindcf(as_norm(S, C, C, k)[iu], labels)
                results.append(dict(set=name, channel=channel, asnormTopK=k, speakers=len(set(spk)), target=nt, nonTarget=nn, eer=eer, minDCF=dcf))
                print(f'| {name} | {channel} AS-norm top-{k} | {len(set(spk))} | {nt} / {nn} | {100 * eer:.2f} % | {dcf:.3f} |', flush=True)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(ckpt=args.ckpt, step=ck['step'], results=results), f, indent=2)


if __name__ == '__main__':
    main()
