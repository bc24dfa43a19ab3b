"""Training data: speaker-labelled crops from ../shared/data/train with on-the-fly augmentation.

Classes are (speaker, speed) pairs: speed perturbation 0.9/1.0/1.1 changes pitch and formants, so
Kaldi/WeSpeaker recipes treat each perturbed copy as a new speaker (Ko et al., Interspeech 2015).
`speeds` may add 0.8 and 1.2: more virtual speakers for a training set of only 453 real ones
("speaker augmentation", Yamamoto et al., Interspeech 2019), and 1.2 moves adult formants towards
children's, who are many in so762.
Augmentations (each per crop, in batch on the CPU):
- additive noise at 0-20 dB SNR: white/pink/brown (synthetic, spectrally shaped Gaussian noise) or
  babble (a sum of other training crops);
- reverberation with synthetic exponentially decaying RIRs (RT60 0.2-0.9 s);
- the telephone channel: 300-3400 Hz band-limit, 8 kHz, G.711 mu-law or A-law round trip, back to
  16 kHz, or a plain 8 kHz round trip (like FSDD-style 8 kHz recordings), so one model serves both.
Crops are random; utterances shorter than a crop are repeated (the service repeat-pads too).
"""
import csv
import math
import os
import random
import sys

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as AF

SR = 16000
# ../shared/data beside the checkout (the project's layout); every script's --data defaults to it.
DEFAULT_DATA = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'shared', 'data'))
SPEEDS = (1.0, 0.9, 1.1)
# resample ratios (orig, new) that realise each speed factor: 1.1x faster = fewer samples
SPEED_RATIOS = {1.0: None, 0.9: (9, 10), 1.1: (11, 10), 0.8: (4, 5), 1.2: (6, 5)}


def parse_speeds(text, flag='--speeds'):
    """A comma-separated list of speed factors as a tuple; exits naming `flag` unless each is one
    of SPEED_RATIOS, once."""
    try:
        speeds = tuple(float(v) for v in text.split(','))
    except ValueError:
        sys.exit(f'{flag} {text}: not a comma-separated list of numbers')
    if any(v not in SPEED_RATIOS for v in speeds) or len(set(speeds)) != len(speeds):
        sys.exit(f'{flag} {text}: each must be one of {sorted(SPEED_RATIOS)}, once')
    return speeds


def speed_perturb(x, speed):
    """x [..., n] at 16 kHz played `speed` times as fast (resampled; pitch and formants move too)."""
    ratio = SPEED_RATIOS[speed]
    return x if ratio is None else AF.resample(x, ratio[0], ratio[1])


def read16(path):
    """A sound file (a path or a file object) as mono float32 samples at 16 kHz (numpy)."""
    x, sr = sf.read(path, dtype='float32', always_2d=True)
    x = x.mean(axis=1)
    return AF.resample(torch.from_numpy(x), sr, SR).numpy() if sr != SR and x.size else x


def add_extra_data_arg(parser):
    """--extra-data, for every script that calls load_train."""
    parser.add_argument('--extra-data', action='append', default=[],
                        help='more training speakers: a folder with an index.tsv of speaker and path '
                             '(debian_voices.py build); repeatable')


def load_train(root, extra=()):
    """Returns (waves: list of float32 numpy arrays at 16 kHz, spk_of_utt: list[int], speakers: list[str]).
    `extra`: more folders with an index.tsv of speaker and path (debian_voices.py build); their
    speakers follow the shared ones, so the shared speakers keep their class numbers."""
    waves, spk_of_utt, speakers, owner = [], [], {}, {}
    tables = [(os.path.join(root, 'index.tsv'), os.path.join(root, 'train'), True)]
    tables += [(os.path.join(d, 'index.tsv'), d, False) for d in extra]
    for index, base, shared in tables:
        with open(index) as f:
            for row in csv.DictReader(f, delimiter='\t'):
                if shared and row['split'] != 'train':
                    continue
                if owner.setdefault(row['speaker'], index) != index:
                    sys.exit(f'{index}: speaker {row["speaker"]} is also in {owner[row["speaker"]]}')
                spk = speakers.setdefault(row['speaker'], len(speakers))
                waves.append(read16(os.path.join(base, row['path'])))
                spk_of_utt.append(spk)
    return waves, spk_of_utt, sorted(speakers, key=speakers.get)


def _crop(x, n, rng):
    if len(x) < n:  # repeat-pad short utterances
        reps = int(math.ceil(n / max(len(x), 1)))
        x = np.tile(x, reps)
        start = rng.randint(0, len(x) - n) if len(x) > n else 0
        return x[start:start + n]
    start = rng.randint(0, len(x) - n)
    return x[start:start + n]


def synthetic_rir(rt60, rng, generator, sr=SR):
    n = int(rt60 * sr)
    t = torch.arange(n, dtype=torch.float32) / sr
    rir = torch.randn(n, generator=generator) * torch.exp(-6.9078 * t / rt60)  # 60 dB decay at t = rt60
    predelay = rng.randint(0, int(0.004 * sr))
    rir[:predelay] = 0.0
    rir[0] = 1.0  # direct path
    return rir / rir.norm()


def fft_convolve(x, h):
    n = x.shape[-1] + h.shape[-1] - 1
    nfft = 1 << (n - 1).bit_length()
    y = torch.fft.irfft(torch.fft.rfft(x, nfft) * torch.fft.rfft(h, nfft), nfft)
    return y[..., : x.shape[-1]]


def mulaw_roundtrip(x):
    """G.711 mu-law (mu=255) companding and 8-bit quantisation, then expansion."""
    mu = 255.0
    y = torch.sign(x) * torch.log1p(mu * x.abs()) / math.log1p(mu)
    y = torch.round((y + 1) / 2 * 255) / 255 * 2 - 1
    return torch.sign(y) * ((1 + mu) ** y.abs() - 1) / mu


def alaw_roundtrip(x):
    """G.711 A-law (A=87.6) companding and 8-bit quantisation, then expansion."""
    a = 87.6
    ax = x.abs()
    y = torch.where(ax < 1 / a, a * ax / (1 + math.log(a)), (1 + torch.log(torch.clamp(a * ax, min=1e-12))) / (1 + math.log(a)))
    y = torch.sign(x) * y
    y = torch.round((y + 1) / 2 * 255) / 255 * 2 - 1
    ay = y.abs()
    z = torch.where(ay < 1 / (1 + math.log(a)), ay * (1 + math.log(a)) / a, torch.exp(ay * (1 + math.log(a)) - 1) / a)
    return torch.sign(y) * z


def telephone_channel(x, law, generator=None):
    """[B, N] at 16 kHz -> same length, passed through a 300-3400 Hz G.711 8 kHz line."""
    n = x.shape[-1]
    spec = torch.fft.rfft(x, dim=-1)
    f = torch.fft.rfftfreq(n, 1.0 / SR)
    spec = spec * ((f >= 300) & (f <= 3400)).to(spec.dtype)
    y = torch.fft.irfft(spec, n=n, dim=-1)
    y8 = AF.resample(y, SR, 8000)
    # Random line level: companding noise depends on level relative to full scale.
    peak = y8.abs().amax(dim=-1, keepdim=True).clamp(min=1e-6)
    gain = 10 ** (torch.empty_like(peak).uniform_(-20, -1, generator=generator) / 20) / peak
    y8 = (y8 * gain).clamp(-1, 1)
    y8 = (mulaw_roundtrip(y8) if law == 'mulaw' else alaw_roundtrip(y8)) / gain
    return AF.resample(y8, 8000, SR)[..., :n]


def narrowband(x):
    n = x.shape[-1]
    return AF.resample(AF.resample(x, SR, 8000), 8000, SR)[..., :n]


class CropSampler:
    """Draws balanced batches: a speaker uniformly, then one of its utterances, then a speed."""

    def __init__(self, waves, spk_of_utt, n_speakers, seed=0, speeds=SPEEDS):
        if any(v not in SPEED_RATIOS for v in speeds) or len(set(speeds)) != len(speeds):
            raise ValueError(f'speeds must be distinct values of {sorted(SPEED_RATIOS)}, not {speeds}')
        self.speeds = tuple(speeds)
        self.waves = waves
        self.n_speakers = n_speakers
        self.utts = [[] for _ in range(n_speakers)]
        for i, s in enumerate(spk_of_utt):
            self.utts[s].append(i)
        self.rng = random.Random(seed)
        self.n_classes = n_speakers * len(self.speeds)

    def raw_crops(self, b, n):
        """b plain crops of n samples (used as babble)."""
        out = []
        for _ in range(b):
            s = self.rng.randrange(self.n_speakers)
            out.append(_crop(self.waves[self.rng.choice(self.utts[s])], n, self.rng))
        return torch.from_numpy(np.stack(out))

    def batch(self, b, n, p_noise=0.6, p_reverb=0.3, p_channel=0.35, keep_clean=False):
        """b augmented crops of n samples [b, n], their class labels and the index of the utterance each
        was cut from (for distillation targets); vectorised per augmentation.  keep_clean also returns
        the crops as they were before reverberation, noise, channel and gain (train.py --distil-online),
        without changing any random draw."""
        rng = self.rng
        spk = [rng.randrange(self.n_speakers) for _ in range(b)]
        spd = [rng.randrange(len(self.speeds)) for _ in range(b)]
        utt = [0] * b
        x = torch.zeros(b, n)
        for k, speed in enumerate(self.speeds):
            rows = [i for i in range(b) if spd[i] == k]
            if not rows:
                continue
            ratio = SPEED_RATIOS[speed]
            need = n if ratio is None else int(math.ceil(n * ratio[0] / ratio[1])) + 16
            crops = []
            for i in rows:  # the same draws, in the same order, as before utterance indices were returned
                utt[i] = rng.choice(self.utts[spk[i]])
                crops.append(_crop(self.waves[utt[i]], need, rng))
            x[rows] = speed_perturb(torch.from_numpy(np.stack(crops)), speed)[:, :n]
        labels = torch.tensor([spd[i] * self.n_speakers + spk[i] for i in range(b)])
        x = x - x.mean(dim=1, keepdim=True)
        x = x / x.abs().amax(dim=1, keepdim=True).clamp(min=1e-4) * 0.5
        clean = x.clone() if keep_clean else None
        # Noise comes from a generator seeded by this sampler's own stream, not torch's global one
        # (which the training loop and other threads also draw from), so a seed fixes the batches.
        gen = torch.Generator().manual_seed(rng.getrandbits(63))
        # reverberation: one FFT convolution for all reverberant rows
        rows = [i for i in range(b) if rng.random() < p_reverb]
        if rows:
            rirs = [synthetic_rir(rng.uniform(0.2, 0.9), rng, gen) for _ in rows]
            h = torch.zeros(len(rows), max(len(r) for r in rirs))
            for j, r in enumerate(rirs):
                h[j, : len(r)] = r
            x[rows] = fft_convolve(x[rows], h)
        # additive noise: coloured noise shaped in one batched FFT, babble from other crops
        power = x.pow(2).mean(dim=1, keepdim=True).clamp(min=1e-8)
        rows = [i for i in range(b) if rng.random() < p_noise]
        if rows:
            kinds = torch.tensor([float(rng.randrange(4)) for _ in rows])
            spec = torch.fft.rfft(torch.randn(len(rows), n, generator=gen), dim=-1)
            f = torch.arange(spec.shape[-1], dtype=torch.float32).clamp(min=1.0)
            spec = spec / f.unsqueeze(0).pow(kinds.clamp(max=2).unsqueeze(1) / 2.0)
            noise = torch.fft.irfft(spec, n=n, dim=-1)
            for j, k in enumerate(kinds.tolist()):
                if k == 3:
                    noise[j] = self.raw_crops(rng.randint(3, 6), n).sum(0)
            snr = torch.tensor([rng.uniform(0, 20) for _ in rows]).unsqueeze(1)
            noise = noise / noise.pow(2).mean(dim=1, keepdim=True).clamp(min=1e-10).sqrt()
            x[rows] = x[rows] + noise * torch.sqrt(power[rows] / 10 ** (snr / 10))
        # channel
        idx_tel = [i for i in range(b) if rng.random() < p_channel]
        if idx_tel:
            mu, al, nb = [], [], []
            for i in idx_tel:
                r = rng.random()
                (mu if r < 0.4 else al if r < 0.7 else nb).append(i)
            if mu:
                x[mu] = telephone_channel(x[mu], 'mulaw', gen)
            if al:
                x[al] = telephone_channel(x[al], 'alaw', gen)
            if nb:
                x[nb] = narrowband(x[nb])
        gain = torch.tensor([rng.uniform(0.05, 0.9) for _ in range(b)]).unsqueeze(1)
        x = x / x.abs().amax(dim=1, keepdim=True).clamp(min=1e-4) * gain
        return (x, labels, torch.tensor(utt)) + ((clean,) if keep_clean else ())


if __name__ == '__main__':
    import time
    torch.set_num_threads(2)
    root = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'shared', 'data')
    t0 = time.time()
    waves, spk, names = load_train(root)
    print(len(waves), len(names), 'loaded in %.1fs' % (time.time() - t0))
    s = CropSampler(waves, spk, len(names))
    from features import batched_fbank
    s.batch(8, 24000)
    t0 = time.time()
    x, y, _ = s.batch(128, 24000)
    t1 = time.time()
    f = batched_fbank(x, dither=1.0)
    print(x.shape, y[:8], f.shape, 'batch %.2fs fbank %.2fs' % (t1 - t0, time.time() - t1), torch.isfinite(f).all().item())
    m = torch.clamp(torch.linspace(-1, 1, 101), -1, 1)
    print('mulaw err', (mulaw_roundtrip(m) - m).abs().max().item(), 'alaw err', (alaw_roundtrip(m) - m).abs().max().item())
    # A seed fixes the batches, augmentation included, whatever torch's global generator does between them.
    def draws(seed, keep_clean=False):
        sampler = CropSampler(waves, spk, len(names), seed=seed)
        out = []
        for _ in range(3):
            torch.randn(5)
            out.append(sampler.batch(16, 16000, p_noise=0.9, p_reverb=0.9, p_channel=0.9, keep_clean=keep_clean))
        return out
    a, b, c, d = draws(7), draws(7), draws(8), draws(7, keep_clean=True)
    same = all(torch.equal(p, q) for u, v in zip(a, b) for p, q in zip(u, v))
    # zip stops at the shorter tuple: the clean crops (train.py --distil-online) change no draw.
    with_clean = all(torch.equal(p, q) for u, v in zip(a, d) for p, q in zip(u, v))
    print('seed 7 twice identical:', same, '| seed 8 differs:', not torch.equal(a[0][0], c[0][0]),
          '| keep_clean changes no draw:', with_clean)
