"""Front-end shared by training, export checks and evaluation.

The service computes features with a TypeScript port of ``torchaudio.compliance.kaldi.fbank``
(WeSpeaker convention, see /work/shared/notes/speaker-models.md).  ``kaldi_fbank`` below is that
reference call, used for evaluation.  ``batched_fbank`` reimplements the same arithmetic for a
batch of equal-length crops so training is not bottlenecked by one-utterance-at-a-time calls;
``tests_fbank_agreement`` checks the two agree.
"""
import torch
import torchaudio

SAMPLE_RATE = 16000
NUM_MEL_BINS = 80
FRAME_LENGTH = 400  # 25 ms at 16 kHz
FRAME_SHIFT = 160  # 10 ms
FFT_SIZE = 512  # Kaldi round_to_power_of_two
PREEMPH = 0.97  # Kaldi preemphasis_coefficient default
EPS = torch.finfo(torch.float32).eps  # Kaldi/torchaudio log floor
# Dither in training (int16 units; Kaldi's default): export.py writes it into the manifest, so the
# service adds the same noise floor (seeded by the audio, src/features/dither.ts) and a model never
# meets the empty mel bins of digital silence or of upsampled 8 kHz audio it was not trained on.
TRAIN_DITHER = 1.0


def kaldi_fbank(wave: torch.Tensor, normalise: bool = True) -> torch.Tensor:
    """Exactly the service's front-end: ±1 float mono 16 kHz [N] -> [T, 80], mean-normalised unless
    ``normalise`` is False (models with the spectral-shape branch take raw log-mel features)."""
    feats = torchaudio.compliance.kaldi.fbank(
        wave.unsqueeze(0) * 32768.0,
        num_mel_bins=NUM_MEL_BINS,
        frame_length=25,
        frame_shift=10,
        dither=0.0,
        window_type='hamming',
        snip_edges=True,
        sample_frequency=SAMPLE_RATE,
    )
    return feats - feats.mean(dim=0, keepdim=True) if normalise else feats


_mel_cache = {}


def _mel_matrix(device):
    if device not in _mel_cache:
        banks, _ = torchaudio.compliance.kaldi.get_mel_banks(NUM_MEL_BINS, FFT_SIZE, float(SAMPLE_RATE), 20.0, 0.0, 100.0, -500.0, 1.0)
        banks = torch.nn.functional.pad(banks, (0, 1))  # Nyquist bin gets weight 0, as in torchaudio
        window = torch.hamming_window(FRAME_LENGTH, periodic=False, alpha=0.54, beta=0.46)
        _mel_cache[device] = (banks.T.contiguous().to(device), window.to(device))
    return _mel_cache[device]


def batched_fbank(waves: torch.Tensor, dither: float = 0.0, normalise: bool = True,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """[B, N] ±1 floats -> [B, T, 80] log mel fbank (mean-normalised unless ``normalise`` is False),
    same arithmetic as kaldi_fbank. The dither noise comes from ``generator`` when one is given."""
    banks, window = _mel_matrix(waves.device)
    x = waves * 32768.0
    frames = x.unfold(1, FRAME_LENGTH, FRAME_SHIFT)  # snip_edges=True: only whole frames
    if dither > 0:
        frames = frames + dither * torch.randn(frames.shape, generator=generator)
    frames = frames - frames.mean(dim=2, keepdim=True)  # remove_dc_offset
    prev = torch.cat([frames[:, :, :1], frames[:, :, :-1]], dim=2)  # first sample replicated
    frames = (frames - PREEMPH * prev) * window
    spec = torch.fft.rfft(frames, n=FFT_SIZE).abs().pow(2.0)
    mel = torch.clamp(spec @ banks, min=EPS).log()
    return mel - mel.mean(dim=1, keepdim=True) if normalise else mel


def spec_augment(feats: torch.Tensor, p: float, generator: torch.Generator, freq_masks: int = 2, max_bins: int = 8,
                 time_masks: int = 2, max_frac: float = 0.05) -> torch.Tensor:
    """SpecAugment (Park et al., Interspeech 2019) on a batch of log-mel features [B, T, F]: each row,
    with probability p, gets up to `freq_masks` bands of 0-`max_bins` mel bins and `time_masks` spans of
    0-`max_frac` of its frames set to that row's own mean in each bin, so the masked cells are 0
    after CMN and leave the long-term average spectrum (model.SpectralShapeBranch) almost unmoved."""
    b, t, f = feats.shape
    out = feats.clone()
    mean = feats.mean(dim=1, keepdim=True)  # [B, 1, F]
    rnd = lambda hi: int(torch.randint(0, hi + 1, (1,), generator=generator))  # noqa: E731
    for i in range(b):
        if float(torch.rand((), generator=generator)) >= p:
            continue
        for _ in range(freq_masks):
            w = rnd(max_bins)
            s = rnd(f - w)
            out[i, :, s:s + w] = mean[i, :, s:s + w]
        for _ in range(time_masks):
            w = rnd(int(max_frac * t))
            s = rnd(t - w)
            out[i, s:s + w, :] = mean[i, 0, :]
    return out


def tests_fbank_agreement():
    torch.manual_seed(0)
    w = torch.randn(2, 16000 + 123) * 0.1
    b = batched_fbank(w)
    for i in range(2):
        k = kaldi_fbank(w[i])
        assert k.shape == b[i].shape, (k.shape, b[i].shape)
        err = (k - b[i]).abs().max().item()
        assert err < 1e-3, err
    print('fbank agreement ok', tuple(b.shape))


if __name__ == '__main__':
    tests_fbank_agreement()
