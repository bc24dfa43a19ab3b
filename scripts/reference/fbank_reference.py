#!/usr/bin/python3
"""Reference log mel filterbanks from torchaudio.compliance.kaldi.fbank, written as small fixtures.

Run with Debian's Python (torch 1.13, torchaudio 0.13):

    /usr/bin/python3 scripts/reference/fbank_reference.py [--shared ../shared] [--out fixtures/fbank]

Each fixture (fixtures/fbank/<name>.json) holds the options (named as in
src/features/options.ts), the input description and torchaudio's output as float32
little-endian, base64; synthetic fixtures also hold torchaudio's output computed in float64. No audio is stored: real speech is named by its path relative to
shared/data plus an excerpt range (the test decodes it from ../shared at run time), and the
synthetic signal is regenerated from its formula (test/features/synthetic-signal.ts holds
the same formula; an int16 checksum in the fixture proves both sides made the same samples).
fixtures/fbank-dither/ holds statistics of torchaudio's dithered log-mel of silence instead
(random noise cannot be compared value for value).
"""

import argparse
import base64
import json
import math
import os
import sys

import numpy as np
import soundfile as sf
import torch
import torchaudio
from torchaudio.compliance import kaldi

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# torchaudio's fbank defaults (dither 0: inference is deterministic), in our option names.
DEFAULTS = {
    "numMelBins": 23,
    "frameLength": 25.0,
    "frameShift": 10.0,
    "dither": 0.0,
    "windowType": "povey",
    "preemphasisCoefficient": 0.97,
    "removeDcOffset": True,
    "roundToPowerOfTwo": True,
    "lowFreq": 20.0,
    "highFreq": 0.0,
    "snipEdges": True,
    "useEnergy": False,
    "energyFloor": 1.0,
    "rawEnergy": True,
    "useLogFbank": True,
    "usePower": True,
    "blackmanCoeff": 0.42,
}

TORCHAUDIO_NAMES = {
    "numMelBins": "num_mel_bins",
    "frameLength": "frame_length",
    "frameShift": "frame_shift",
    "dither": "dither",
    "windowType": "window_type",
    "preemphasisCoefficient": "preemphasis_coefficient",
    "removeDcOffset": "remove_dc_offset",
    "roundToPowerOfTwo": "round_to_power_of_two",
    "lowFreq": "low_freq",
    "highFreq": "high_freq",
    "snipEdges": "snip_edges",
    "useEnergy": "use_energy",
    "energyFloor": "energy_floor",
    "rawEnergy": "raw_energy",
    "useLogFbank": "use_log_fbank",
    "usePower": "use_power",
    "blackmanCoeff": "blackman_coeff",
}

# The two public front-end conventions (see shared/notes/speaker-models.md).
WESPEAKER = {"numMelBins": 80, "frameLength": 25.0, "frameShift": 10.0, "windowType": "hamming", "snipEdges": True}
SHERPA = {"numMelBins": 80, "windowType": "povey", "snipEdges": False, "highFreq": -400.0}

SYNTHETIC_SEED = 12345
DITHER_SEED = 2026


def synthetic_int16(sample_rate: int, seconds: float, seed: int) -> np.ndarray:
    """Deterministic test signal; test/features/synthetic-signal.ts must stay identical.

    Two linear chirps (1 %→45 % and 40 %→2 % of the sample rate), a 7 %-of-rate tone with two
    harmonics, and uniform noise from a 32-bit LCG, all in float64; then a stretch of digital
    silence (40-45 %), a quiet stretch (60-70 %, ×0.002, near the log floor at ±1 scale) and a
    loud clipped stretch (85-90 %, ×3). Rounded to int16 with floor(v·32767 + 0.5), clamped.
    """
    n = int(round(seconds * sample_rate))
    duration = n / sample_rate
    sr = float(sample_rate)
    k1 = (0.45 * sr - 0.01 * sr) / duration
    k2 = (0.02 * sr - 0.40 * sr) / duration
    f3 = 0.07 * sr
    state = seed & 0xFFFFFFFF
    out = np.zeros(n, dtype=np.int16)
    for i in range(n):
        t = i / sr
        state = (1664525 * state + 1013904223) & 0xFFFFFFFF
        noise = state / 4294967296.0 - 0.5
        v = 0.3 * math.sin(2 * math.pi * (0.01 * sr * t + 0.5 * k1 * t * t))
        v += 0.2 * math.sin(2 * math.pi * (0.40 * sr * t + 0.5 * k2 * t * t))
        v += 0.15 * math.sin(2 * math.pi * f3 * t) + 0.05 * math.sin(4 * math.pi * f3 * t) + 0.03 * math.sin(6 * math.pi * f3 * t)
        v += 0.05 * noise
        if 0.40 * n <= i < 0.45 * n:
            v = 0.0
        elif 0.60 * n <= i < 0.70 * n:
            v *= 0.002
        elif 0.85 * n <= i < 0.90 * n:
            v *= 3.0
        q = math.floor(v * 32767 + 0.5)
        out[i] = max(-32768, min(32767, q))
    return out


def int16_checksum(x: np.ndarray) -> int:
    """Σ x[i]·((i mod 97) + 1): exact in JavaScript doubles for a few minutes of audio."""
    weights = (np.arange(len(x), dtype=np.int64) % 97) + 1
    return int(np.sum(x.astype(np.int64) * weights))


def reference(int16: np.ndarray, sample_rate: int, scale: str, options: dict, dtype=np.float32) -> np.ndarray:
    """torchaudio's fbank of the samples; float32 is what models are trained with, float64
    (the same code run on a double tensor; its mel bank is still built in float32) shows how
    much of any difference is float32 rounding in torchaudio itself."""
    # soundfile's float conversion is int16 / 32768; 'int16' scale multiplies it back (exact).
    unit = torch.from_numpy(int16.astype(dtype) / dtype(32768.0)).unsqueeze(0)
    waveform = unit * 32768.0 if scale == "int16" else unit
    kwargs = {TORCHAUDIO_NAMES[k]: v for k, v in options.items()}
    feats = kaldi.fbank(waveform, sample_frequency=float(sample_rate), **kwargs)
    return feats.numpy().astype("<f4")


def b64(values: np.ndarray) -> str:
    return base64.b64encode(values.astype("<f4").tobytes()).decode("ascii")


def write_fixture(out_dir: str, name: str, description: str, input_desc: dict, int16: np.ndarray,
                  sample_rate: int, scale: str, overrides: dict, with_float64: bool) -> int:
    options = {**DEFAULTS, **overrides}
    feats = reference(int16, sample_rate, scale, options)
    fixture = {
        "name": name,
        "description": description,
        "generator": f"scripts/reference/fbank_reference.py, torch {torch.__version__}, torchaudio {torchaudio.__version__}",
        "input": {**input_desc, "samples": int(len(int16)), "int16Checksum": int16_checksum(int16)},
        "sampleRate": sample_rate,
        "sampleScale": scale,
        "options": options,
        "frames": int(feats.shape[0]),
        "bins": int(feats.shape[1]),
        "valuesFloat32Base64": b64(feats),
    }
    if with_float64:
        # Stored rounded to float32 (≈ 1e-7 relative): enough for a 1e-4 check, half the size.
        fixture["float64ValuesFloat32Base64"] = b64(reference(int16, sample_rate, scale, options, np.float64))
    path = os.path.join(out_dir, f"{name}.json")
    with open(path, "w") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")
    return os.path.getsize(path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", default=os.path.join(REPO, "..", "shared"))
    parser.add_argument("--out", default=os.path.join(REPO, "fixtures", "fbank"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    total = 0

    # (a) Real speech, read from shared/data (path + excerpt only go into the fixture).
    speech = [
        ("16k", "dev/so762/0005/000050003.flac", 0.5, 1.5),  # read English, 16 kHz
        ("8k", "dev/fsdd/lucas/5_1.flac", 0.0, 1.1),  # spoken digit, 8 kHz
    ]
    data_dir = os.path.join(args.shared, "data")
    for tag, rel, start_s, length_s in speech:
        audio, sr = sf.read(os.path.join(data_dir, rel), dtype="int16")
        start = int(round(start_s * sr))
        length = min(int(round(length_s * sr)), len(audio) - start)
        excerpt = audio[start:start + length]
        desc = {"kind": "shared-flac", "path": rel, "start": start, "length": length}
        for conv, overrides, scale in (("wespeaker", WESPEAKER, "int16"), ("sherpa", SHERPA, "unit")):
            total += write_fixture(args.out, f"speech-{conv}-{tag}", f"{conv} front-end on real speech at {sr} Hz",
                                   desc, excerpt, sr, scale, overrides, with_float64=False)

    # (b) The synthetic signal: the two conventions at both rates, then every other option.
    def synthetic(name, sr, seconds, scale, overrides, description):
        nonlocal total
        x = synthetic_int16(sr, seconds, SYNTHETIC_SEED)
        desc = {"kind": "synthetic", "seconds": seconds, "seed": SYNTHETIC_SEED}
        total += write_fixture(args.out, f"synthetic-{name}", description, desc, x, sr, scale, overrides,
                               with_float64=True)

    for sr, tag in ((16000, "16k"), (8000, "8k")):
        synthetic(f"wespeaker-{tag}", sr, 0.5, "int16", WESPEAKER, "WeSpeaker front-end, synthetic signal")
        synthetic(f"sherpa-{tag}", sr, 0.5, "unit", SHERPA, "3D-Speaker/sherpa front-end, synthetic signal")
    variants = [
        ("energy-raw", 16000, "int16", {"useEnergy": True}, "use_energy with raw energy and energy_floor 1"),
        ("energy-windowed-nofloor", 16000, "unit", {"useEnergy": True, "rawEnergy": False, "energyFloor": 0.0},
         "use_energy after windowing, no energy floor, ±1 scale (silence hits the epsilon floor)"),
        ("magnitude", 16000, "int16", {"usePower": False, "numMelBins": 40}, "use_power false (magnitude spectrum)"),
        ("linear", 16000, "int16", {"useLogFbank": False, "numMelBins": 40}, "use_log_fbank false (linear mel energies)"),
        ("rectangular", 16000, "int16", {"windowType": "rectangular", "numMelBins": 64}, "rectangular window"),
        ("hanning", 8000, "int16", {"windowType": "hanning", "numMelBins": 40}, "hanning window at 8 kHz"),
        ("blackman", 16000, "unit", {"windowType": "blackman", "blackmanCoeff": 0.42, "numMelBins": 80}, "blackman window"),
        ("no-pow2-16k", 16000, "int16", {"roundToPowerOfTwo": False, "numMelBins": 80, "windowType": "hamming"},
         "round_to_power_of_two false: 400-point FFT"),
        ("no-pow2-8k", 8000, "unit", {"roundToPowerOfTwo": False, "numMelBins": 40, "snipEdges": False},
         "round_to_power_of_two false at 8 kHz: 200-point FFT, snip_edges false"),
        ("no-dc-no-preemph", 16000, "int16", {"removeDcOffset": False, "preemphasisCoefficient": 0.0, "numMelBins": 80},
         "remove_dc_offset false, preemphasis 0"),
        ("band", 16000, "int16", {"lowFreq": 0.0, "highFreq": 7600.0, "numMelBins": 64, "preemphasisCoefficient": 0.5},
         "low_freq 0, positive high_freq 7600, preemphasis 0.5"),
        ("odd-frames", 16000, "unit", {"frameLength": 32.0, "frameShift": 12.5, "snipEdges": False, "numMelBins": 23},
         "32 ms / 12.5 ms frames, snip_edges false, 23 bins (torchaudio defaults otherwise)"),
        ("shift-beyond-window", 16000, "int16", {"frameLength": 10.0, "frameShift": 25.0, "snipEdges": False, "numMelBins": 40},
         "frame_shift longer than frame_length with snip_edges false (negative padding)"),
        ("defaults-22k", 22050, "unit", {}, "all torchaudio defaults at 22.05 kHz (551-sample window, 1024-point FFT)"),
    ]
    for name, sr, scale, overrides, description in variants:
        synthetic(name, sr, 0.4, scale, overrides, description)

    # (c) Dither: torchaudio draws it from torch.randn, which the service cannot reproduce, so
    # the check is statistical: the mean and standard deviation, per mel bin, of torchaudio's
    # log-mel of digital silence, where the dither is all there is.
    dither_out = os.path.join(os.path.dirname(args.out), "fbank-dither")
    os.makedirs(dither_out, exist_ok=True)
    seconds, sr = 20.0, 16000
    options = {**DEFAULTS, **WESPEAKER, "dither": 1.0}
    torch.manual_seed(DITHER_SEED)
    feats = reference(np.zeros(int(seconds * sr), dtype=np.int16), sr, "int16", options).astype(np.float64)
    path = os.path.join(dither_out, "silence-wespeaker-16k.json")
    with open(path, "w") as f:
        json.dump({
            "name": "silence-wespeaker-16k",
            "description": "WeSpeaker front-end with dither 1.0 on digital silence: per-bin mean and standard deviation of torchaudio's log-mel",
            "generator": f"scripts/reference/fbank_reference.py, torch {torch.__version__}, torchaudio {torchaudio.__version__}, torch.manual_seed({DITHER_SEED})",
            "seconds": seconds, "sampleRate": sr, "sampleScale": "int16", "options": options,
            "frames": int(feats.shape[0]),
            "mean": [round(float(v), 5) for v in feats.mean(axis=0)],
            "sd": [round(float(v), 5) for v in feats.std(axis=0)],
        }, f, indent=1)
        f.write("\n")
    total += os.path.getsize(path)

    print(f"wrote fixtures to {args.out} and {dither_out}: {total / 1024:.0f} KiB in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
